// bunker pause ID...: freeze every process of the container (cgroup.freeze).
import { BunkerError } from "../errors.ts";
import { pause } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    console.log("usage: bunker pause ID...\n\nFreezes all processes of the containers (cgroup.freeze); 'bunker resume' thaws them.");
    return 0;
  }
  if (!argv.length) throw new BunkerError("pause: no container id given", { errno: "EINVAL", fix: "bunker pause ID" });
  const ctx = runtimeContext(g);
  for (const id of argv) await pause(ctx, id);
  return 0;
}
