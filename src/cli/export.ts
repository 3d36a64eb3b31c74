// bunker export ID > rootfs.tar: a running container's root as a tar (src/container/export.ts)
import { isatty } from "node:tty";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { exportContainer } from "../container/export.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "export");
  const id = containerArg(g, p.rest[0], "export");
  if (isatty(1)) throw new BunkerError("export: refusing to write a tar to a terminal", { errno: "ENOTTY", fix: `redirect it: bunker export ${id} > rootfs.tar` });
  await exportContainer(runtimeContext(g), id);
  return 0;
}
