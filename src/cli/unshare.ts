// bunker unshare [CMD [ARG...]]: CMD (default $SHELL) as root of a user namespace with the maps
// bunker's containers get (0 -> you, 1..65536 -> your /etc/subuid range), as `podman unshare`:
// files a container left owned by your subordinate ids are yours there (read, chown, rm -rf them)
import { BunkerError } from "../errors.ts";
import { HelpRequest } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { callerMaps, processIds } from "../sys/idmap.ts";
import { runUnshared } from "../sys/unshare.ts";


export default async function unshare(argv: string[], _g: GlobalOptions): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") throw new HelpRequest("unshare", []);
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  if (args[0]?.startsWith("-")) throw new BunkerError(`unshare: unknown flag ${args[0]}`, { errno: "EINVAL", fix: "bunker unshare [--] CMD [ARG...]" });
  const cmd = args.length ? args : [process.env.SHELL || "/bin/sh"];
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ""}`);
  const ids = processIds();
  const st = await runUnshared(cmd, env, callerMaps(ids), ids.uid === 0, true);
  return st.signal ? 128 + st.signal : st.code;
}
