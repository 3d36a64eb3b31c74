// uid/gid maps for the user namespace: one id (written directly) or a
// subordinate range from /etc/subuid (written by setuid newuidmap/newgidmap).
import { readFileSync, writeFileSync, existsSync } from "./fs-sync.ts";
import type { IDMapping } from "../oci/spec.ts";
import { BunkerError, fromSysError } from "../errors.ts";
import { passwdEntry } from "./passwd.ts";

/** the ids bunker runs as (src/container/context.ts carries them) */
export interface HostIds {
  uid: number;
  gid: number;
  euid: number;
}

/**
 * The ids this process runs as: the kernel's view, which decides what its
 * own syscalls may do (write a map, chown a layer, use a delegated cgroup).
 * The engine is given them in its RuntimeContext; the store and the cgroup
 * code below it ask here.
 */
export function processIds(): HostIds {
  return { uid: process.getuid!(), gid: process.getgid!(), euid: process.geteuid!() };
}

export interface SubRange {
  start: number;
  count: number;
}

/** the first range for the user (by name or uid) in a subuid/subgid file's text */
export function parseSubIds(text: string, name: string | undefined, id: number): SubRange | undefined {
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (!who || start === undefined || count === undefined) continue;
    if (who === name || who === String(id)) {
      const r = { start: Number(start), count: Number(count) };
      if (Number.isInteger(r.start) && Number.isInteger(r.count) && r.count > 0) return r;
    }
  }
  return undefined;
}

const names = new Map<number, string | undefined>();

/** the name /etc/passwd gives UID (read once per uid and process) */
export function userName(uid: number): string | undefined {
  if (!names.has(uid)) names.set(uid, lookUpUserName(uid));
  return names.get(uid);
}

function lookUpUserName(uid: number): string | undefined {
  try {
    const name = passwdEntry(readFileSync("/etc/passwd", "utf8"), uid)?.[0];
    if (name) return name;
  } catch {
    /* no /etc/passwd: ids only */
  }
  // $USER names the caller, not any other uid
  return uid === processIds().uid ? process.env.USER || undefined : undefined;
}

/** the files subordinate ranges are read from (tests pass their own) */
export interface SubIdFiles {
  subuid: string;
  subgid: string;
}
export const SUB_ID_FILES: SubIdFiles = { subuid: "/etc/subuid", subgid: "/etc/subgid" };

const ranges = new Map<string, SubRange | undefined>();

/**
 * The range FILE (a subuid or subgid file) gives the user UID, by name or by
 * uid (read once per file and user per process).  Both files are keyed by the
 * user, as newuidmap and newgidmap read them: a subgid range is looked up by
 * the uid too, never by a gid.
 */
export function subRange(file: string, uid: number): SubRange | undefined {
  const key = `${file}:${uid}`;
  if (!ranges.has(key)) {
    let r: SubRange | undefined;
    try {
      r = parseSubIds(readFileSync(file, "utf8"), userName(uid), uid);
    } catch {
      r = undefined;
    }
    ranges.set(key, r);
  }
  return ranges.get(key);
}

export const NEWUIDMAP = ["/usr/bin/newuidmap", "/bin/newuidmap", "/usr/sbin/newuidmap"];
export const NEWGIDMAP = ["/usr/bin/newgidmap", "/bin/newgidmap", "/usr/sbin/newgidmap"];

export function findHelper(candidates: string[]): string | undefined {
  return candidates.find((p) => existsSync(p));
}

export interface IdMaps {
  uid: IDMapping[];
  gid: IDMapping[];
}

/**
 * 0 -> caller, 1..count -> the subordinate ranges (podman's default for images).
 * Root without a range gets 0..count mapped to themselves: root's image layers
 * carry the tar's own ids, which that map shows as they are.
 */
export function autoMaps(uid: number, gid: number, size = 65536, files: SubIdFiles = SUB_ID_FILES): IdMaps {
  const su = subRange(files.subuid, uid), sg = subRange(files.subgid, uid);
  if (uid === 0 && (!su || !sg)) return { uid: [{ containerID: 0, hostID: 0, size: size + 1 }], gid: [{ containerID: 0, hostID: 0, size: size + 1 }] };
  const name = userName(uid) ?? String(uid);
  if (!su || !sg) {
    throw new BunkerError(`--userns=auto needs a subordinate id range for ${name}`, {
      errno: "ENOENT",
      path: !su ? files.subuid : files.subgid,
      fix: `as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`,
    });
  }
  return {
    uid: [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: su.start, size: Math.min(size, su.count) }],
    gid: [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: sg.start, size: Math.min(size, sg.count) }],
  };
}

