// Where bunker keeps per-container state: runc's --root.
import { notOurs, stateRootError, stateRootPath, uidMapIsNested, type StateRoot } from "./state-read.ts";
import { chmod, mkdirAll, readText, statPath } from "../sys/fs-core.ts";

export type { StateRoot };

// through libc (src/sys/fs-core.ts), not node:fs: every command's context imports this module,
// and `state`, OCI `start` and `delete` load no node:fs

/** running in a user namespace other than the initial one (e.g. podman's rootless one, where we are "root") */
export function inUserNamespace(): boolean {
  try {
    return uidMapIsNested(readText("/proc/self/uid_map"));
  } catch {
    return false;
  }
}

/** made and checked once per process (run IMAGE asks twice: its state dir, the shared user namespace's record) */
const known = new Map<string, StateRoot>();

/** --root (ROOT), else /run/bunker for real root, $XDG_RUNTIME_DIR/bunker, else a private dir under /tmp */
export function stateRoot(root: string | undefined, xdgRuntimeDir: string | undefined, uid: number): StateRoot {
  const key = `${root ?? ""}\0${xdgRuntimeDir ?? ""}\0${uid}`;
  const seen = known.get(key);
  if (seen) return seen;
  const r = makeStateRoot(root, xdgRuntimeDir, uid);
  known.set(key, r);
  return r;
}

function makeStateRoot(root: string | undefined, xdg: string | undefined, uid: number): StateRoot {
  const ownerOf = (p: string) => {
    try {
      return statPath(p)?.uid;
    } catch {
      return undefined;
    }
  };
  const r = stateRootPath(root, xdg, uid, inUserNamespace, () => ownerOf(xdg!));
  try {
    mkdirAll(r.dir, 0o700);
    const st = statPath(r.dir);
    if (!st || (st.mode & 0o170000) !== 0o040000) throw Object.assign(new Error("not a directory"), { code: st ? "ENOTDIR" : "ENOENT", path: r.dir });
    if (st.uid !== uid) throw notOurs(r.dir);
    // root's containers may run as another host uid (a mapped root) that must reach its exec.fifo
    if (uid === 0 && (st.mode & 0o777) !== 0o711) chmod(r.dir, 0o711);
  } catch (e) {
    throw stateRootError(r.dir, e);
  }
  return r;
}
