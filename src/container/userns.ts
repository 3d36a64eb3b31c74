// bunker's shared user namespace, as podman's rootless "pause process".
//
// A map with subordinate ids is written by the setuid helpers newuidmap and
// newgidmap: two program starts, about 15 ms, on every container.  Instead the
// first container that needs such a map makes a user namespace with it, held
// by a tiny process (c/monitor.c --hold-userns, exec'd from a sealed memfd,
// ~100 KB), and every later one joins it (setns) and makes its own mount, pid,
// net, ipc and uts namespaces inside (c/namespaces.c join_userns).  The maps are the
// same either way; containers still share no namespace but the user one (so a
// container's root is root over the others' namespaces in name only: it cannot
// reach them without seeing their processes).  The holder is found through a
// small file in the default state dir; one that died, was replaced by another
// pid, or holds other maps (the /etc/subuid range changed) is replaced.
// BUNKER_SHARED_USERNS=0 makes a new user namespace per container, as before.
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "../sys/fs-sync.ts";
import { BunkerError, fromSysError } from "../errors.ts";
import type { IDMapping } from "../oci/spec.ts";
import { usernsHolderPlan } from "../plan/join.ts";
import { withJoinedUserns } from "../plan/finalize.ts";
import type { Plan } from "../plan/types.ts";
import { encodePlan } from "../sys/plan-encode.ts";
import { monitorMemfd, openNamespace, readMessage, reap, sendGo, spawn } from "../sys/shim.ts";
import { flock, LOCK_EX } from "../sys/fs-core.ts";
import { type IdMaps, writeIdMaps } from "../sys/idmap.ts";
import { childError } from "../sys/launch.ts";
import { stateRoot } from "./paths.ts";
import type { RuntimeContext } from "./context.ts";
import { pidStartTime } from "../sys/proc.ts";

export interface SharedUserns {
  /** the namespace, open in this process: the child joins /proc/self/fd/FD */
  fd: number;
  path: string;
  /** the holder process */
  pid: number;
  /** made by this call (not found) */
  made: boolean;
}

/** the state root of this user without --root: the holder's record is one per user, whatever --root says */
function userStateRoot(ctx: RuntimeContext): string {
  return stateRoot(undefined, ctx.env.XDG_RUNTIME_DIR, ctx.ids.uid).dir;
}

/** where the holder's "PID STARTTIME" is kept */
export function holderFile(ctx: RuntimeContext): string {
  return `${userStateRoot(ctx)}/userns`;
}

export function sharedUsernsEnabled(ctx: RuntimeContext): boolean {
  return ctx.env.BUNKER_SHARED_USERNS !== "0";
}

/** a /proc/PID/{uid,gid}_map text as mappings */
export function parseMapText(text: string): IDMapping[] {
  return text.trim().split("\n").filter(Boolean).map((l) => {
    const [c, h, n] = l.trim().split(/\s+/).map(Number);
    return { containerID: c!, hostID: h!, size: n! };
  });
}

const sameMap = (a: IDMapping[], b: IDMapping[]) =>
  a.length === b.length && a.every((x, k) => x.containerID === b[k]!.containerID && x.hostID === b[k]!.hostID && x.size === b[k]!.size);

/** the holder file's record "PID START [INODE MAPS]" (the last two since the quick check exists) */
interface HolderRecord {
  pid: number;
  start: string;
  ino?: string;
  key?: string;
}

function readRecord(file: string): HolderRecord | undefined {
  try {
    const [p, start, ino, key] = readFileSync(file, "utf8").trim().split(" ");
    const pid = Number(p);
    return Number.isInteger(pid) && pid > 0 && start ? { pid, start, ino, key } : undefined;
  } catch {
    return undefined;
  }
}

function writeRecord(file: string, pid: number, start: string, fd: number, maps: IdMaps) {
  writeFileSync(`${file}.tmp`, `${pid} ${start} ${fstatSync(fd).ino} ${mapsKey(maps)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** PID (started at START) is a holder bunker made, not a process that got its pid since */
function isOurHolder(pid: number, start: string): boolean {
  try {
    return pidStartTime(pid) === start && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "bunker-userns";
  } catch {
    return false;
  }
}

/** PID's user namespace, opened, if it holds MAPS; else whether PID is a holder of ours with other maps */
function holderAt(pid: number, start: string, maps: IdMaps): { found?: SharedUserns; stale?: number } {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/ns/user`, "r");
  } catch {
    return {};
  }
  // a namespace of ours with these maps is the one to join, whoever holds it; the maps read are
  // of the namespace the fd holds while PID is still in it (its pid not reused since the open)
  try {
    const same = sameMap(parseMapText(readFileSync(`/proc/${pid}/uid_map`, "utf8")), maps.uid) && sameMap(parseMapText(readFileSync(`/proc/${pid}/gid_map`, "utf8")), maps.gid);
    if (same && fstatSync(fd).ino === statSync(`/proc/${pid}/ns/user`).ino)
      return { found: { fd, path: `/proc/self/fd/${fd}`, pid, made: false } };
    // other maps: ours to replace only when it is the holder bunker started
    closeSync(fd);
    return isOurHolder(pid, start) ? { stale: pid } : {};
  } catch {
    /* it went away */
  }
  closeSync(fd);
  return {};
}

/** the holder's pid, when the holder file names a live bunker-userns process (bunker check) */
export function describeHolder(ctx: RuntimeContext): number | undefined {
  const rec = readRecord(holderFile(ctx));
  return rec && isOurHolder(rec.pid, rec.start) ? rec.pid : undefined;
}

