// Removing a container's state dir, writable layer included.
import { chmodSync, existsSync, rmSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import { CLONE_NEWUSER } from "../plan/types.ts";
import { supervise } from "../sys/shim.ts";
import type { IdMaps } from "./idmap.ts";
import { launch } from "./launch.ts";

/**
 * The container's state dir, with its writable layer.  Files there that
 * belong to subordinate ids can only be removed as root of a user namespace
 * with the same map: do that in one with `rm -rf` when a plain remove fails.
 */
export async function removeStateDir(dir: string, maps: IdMaps): Promise<void> {
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
    /* owned by mapped ids */
  }
  const rm = ["/usr/bin/rm", "/bin/rm"].find((p) => existsSync(p)) ?? "/bin/rm";
  try {
    const c = await launch({ cloneFlags: CLONE_NEWUSER, ops: [{ op: "close-fds", preserve: 0 }, { op: "exec", file: rm, args: ["rm", "-rf", dir], env: [] }] }, { maps });
    supervise(c.pid, -1, false);
  } catch (e) {
    process.stderr.write(`bunker: cannot remove ${dir}: ${e instanceof BunkerError ? e.format() : String(e)}\n`);
  }
}
