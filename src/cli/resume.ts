// bunker resume ID...: thaw a paused container (cgroup.freeze = 0).
import { BunkerError } from "../errors.ts";
import { resume } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    console.log("usage: bunker resume ID...\n\nThaws containers frozen by 'bunker pause'.");
    return 0;
  }
  if (!argv.length) throw new BunkerError("resume: no container id given", { errno: "EINVAL", fix: "bunker resume ID" });
  const ctx = runtimeContext(g);
  for (const id of argv) resume(ctx, id);
  return 0;
}
