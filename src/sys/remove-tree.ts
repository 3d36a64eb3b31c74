// Removing trees whose files may belong to subordinate ids: a container's
// state dir with its writable layer, an image layer chowned to its owners.
import { chmodSync, rmSync } from "./fs-sync.ts";
import { BunkerError } from "../errors.ts";
import { removeTreePlan } from "../plan/store.ts";
import type { IdMaps } from "./idmap.ts";
import { runStorePlan } from "./launch.ts";

/**
 * Removes DIR: the one tree remover.  Files that belong to subordinate ids,
 * and directories their owner may not write (mode 0555, 0700 of a subordinate
 * id, 0), can only be removed as root of a user namespace that maps their
 * owners: when a plain remove fails, the shim's remove-tree op removes the
 * rest in one with MAPS (the caller's own id alone is enough for read-only
 * dirs the caller owns).  A tree that will not go is an error; the caller
 * decides whether it ends the operation.
 */
export async function removeOwnedTree(dir: string, maps: IdMaps): Promise<void> {
  try {
    // overlayfs leaves its work/work dir with mode 0: open it up, or the fallback below runs for every image container
    chmodSync(`${dir}/work/work`, 0o700);
  } catch {
    /* not an image container */
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    /* owned by mapped ids, or not writable by its owner */
  }
  try {
    await runStorePlan(removeTreePlan(dir), maps);
  } catch (e) {
    // the op's own failure says "cannot remove DIR" already; a failure to start it does not
    if (e instanceof BunkerError && e.message.startsWith(`cannot remove ${dir}`)) throw e;
    throw new BunkerError(`cannot remove ${dir}: ${e instanceof BunkerError ? e.format().replace(/^bunker: /, "") : String(e)}`);
  }
}
