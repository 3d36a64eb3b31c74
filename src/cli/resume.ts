// bunker resume ID...: thaw a paused container (cgroup.freeze = 0).
import { BunkerError } from "../errors.ts";
import { cgroupOfContainer } from "../cgroup/state.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    console.log("usage: bunker resume ID...\n\nThaws containers frozen by 'bunker pause'.");
    return 0;
  }
  if (!argv.length) throw new BunkerError("resume: no container id given", { errno: "EINVAL", fix: "bunker resume ID" });
  for (const id of argv) cgroupOfContainer(g, id, "resume").thaw();
  return 0;
}
