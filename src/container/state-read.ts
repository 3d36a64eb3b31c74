// What `bunker state ID` reads, synchronously through src/sys/fs-core.ts:
// loading node:fs (with node:path and node:os) was a third of that command's
// time above Bun's floor, and Bun's async file API starts a thread pool
// (~1 ms).  The rules are
// shared with state.ts and paths.ts (which write, and serve every other
// command): where the state root is, what a state file holds, what a status
// is made of.
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import type { ContainerState, Status } from "./state.ts";
import type { RuntimeContext } from "./context.ts";
import { statStartTime } from "../sys/stat-line.ts";
import { AT_FDCWD, exists, readlinkat, readText, statPath } from "../sys/fs-core.ts";

export interface StateRoot {
  dir: string;
  /** why the default was not used (printed with --debug) */
  note?: string;
}

/** uid_map's text names a user namespace other than the initial one (podman's rootless one, where we are "root") */
export function uidMapIsNested(uidMap: string): boolean {
  const m = uidMap.trim().split(/\s+/);
  return !(m.length === 3 && m[0] === "0" && m[1] === "0" && m[2] === "4294967295");
}

/**
 * --root (ROOT), else /run/bunker for real root (NESTED: in another user
 * namespace), $XDG_RUNTIME_DIR/bunker when XDG_OWNER (its owner) is UID,
 * else a private dir under /tmp, with why
 */
export function stateRootPath(root: string | undefined, xdg: string | undefined, uid: number, nested: () => boolean, xdgOwner: () => number | undefined): StateRoot {
  if (root) return { dir: root };
  if (uid === 0 && !nested()) return { dir: "/run/bunker" };
  if (xdg && xdgOwner() === uid) return { dir: `${xdg}/bunker` };
  const dir = `/tmp/bunker-${uid}`;
  return { dir, note: `XDG_RUNTIME_DIR ${xdg ? `(${xdg}) is not owned by uid ${uid}` : "is unset"}: using ${dir}` };
}

/** the state root's owner is not UID: one line, as for a state root that cannot be made */
export function stateRootError(dir: string, e: unknown): BunkerError {
  return fromSysError("cannot use the state directory", e, { path: dir, fix: "pass --root DIR with a directory you own" });
}

export const notOurs = (dir: string) => Object.assign(new Error("not ours"), { code: "EPERM", path: dir });

export const ID_RE = /^[A-Za-z0-9_+\-.]+$/;

/** ID_RE's test by a plain loop: every command on a container checks its id, and a start's first regex costs ~0.04 ms */
export function isIdChars(id: string): boolean {
  if (!id.length) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 43 || c === 45 || c === 46)) return false;
  }
  return true;
}

/** the state root's dir of name links (rename's: NAMES_DIR/NAME -> ID; src/container/state.ts) */
export const NAMES_DIR = "names@";

export function checkId(id: string | undefined, cmd: string): string {
  if (!id) throw new BunkerError(`${cmd}: container id required`, { errno: "EINVAL", fix: `bunker ${cmd} ID` });
  if (!isIdChars(id) || id === "." || id === ".." || id.length > 1024)
    throw new BunkerError(`${cmd}: invalid container id "${id}"`, { errno: "EINVAL", fix: "use letters, digits and _ + - . only" });
  return id;
}

/** the state dir of container ID (its id, not a name) */
function idDir(root: string, id: string): string {
  return `${root}/${id}`;
}

export function notFound(id: string): BunkerError {
  return new BunkerError(`container "${id}" does not exist`, { errno: "ENOENT" });
}

/** ID's state.json (in DIR) cannot be read or parsed: how to get rid of it */
export function corruptState(dir: string, id: string): BunkerError {
  return new BunkerError("corrupt container state", { errno: "EINVAL", path: `${dir}/state.json`, fix: `bunker delete --force ${id}` });
}

/** state.json's TEXT as a state */
export function parseState(text: string, dir: string, id: string): ContainerState {
  try {
    return JSON.parse(text) as ContainerState;
  } catch {
    throw corruptState(dir, id);
  }
}

/** a container's status from what was found: its process alive, exec.fifo there (created), its cgroup frozen */
export function statusOf(alive: boolean, created: () => boolean, frozen: () => boolean): Status {
  return !alive ? "stopped" : created() ? "created" : frozen() ? "paused" : "running";
}

/** the runtime-spec state of S with status ST (hooks get it too) */
export function statePayload(s: ContainerState, st: string) {
  return { ociVersion: s.ociVersion, id: s.id, status: st, pid: st === "stopped" ? 0 : s.pid, bundle: s.bundle, annotations: s.annotations ?? {} };
}

/** what `state ID` prints of S: the runtime-spec state, with the confinement and network a `bunker run` container got */
function stateView(s: ContainerState, st: string): Record<string, unknown> {
  const confinement = s.run?.confinement, network = s.run?.network;
  return { ...statePayload(s, st), rootfs: s.rootfs, created: s.created, owner: s.owner, ...(confinement ? { confinement } : {}), ...(network ? { network } : {}) };
}

