// Where bunker keeps per-container state: runc's --root.
import { chmodSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { fromSysError } from "../errors.ts";

export interface StateRoot {
  dir: string;
  /** why the default was not used (printed with --debug) */
  note?: string;
}

/** running in a user namespace other than the initial one (e.g. podman's rootless one, where we are "root") */
export function inUserNamespace(): boolean {
  try {
    const m = readFileSync("/proc/self/uid_map", "utf8").trim().split(/\s+/);
    return !(m.length === 3 && m[0] === "0" && m[1] === "0" && m[2] === "4294967295");
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
  let dir = root;
  let note: string | undefined;
  if (!dir) {
    if (uid === 0 && !inUserNamespace()) dir = "/run/bunker";
    else {
      let ours = false;
      if (xdg) {
        try {
          ours = statSync(xdg).uid === uid;
        } catch {
          ours = false;
        }
      }
      if (ours) dir = `${xdg}/bunker`;
      else {
        dir = `/tmp/bunker-${uid}`;
        note = `XDG_RUNTIME_DIR ${xdg ? `(${xdg}) is not owned by uid ${uid}` : "is unset"}: using ${dir}`;
      }
    }
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (st.uid !== uid) throw Object.assign(new Error("not ours"), { code: "EPERM", path: dir });
    // root's containers may run as another host uid (a mapped root) that must reach its exec.fifo
    if (uid === 0 && (st.mode & 0o777) !== 0o711) chmodSync(dir, 0o711);
  } catch (e) {
    throw fromSysError("cannot use the state directory", e, { path: dir, fix: "pass --root DIR with a directory you own" });
  }
  return { dir, note };
}
