// Removing a container's state directory, its writable layer included: the
// last step of rm, of __finish and of a failed or finished run (kept apart
// from stop.ts so that run does not load what rm needs).
import { BunkerError } from "../errors.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import type { IdMaps } from "../sys/idmap.ts";
import type { RuntimeContext } from "./context.ts";

/** removes a container's state dir DIR, its writable layer included (files of MAPS' ids); one that will not go is a warning */
export async function removeStateDir(ctx: RuntimeContext, dir: string, maps: IdMaps): Promise<void> {
  try {
    await removeOwnedTree(dir, maps);
  } catch (e) {
    if (!(e instanceof BunkerError)) throw e;
    ctx.log.warn(e);
  }
}