/**
 * End the holder the holder file names (SIGKILL), when it is the bunker-userns
 * process bunker started (its pid's start time and name checked): its pid, or
 * undefined when there was none.  Running containers keep their namespace; the
 * next run makes a new holder.  For scripts that must end what they started
 * (tests/run-all.sh, make bench) without looking for processes by name.
 */
export function endHolder(ctx: RuntimeContext): number | undefined {
  const file = holderFile(ctx);
  const rec = readRecord(file);
  if (!rec || !isOurHolder(rec.pid, rec.start)) return undefined;
  try {
    process.kill(rec.pid, "SIGKILL");
  } catch {
    return undefined;
  }
  rmSync(file, { force: true });
  return rec.pid;
}

const mapsKey = (m: IdMaps) => [m.uid, m.gid].map((l) => l.map((x) => `${x.containerID}:${x.hostID}:${x.size}`).join(",")).join("/");

/**
 * The every-run check (one read, one open, one fstat): the holder file's
 * record, written when the holder was made, names these maps, and PID's user
 * namespace still has the recorded inode number.  Anything else goes to
 * holderAt's full check, under the lock.  (Only a holder pid and a namespace
 * inode number both reused since the record was written could fool it: the
 * namespace joined would then be another of this user's.)
 */
function quickHolder(rec: HolderRecord | undefined, maps: IdMaps): SharedUserns | undefined {
  if (!rec?.ino || rec.key !== mapsKey(maps)) return undefined;
  // by the shim, in one call: node:fs's first openSync, fstatSync and closeSync cost more than the rest of this
  const fd = openNamespace(`/proc/${rec.pid}/ns/user`, rec.ino);
  return fd >= 0 ? { fd, path: `/proc/self/fd/${fd}`, pid: rec.pid, made: false } : undefined;
}

/** the shared user namespace with MAPS: found, or made (newuidmap/newgidmap run once) */
export function sharedUserns(ctx: RuntimeContext, maps: IdMaps): SharedUserns {
  const debug = ctx.log.debug;
  const file = holderFile(ctx);
  const quick = quickHolder(readRecord(file), maps);
  if (quick) return quick;
  // one maker at a time; the others find what it made
  const lockPath = `${file}.lock`;
  let lock: number;
  try {
    mkdirSync(userStateRoot(ctx), { recursive: true, mode: 0o700 });
    lock = openSync(lockPath, "a", 0o600);
  } catch (e) {
    throw fromSysError("cannot open the shared user namespace's lock", e, { path: lockPath, fix: "run with BUNKER_SHARED_USERNS=0 (a user namespace per container, as before)" });
  }
  try {
    const r = flock(lock, LOCK_EX);
    if (r < 0) throw new BunkerError("cannot lock the shared user namespace", { errno: -r, path: lockPath, fix: "run with BUNKER_SHARED_USERNS=0 (a user namespace per container, as before)" });
    const rec = readRecord(file);
    const again = rec ? holderAt(rec.pid, rec.start, maps) : {};
    if (again.found) {
      // found by the full check (an older record, without the quick check's fields): record them
      writeRecord(file, rec!.pid, rec!.start, again.found.fd, maps);
      return again.found;
    }
    if (again.stale) {
      // other maps (the subordinate range changed): a new one for new containers; the old one goes
      debug?.(`shared user namespace: holder ${again.stale} has other maps: replacing it`);
      try {
        process.kill(again.stale, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    const pid = makeHolder(maps);
    const start = pidStartTime(pid);
    const made = start ? holderAt(pid, start, maps).found : undefined;
    if (!start || !made) throw new BunkerError("the shared user namespace's holder exited at once", { errno: "ESRCH", path: file, fix: "run with BUNKER_SHARED_USERNS=0 and report it" });
    writeRecord(file, pid, start, made.fd, maps);
    debug?.(`shared user namespace: made, held by pid ${pid}`);
    return { ...made, made: true };
  } finally {
    closeSync(lock);
  }
}

/**
 * A new user namespace with MAPS, held by the monitor program in --hold-userns
 * mode: cloned, mapped by newuidmap/newgidmap, then forked once more so it is
 * nobody's child (the intermediate exits), and exec'd from a sealed memfd.
 */
function makeHolder(maps: IdMaps): number {
  return spawnHolder((exe) => usernsHolderPlan(exe), maps, "the shared user namespace's holder", "run with BUNKER_SHARED_USERNS=0 (a user namespace per container, as before)");
}

/**
 * A holder process (the monitor exec'd from a sealed memfd, the plan PLAN(EXE)
 * makes: one that forks so the holder is nobody's child): its pid.  MAPS are
 * written when the plan makes a user namespace.  WHAT and FIX word the errors.
 */
export function spawnHolder(planOf: (exe: number) => Plan, maps: IdMaps | undefined, what: string, fix: string): number {
  const exe = monitorMemfd();
  if (exe < 0) throw new BunkerError(`cannot make ${what} (memfd)`, { errno: -exe, fix });
  const plan = withJoinedUserns(planOf(exe));
  let spawned;
  try {
    spawned = spawn(encodePlan(plan));
  } finally {
    closeSync(exe);
  }
  const { pid, sock } = spawned;
  let holder: number | undefined;
  try {
    if (maps) writeIdMaps(pid, maps);
    sendGo(sock, pid);
    for (;;) {
      const m = readMessage(sock);
      if (m.type === "pid") holder = m.pid;
      else if (m.type === "error") throw childError(plan.ops[m.op], m);
      else if (m.type === "eof") break;
    }
  } catch (e) {
    for (const p of [pid, holder]) {
      try {
        if (p) process.kill(p, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    throw e;
  } finally {
    closeSync(sock);
    reap(pid);
  }
  if (!holder) throw new BunkerError(`${what} did not start`, { errno: "ECHILD", fix });
  return holder;
}
