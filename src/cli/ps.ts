// bunker ps [-f table|json] ID [PS_ARGS...]
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { containerPids, containerStatus } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, notFound } from "../container/state.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true }], "ps");
  const id = checkId(p.rest[0], "ps");
  const { state } = containerStatus(stateRoot(g).dir, id);
  if (!state) throw notFound(id);
  const pids = containerPids(state);
  if ((flag(p, "format") ?? "table") === "json") {
    process.stdout.write(JSON.stringify(pids) + "\n");
    return 0;
  }
  const psArgs = p.rest.slice(1);
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) throw new BunkerError("ps failed", { errno: "EIO", fix: "check the ps arguments" });
  const lines = r.stdout.toString().split("\n");
  const header = lines[0] ?? "";
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new BunkerError("ps output has no PID column", { errno: "EINVAL" });
  console.log(header);
  const set = new Set(pids);
  for (const l of lines.slice(1)) if (set.has(Number(l.trim().split(/\s+/)[col]))) console.log(l);
  return 0;
}
