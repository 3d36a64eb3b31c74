// bunker __finish DIR CODE (internal): the monitor (c/monitor.c) hands a
// finished foreground `run` back for the clean-up it could not do
// (src/container/stop.ts finish).  Exits with CODE, the container's status.
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { handedOverContext } from "./hand-over-context.ts";
import { finish } from "../container/stop.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const [dir, status] = parseFlags(argv, [], "__finish", false).rest;
  if (!dir || !/^\d+$/.test(status ?? "")) throw new BunkerError("__finish is started by bunker's monitor: __finish DIR CODE", { errno: "EINVAL" });
  await finish(handedOverContext(g, dir), dir);
  return Number(status);
}
