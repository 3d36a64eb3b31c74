// bunker pause ID...: freeze every process of the container (cgroup.freeze).
import { BunkerError } from "../errors.ts";
import { pause } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const ids = parseFlags(argv, [], "pause", false).rest;
  if (!ids.length) throw new BunkerError("pause: no container id given", { errno: "EINVAL", fix: "bunker pause ID" });
  const ctx = runtimeContext(g);
  for (const id of ids) await pause(ctx, id);
  return 0;
}
