// Where is cgroup v2, and which cgroup is ours?  Pure functions over the text
// of /proc/self/cgroup and /proc/self/mountinfo, so every host layout can be
// unit-tested with a fake.  The mount point is read from mountinfo, never
// assumed to be /sys/fs/cgroup.

export interface Cgroup2Mount {
  /** where cgroup2 is mounted, e.g. /sys/fs/cgroup */
  mountPoint: string;
  /** which cgroup the mount shows as its root (mountinfo field 4; "/" normally) */
  root: string;
}

export interface CgroupLayout {
  /** "unified": cgroup2 only; "hybrid": cgroup2 next to v1 hierarchies; "legacy": v1 only; "none" */
  kind: "unified" | "hybrid" | "legacy" | "none";
  mount?: Cgroup2Mount;
  /** the v1 hierarchies' mount points (hybrid/legacy), for messages */
  v1Mounts: string[];
}

/** Undoes mountinfo's octal escapes (\040 = space, \011, \012, \134). */
function unescapeMountinfo(s: string): string {
  // no backslash, nothing to undo: the regular expression (and its first-use cost, on run's path) only for one that has
  return s.includes("\\") ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) : s;
}

/** Reads the cgroup mounts out of /proc/self/mountinfo text. */
export function parseLayout(mountinfo: string): CgroupLayout {
  let mount: Cgroup2Mount | undefined;
  const v1Mounts: string[] = [];
  for (const line of mountinfo.split("\n")) {
    // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (left.length < 5) continue;
    const root = unescapeMountinfo(left[3]!);
    const mountPoint = unescapeMountinfo(left[4]!);
    if (fstype === "cgroup2") {
      // several cgroup2 mounts are possible (e.g. a container's own); prefer
      // /sys/fs/cgroup, else the first one seen
      if (!mount || (mountPoint === "/sys/fs/cgroup" && mount.mountPoint !== "/sys/fs/cgroup")) mount = { mountPoint, root };
    } else if (fstype === "cgroup") {
      v1Mounts.push(mountPoint);
    }
  }
  const kind = mount ? (v1Mounts.length ? "hybrid" : "unified") : v1Mounts.length ? "legacy" : "none";
  return { kind, mount, v1Mounts };
}

/** The v2 cgroup of the process from /proc/PID/cgroup text (the "0::" line), or undefined. */
export function parseSelfCgroup(text: string): string | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("0::")) {
      const path = line.slice(3);
      return (path.endsWith(" (deleted)") ? path.slice(0, -" (deleted)".length) : path) || "/";
    }
  }
  return undefined;
}

/**
 * Turns a cgroup path as /proc/self/cgroup shows it into a file-system path
 * under the cgroup2 mount, or undefined when the mount does not show it
 * (a mount of some other subtree, or a cgroup outside our cgroup namespace).
 */
export function cgroupDir(mount: Cgroup2Mount, cgroup: string): string | undefined {
  if (cgroup.startsWith("/..")) return undefined;
  const root = mount.root === "/" ? "" : mount.root.replace(/\/+$/, "");
  if (root && cgroup !== root && !cgroup.startsWith(root + "/")) return undefined;
  const rel = cgroup.slice(root.length).replace(/^\/+/, "");
  return rel ? `${mount.mountPoint.replace(/\/+$/, "")}/${rel}` : mount.mountPoint;
}

/** Parent directory of a cgroup dir, or undefined at the mount point. */
export function parentDir(dir: string, mountPoint: string): string | undefined {
  if (dir === mountPoint || !dir.startsWith(mountPoint + "/")) return undefined;
  return dir.slice(0, dir.lastIndexOf("/")) || "/";
}

/** Resolves --cgroup-parent / linux.cgroupsPath: absolute = from the mount root, relative = from BASE. */
export function resolveCgroupPath(mountPoint: string, base: string, path: string): string {
  const parts: string[] = [];
  const start = path.startsWith("/") ? mountPoint : base;
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (parts.length === 0) throw new RangeError(`cgroup path ${path} leaves its base`);
      parts.pop();
    } else parts.push(p);
  }
  return parts.length ? `${start.replace(/\/+$/, "")}/${parts.join("/")}` : start;
}

/** Controllers listed in a cgroup.controllers / cgroup.subtree_control file. */
export function parseControllers(text: string): Set<string> {
  return new Set(text.split(/\s+/).filter(Boolean));
}
