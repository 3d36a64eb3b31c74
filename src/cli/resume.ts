// bunker resume ID...: thaw a paused container (cgroup.freeze = 0).
import { BunkerError } from "../errors.ts";
import { cgroupOfContainer } from "../cgroup/state.ts";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const ids = parseFlags(argv, [], "resume", false).rest;
  if (!ids.length) throw new BunkerError("resume: no container id given", { errno: "EINVAL", fix: "bunker resume ID" });
  for (const id of ids) cgroupOfContainer(g, id, "resume").thaw();
  return 0;
}