/** PATH's text, undefined when it cannot be read */
function textOrNone(path: string): string | undefined {
  try {
    return readText(path);
  } catch {
    return undefined;
  }
}
/** PATH's owner, undefined when it cannot be looked at */
function ownerOf(path: string): number | undefined {
  try {
    return statPath(path)?.uid;
  } catch {
    return undefined;
  }
}

/** the id the name NAME links to in ROOT (rename's NAMES_DIR/NAME), undefined when it names none */
function linkedId(root: string, name: string): string | undefined {
  try {
    const id = readlinkat(AT_FDCWD, `${root}/${NAMES_DIR}/${name}`);
    return isIdChars(id) && id !== name ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `state ID`: WHERE's state root located as stateRoot does (not made: a
 * missing one holds no container), its owner checked, ID's state and status.
 * ID may be a name rename gave: looked up only when no container has it as
 * its id, so the id costs nothing more.
 */
export function stateJson(where: { root?: string; debug?: (m: string) => void } & Pick<RuntimeContext, "ids" | "env">, id: string): Record<string, unknown> {
  const { uid } = where.ids;
  const xdg = where.env.XDG_RUNTIME_DIR;
  const nested = () => {
    const uidMap = textOrNone("/proc/self/uid_map");
    return uidMap !== undefined && uidMapIsNested(uidMap);
  };
  const { dir: root, note } = stateRootPath(where.root, xdg, uid, nested, () => ownerOf(xdg!));
  if (note) where.debug?.(note);
  const rootOwner = ownerOf(root);
  if (rootOwner !== undefined && rootOwner !== uid) throw stateRootError(root, notOurs(root));
  const found = containerView(root, id);
  if (found) return found;
  const named = linkedId(root, id);
  const viaName = named === undefined ? undefined : containerView(root, named);
  if (!viaName) throw notFound(id);
  return viaName;
}

/** what `state` prints of container ID in ROOT: its state and status; undefined when ROOT has no such container */
function containerView(root: string, id: string): Record<string, unknown> | undefined {
  const dir = idDir(root, id);
  let raw: string;
  try {
    raw = readText(`${dir}/state.json`);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw corruptState(dir, id);
    if (ownerOf(dir) === undefined) return undefined;
    throw new BunkerError(`container "${id}" is being created or its create was killed`, { errno: "EBUSY", fix: `bunker delete --force ${id}` });
  }
  const s = parseState(raw, dir, id);
  const stat = s.pid > 0 ? textOrNone(`/proc/${s.pid}/stat`) : undefined;
  const alive = stat !== undefined && statStartTime(stat) === s.pidStart;
  const st = statusOf(alive, () => ownerOf(`${dir}/exec.fifo`) !== undefined, () => (s.cgroup ? textOrNone(`${s.cgroup}/cgroup.freeze`) : undefined)?.trim() === "1");
  return stateView(s, st);
}

// The read side of state.ts (its functions, re-exported there), here without
// node:fs: OCI `start` and `delete` read a state, a status and names only

/** the id a renamed container's NAME links to, when that container is there */
export function idOfName(root: string, name: string): string | undefined {
  try {
    const id = readlinkat(AT_FDCWD, `${root}/${NAMES_DIR}/${name}`);
    return isIdChars(id) && exists(`${root}/${id}/state.json`) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** the state dir of the container with id or name ID */
export function containerDir(root: string, id: string): string {
  const dir = idDir(root, id);
  if (exists(dir)) return dir;
  const named = idOfName(root, id);
  return named ? idDir(root, named) : dir;
}

/** the id of the container with id or name ID (unchanged when there is none: the lookup that follows says so) */
export function containerId(root: string, id: string): string {
  return exists(idDir(root, id)) ? id : (idOfName(root, id) ?? id);
}

export function readState(root: string, id: string): ContainerState | undefined {
  const dir = containerDir(root, id);
  let text: string;
  try {
    text = readText(`${dir}/state.json`);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") {
      if (exists(dir)) return undefined; // being created, or a killed create: delete --force cleans it
      throw notFound(id);
    }
    throw corruptState(dir, id);
  }
  return parseState(text, dir, id);
}

/** PID's start time (field 22 of /proc/PID/stat), as src/sys/proc.ts's pidStartTime; undefined when gone or a zombie */
function startTimeOf(pid: number): string | undefined {
  const stat = textOrNone(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : statStartTime(stat);
}

export function isAlive(s: ContainerState): boolean {
  return s.pid > 0 && startTimeOf(s.pid) === s.pidStart;
}

export function status(dir: string, s: ContainerState): Status {
  // no freezer: not paused
  const frozen = () => !!s.cgroup && textOrNone(`${s.cgroup}/cgroup.freeze`)?.trim() === "1";
  return statusOf(isAlive(s), () => exists(`${dir}/exec.fifo`), frozen);
}

/** ID's state (and its dir), or why there is none */
export function loadExisting(root: string, id: string): { dir: string; state: ContainerState } {
  const state = readState(root, id);
  if (!state) throw new BunkerError(`container "${id}" is being created or its create was killed`, { errno: "EBUSY", fix: `bunker delete --force ${id}` });
  return { dir: containerDir(root, id), state };
}
