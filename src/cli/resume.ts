// bunker resume ID...: thaw a paused container (cgroup.freeze = 0).
import { BunkerError } from "../errors.ts";
import { resume } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const ids = parseFlags(argv, [], "resume", false).rest;
  if (!ids.length) throw new BunkerError("resume: no container id given", { errno: "EINVAL", fix: "bunker resume ID" });
  const ctx = runtimeContext(g);
  for (const id of ids) resume(ctx, id);
  return 0;
}
