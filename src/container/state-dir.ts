// Removing a container's state directory, its writable layer included: the
// last step of rm, of __finish and of a failed or finished run (kept apart
// from stop.ts so that run does not load what rm needs).
import { existsSync, rmSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import type { IdMaps } from "../sys/idmap.ts";
import type { RuntimeContext } from "./context.ts";

/** removes a container's state dir DIR, its writable layer included (files of MAPS' ids); one that will not go is a warning */
export async function removeStateDir(ctx: RuntimeContext, dir: string, maps: IdMaps): Promise<void> {
  let failed: BunkerError | undefined;
  try {
    await removeOwnedTree(dir, maps);
  } catch (e) {
    if (!(e instanceof BunkerError)) throw e;
    failed = e;
  }
  // a command on the container meanwhile (its lock file opened again) can leave the dir behind,
  // empty or nearly: once more, as a dir that stays is a container that never ends for a waiter
  if (existsSync(dir)) {
    await Bun.sleep(20);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* what the first removal said */
    }
  }
  if (failed && existsSync(dir)) ctx.log.warn(failed);
}