/** the user whose /etc/subuid range root's --userns=auto uses when root has none (podman's convention) */
export const ROOT_AUTO_USER = "containers";

/**
 * root's --userns=auto: 0..size-1 -> root's own /etc/subuid range, else the
 * "containers" user's, so the container's root is not host root (podman's
 * --userns=auto).  Neither: an error naming the fix.
 */
export function rootAutoMaps(subuid: string, subgid: string, size = 65536): IdMaps {
  const range = (text: string) => parseSubIds(text, "root", 0) ?? parseSubIds(text, ROOT_AUTO_USER, -1);
  const su = range(subuid), sg = range(subgid);
  if (!su || !sg) {
    throw new BunkerError("--userns=auto as root needs a subordinate id range for root or for containers", {
      errno: "ENOENT",
      path: !su ? "/etc/subuid" : "/etc/subgid",
      fix: `add one: echo ${ROOT_AUTO_USER}:300000:65536 | tee -a /etc/subuid /etc/subgid`,
    });
  }
  return {
    uid: [{ containerID: 0, hostID: su.start, size: Math.min(size, su.count) }],
    gid: [{ containerID: 0, hostID: sg.start, size: Math.min(size, sg.count) }],
  };
}

/** the maps a run of this user uses by default for an image: what files it left may belong to (its subordinate ids) */
export function callerMaps(ids: HostIds): IdMaps {
  return subRange(SUB_ID_FILES.subuid, ids.uid) ? autoMaps(ids.uid, ids.gid) : singleMaps(ids.uid, ids.gid);
}

export function singleMaps(uid: number, gid: number): IdMaps {
  return { uid: [{ containerID: 0, hostID: uid, size: 1 }], gid: [{ containerID: 0, hostID: gid, size: 1 }] };
}

const fmt = (m: IDMapping[]) => {
  let s = "";
  for (const x of m) s += `${x.containerID} ${x.hostID} ${x.size}\n`; // a plain loop: run's path calls no map (src/loops.ts)
  return s;
};

/** does writing these maps need the setuid helpers (more than the caller's own id)? */
export function needsHelper(maps: IdMaps, uid: number, gid: number): boolean {
  if (uid === 0) return false;
  const only = (m: IDMapping[], id: number) => m.length === 1 && m[0]!.hostID === id && m[0]!.size === 1;
  return !(only(maps.uid, uid) && only(maps.gid, gid));
}

/** writes the maps of PID's user namespace (the child waits until then) */
/** a one-id gid map: setgroups is denied in it (required unprivileged; kept for root so both behave alike) */
export function deniesSetgroups(maps: IdMaps): boolean {
  return maps.gid.length === 1 && maps.gid[0]!.size === 1;
}

export function writeIdMaps(pid: number, maps: IdMaps): void {
  const { uid, gid } = processIds();
  if (needsHelper(maps, uid, gid)) {
    for (const [helpers, m, what] of [[NEWUIDMAP, maps.uid, "uid"], [NEWGIDMAP, maps.gid, "gid"]] as const) {
      const bin = findHelper(helpers);
      if (!bin) throw new BunkerError(`mapping a ${what} range needs new${what}map`, { errno: "ENOENT", path: helpers[0], fix: "apt-get install uidmap" });
      const args = m.flatMap((x) => [String(x.containerID), String(x.hostID), String(x.size)]);
      const r = Bun.spawnSync([bin, String(pid), ...args], { stdout: "ignore", stderr: "pipe" });
      if (r.exitCode !== 0) {
        const msg = r.stderr.toString().trim().split("\n").pop() ?? "";
        throw new BunkerError(`new${what}map failed: ${msg}`, { errno: "EPERM", path: `/etc/sub${what}`, fix: `check the sub${what} range of ${userName(uid)} and that new${what}map is setuid root` });
      }
    }
    return;
  }
  try {
    if (deniesSetgroups(maps)) writeFileSync(`/proc/${pid}/setgroups`, "deny");
    writeFileSync(`/proc/${pid}/uid_map`, fmt(maps.uid));
    writeFileSync(`/proc/${pid}/gid_map`, fmt(maps.gid));
  } catch (e) {
    throw fromSysError("cannot write the user namespace's id map", e, { fix: "a map other than your own uid needs --userns=auto and /etc/subuid" });
  }
}
