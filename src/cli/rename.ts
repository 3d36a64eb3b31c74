// bunker rename OLD NEW: docker's rename (src/container/rename.ts); a running container keeps running
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { renameContainer } from "../container/rename.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "rename", false);
  if (p.rest.length !== 2) throw new BunkerError(`rename: needs the container and its new name (got ${p.rest.length} arguments)`, { errno: "EINVAL", fix: "bunker rename OLD NEW" });
  await renameContainer(runtimeContext(g), p.rest[0]!, p.rest[1]!);
  return 0;
}
