// Removing a container's state directory, its writable layer included: the
// last step of rm, of __finish and of a failed or finished run (kept apart
// from stop.ts so that run does not load what rm needs).
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from "../sys/fs-sync.ts";
import { basename, dirname } from "../sys/path.ts";
import { BunkerError, errnoCode } from "../errors.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import type { IdMaps } from "../sys/idmap.ts";
import type { RuntimeContext } from "./context.ts";

/** where a state dir goes, under the state root, while it is removed ('@' is not in an id: never listed as a container) */
export const REMOVING_DIR = "removing@";
let tombstones = 0;

/**
 * Moves DIR out of the container namespace in one rename: from then on the
 * container is gone for every reader (list, wait's condition "removed") and a
 * command that opens one of its files (a lock, a marker) gets ENOENT instead
 * of making the dir again while it is being removed.  Returns the new path,
 * null when DIR is gone already, or DIR itself when it cannot be moved.
 */
function moveAside(dir: string): string | null {
  const aside = `${dirname(dir)}/${REMOVING_DIR}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      mkdirSync(aside, { mode: 0o700 });
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") return dir;
    }
    const to = `${aside}/${basename(dir)}.${process.pid}.${++tombstones}`;
    try {
      renameSync(dir, to);
      return to;
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") return dir;
      if (!existsSync(dir)) {
        dropIfEmpty(aside);
        return null;
      }
      // the removing dir went (another remover's rmdir): make it again
    }
  }
  return dir;
}

/** the last one out removes the removing dir: the state root lists containers only */
function dropIfEmpty(aside: string): void {
  try {
    rmdirSync(aside);
  } catch {
    /* another removal is under way, or one failed */
  }
}

/** the dirs ASIDE holds whose remover is gone (killed mid-removal: its pid, in the name, has no process) */
async function removeAbandoned(aside: string, maps: IdMaps): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(aside);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = name.split(".").at(-2);
    if (!pid || !/^[0-9]+$/.test(pid) || existsSync(`/proc/${pid}`)) continue;
    try {
      await removeOwnedTree(`${aside}/${name}`, maps);
    } catch {
      /* left for the next removal; not this container's failure */
    }
  }
}

/** removes a container's state dir DIR, its writable layer included (files of MAPS' ids); one that will not go is a warning */
export async function removeStateDir(ctx: RuntimeContext, dir: string, maps: IdMaps): Promise<void> {
  const target = moveAside(dir);
  if (target === null) return;
  let failed: BunkerError | undefined;
  try {
    await removeOwnedTree(target, maps);
  } catch (e) {
    if (!(e instanceof BunkerError)) throw e;
    failed = e;
  }
  if (target !== dir) {
    await removeAbandoned(dirname(target), maps);
    dropIfEmpty(dirname(target));
  } else if (existsSync(dir)) {
    // removed in place: a command on the container meanwhile (its lock file opened again) can leave the
    // dir behind, empty or nearly: once more, as a dir that stays is a container that never ends for a waiter
    await Bun.sleep(20);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* what the first removal said */
    }
  }
  if (failed && existsSync(target)) ctx.log.warn(failed);
}
