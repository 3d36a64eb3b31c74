// `bunker run` flags -> an OCI Spec (the same config a bundle would carry).
import type { Mount, Spec } from "./spec.ts";
import { OCI_VERSION } from "./spec.ts";
import type { IdMaps } from "../sys/idmap.ts";
import type { Confinement } from "./confine.ts";
import { someOf } from "../loops.ts";

/** a bind mount of a host path or a volume's directory (src/volume/attach.ts) */
export interface Volume {
  source: string;
  destination: string;
  readonly: boolean;
  /** private, rprivate, shared, rshared, slave, rslave */
  propagation?: string;
  /** a new volume: it starts with a copy of the image's directory it covers (Docker's copy-up) */
  copyUp?: boolean;
}

export interface RunOptions {
  /** directory that becomes / (for the host sandbox: an empty mount point for its tmpfs root) */
  rootPath: string;
  /** bubblewrap-style sandbox of the host instead of a rootfs */
  hostSandbox?: { binds: string[]; cwd: string };
  args: string[];
  env: string[];
  cwd: string;
  /** HOME: the user's home from the container's /etc/passwd, when it has one */
  user: { uid: number; gid: number; additionalGids?: number[]; home?: string };
  hostname: string;
  tty: boolean;
  consoleSize?: { height: number; width: number };
  volumes: Volume[];
  tmpfs: { destination: string; options: string[] }[];
  readOnly: boolean;
  /** none: a network namespace of its own (a helper may give it a way out); joined: another container's, set up by the plan */
  network: "none" | "host" | "joined";
  maps: IdMaps;
  /** generated files bound over /etc/<name> in the container, by name */
  etcFiles: Record<string, string>;
  /** capabilities, no_new_privs, seccomp, masked and read-only paths (src/oci/confine.ts) */
  confinement: Confinement;
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function mapped(maps: IDMapsLike, id: number): boolean {
  return someOf(maps, (m) => id >= m.containerID && id < m.containerID + m.size);
}
type IDMapsLike = IdMaps["uid"];

/** the kernel filesystems every container gets (rootless-safe: no mknod, /sys read-only) */
export function baseMounts(gidMaps: IDMapsLike, ownNetns: boolean): Mount[] {
  const pts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
  if (mapped(gidMaps, 5)) pts.push("gid=5");
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: pts },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    // a fresh sysfs shows the container's own network devices; it can only be
    // mounted when the container's user namespace owns its network namespace
    ownNetns
      ? { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] }
      : { destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup2", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
  ];
}

export function runSpec(o: RunOptions): Spec {
  const mounts: Mount[] = [];
  if (o.hostSandbox) {
    for (const p of o.hostSandbox.binds) mounts.push({ destination: p, type: "bind", source: p, options: ["rbind", "ro", "nosuid", "nodev"] });
  }
  mounts.push(...baseMounts(o.maps.gid, o.network !== "host"));
  if (o.hostSandbox) {
    mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] });
    if (o.hostSandbox.cwd !== "/") mounts.push({ destination: o.hostSandbox.cwd, type: "bind", source: o.hostSandbox.cwd, options: ["rbind"] });
  }
  for (const [name, file] of Object.entries(o.etcFiles))
    mounts.push({ destination: `/etc/${name}`, type: "bind", source: file, options: ["bind", "nosuid", "nodev", "noexec"] });
  for (const v of o.volumes)
    mounts.push({ destination: v.destination, type: "bind", source: v.source, options: ["rbind", ...(v.readonly ? ["ro"] : []), ...(v.propagation ? [v.propagation] : []), ...(v.copyUp ? ["copyup"] : [])] });
  for (const t of o.tmpfs)
    mounts.push({ destination: t.destination, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...t.options] });
  const namespaces: NonNullable<Spec["linux"]>["namespaces"] = [
    { type: "user" }, { type: "mount" }, { type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "cgroup" },
  ];
  if (o.network === "none") namespaces.push({ type: "network" });
  const env = [...o.env];
  if (!someOf(env, (e) => e.startsWith("PATH="))) env.unshift(`PATH=${DEFAULT_PATH}`);
  if (o.tty && !someOf(env, (e) => e.startsWith("TERM="))) env.push("TERM=xterm");
  if (!someOf(env, (e) => e.startsWith("HOSTNAME="))) env.push(`HOSTNAME=${o.hostname}`);
  // as runc's: the user's home directory in the container's /etc/passwd (root's /root, anyone else / without one)
  if (!someOf(env, (e) => e.startsWith("HOME="))) env.push(`HOME=${o.user.home || (o.user.uid === 0 ? "/root" : "/")}`);
  return {
    ociVersion: OCI_VERSION,
    root: { path: o.rootPath, readonly: o.readOnly },
    hostname: o.hostname,
    mounts,
    process: {
      terminal: o.tty,
      consoleSize: o.consoleSize,
      user: { uid: o.user.uid, gid: o.user.gid, ...(o.user.additionalGids ? { additionalGids: o.user.additionalGids } : {}) },
      args: o.args,
      env,
      cwd: o.cwd,
      capabilities: o.confinement.capabilities,
      noNewPrivileges: o.confinement.noNewPrivileges,
    },
    linux: {
      namespaces,
      uidMappings: o.maps.uid,
      gidMappings: o.maps.gid,
      rootfsPropagation: "private",
      // the precompiled default is the plan's already (PlanContext.seccomp): the spec does not carry its profile
      ...(!o.confinement.compiledSeccomp && o.confinement.seccomp ? { seccomp: o.confinement.seccomp } : {}),
      maskedPaths: o.confinement.maskedPaths,
      readonlyPaths: o.confinement.readonlyPaths,
    },
  };
}
