// `bunker spec [--rootless]`: the config.json runc 1.1's `runc spec` and
// `runc spec --rootless` write (libcontainer/specconv), with bunker's
// ociVersion and hostname.
import { OCI_VERSION, type Mount, type Spec } from "./spec.ts";
import { processIds } from "../sys/idmap.ts";

/** runc's default capabilities: every set gets the same three */
export const RUNC_DEFAULT_CAPS: readonly string[] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** kernel interfaces that leak host information or let a container poke the host */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export interface DefaultSpecOptions {
  rootless: boolean;
  /** process.args (default: ["sh"]) */
  args?: string[];
  /** process.terminal (default: true, as runc) */
  terminal?: boolean;
  /** the caller's ids for the rootless one-id maps (default: this process's) */
  uid?: number;
  gid?: number;
}

function mounts(rootless: boolean): Mount[] {
  const devpts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
  const list: Mount[] = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    // gid=5 (tty) is not mapped in a rootless container
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: rootless ? devpts : [...devpts, "gid=5"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  ];
  if (rootless) {
    // sysfs needs a network namespace of our own: bind the host's /sys read-only
    // instead; its /sys/fs/cgroup comes along, so no cgroup mount (runc keeps
    // one, which cannot be mounted without a cgroup namespace)
    list.push({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
  } else {
    list.push(
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    );
  }
  return list;
}

/** A fresh config.json for a bundle whose root is ./rootfs. */
export function defaultSpec(opts: DefaultSpecOptions): Spec {
  const { rootless } = opts;
  const caps = () => [...RUNC_DEFAULT_CAPS];
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: opts.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: caps(), effective: caps(), permitted: caps(), ambient: caps() },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "bunker",
    mounts: mounts(rootless),
    linux: {
      ...(rootless
        ? {
            uidMappings: [{ containerID: 0, hostID: opts.uid ?? processIds().uid, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: opts.gid ?? processIds().gid, size: 1 }],
          }
        : { resources: { devices: [{ allow: false, access: "rwm" }] } }),
      namespaces: rootless
        ? [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }]
        : [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  return spec;
}
