// config (OCI Spec) -> Plan.  Pure: everything it needs from the host comes in
// through PlanContext, so unit tests can assert on the ops without privileges.
import type { Hook, IDMapping, Spec, Mount } from "../oci/spec.ts";
import { parseMountOptions } from "./mount-options.ts";
import { namespaceKind } from "./namespaces.ts";
import type { CapMasks } from "../oci/caps.ts";
import { rlimitNumber, rlimitValue } from "../oci/rlimits.ts";
import * as K from "./types.ts";
import { filterOf, someOf, trimSlashes } from "../loops.ts";
import type { Op, Plan, RootMount, Stdio } from "./types.ts";

export interface PlanContext {
  /** the root is a filesystem mounted at spec.root.path (tmpfs for the host sandbox, overlay for images), not a bind of it */
  rootMount?: RootMount;
  /** give the process /dev/null as stdin (docker without -i) */
  stdinNull?: boolean;
  preserveFds?: number;
  /** a tiny init (in the shim) is PID 1 and runs the command as its child */
  init?: boolean;
  /** use MS_MOVE + chroot instead of pivot_root */
  noPivot?: boolean;
  /** OCI create: wait on this exec.fifo before execve */
  execFifo?: string;
  /** symlinks to create in the new root before the mounts (host sandbox: /bin -> usr/bin), target by link */
  symlinks?: Record<string, string>;
  /** compiled seccomp filter (struct sock_filter[]) and its seccomp(2) flags, from src/oci */
  seccomp?: Uint8Array;
  seccompFlags?: number;
  /** detached run: its stdio, fds of bunker's (the log writer's pipes; stdin -1: /dev/null) */
  stdio?: Stdio;
  /** detached run: the init writes the command's exit status to this host file */
  exitFile?: string;
  /** the container dies with bunker (run in the foreground; not create) */
  dieWithParent?: boolean;
  /** capability sets, from src/oci; undefined keeps all capabilities of the user namespace */
  caps?: CapMasks;
  /** lock the container's mounts (read-only stays read-only for a process with CAP_SYS_ADMIN): op "lock" after the last mount */
  lockMounts?: boolean;
  /** the network namespace is configured from outside (pasta, slirp4netns): the lock's nested
   * user namespace keeps it rather than making one of its own (that would have only lo) */
  keepNetns?: boolean;
  /** the child holds, set up, before its process ops until bunker's "go" (a network helper's start overlaps its set-up) */
  holdBeforeProcess?: boolean;
  /** OCI create: hooks.startContainer run in the container after exec.fifo, with this state (all but its pid) */
  startContainer?: { hooks: Hook[]; state: Record<string, unknown> };
  /** bunker itself runs in a user namespace other than the initial one ("root" of rootless docker or
   * podman): mknod is impossible there too, whatever the config's namespaces (runc's RunningInUserNS) */
  inUserNamespace?: boolean;
}

/** S_IFCHR, S_IFBLK, S_IFIFO by linux.devices[].type ("u": unbuffered character device) */
const DEVICE_TYPE_BITS: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

export const DEFAULT_DEVICES = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"];

const PROPAGATION: Record<string, number> = {
  private: K.MS_PRIVATE, rprivate: K.MS_PRIVATE, slave: K.MS_SLAVE, rslave: K.MS_SLAVE,
  shared: K.MS_SHARED, rshared: K.MS_SHARED, unbindable: K.MS_UNBINDABLE, runbindable: K.MS_UNBINDABLE,
};

export function cloneFlags(spec: Spec): number {
  let flags = 0;
  for (const ns of spec.linux?.namespaces ?? []) if (!ns.path) flags |= namespaceKind(ns.type).flag;
  return flags;
}

/** a devpts gid= the user namespace does not map makes the mount fail (EINVAL/EOVERFLOW): drop it, as crun does */
function dropUnmappedGid(m: Mount, gidMaps: IDMapping[] | undefined): Mount {
  if (m.type !== "devpts" || !gidMaps?.length) return m;
  const mapped = (g: number) => someOf(gidMaps, (x) => g >= x.containerID && g < x.containerID + x.size);
  return { ...m, options: m.options ? filterOf(m.options, (o) => !o.startsWith("gid=") || mapped(Number(o.slice(4)))) : undefined };
}

/** DEFER_RO: mounted writable, made read-only after its submounts (setattr after pivot) */
function mountOps(m: Mount, deferRo = false): Op[] {
  const o = parseMountOptions(m.options, m.type);
  if (deferRo) o.flags &= ~K.MS_RDONLY;
  const ops: Op[] = [];
  // a read-only view of the cgroup tree is a nicety, never a reason to fail
  const optional = m.type === "cgroup2" || m.type === "cgroup";
  if (o.bind) {
    // a new volume (copyup): the image's directory it covers is held, then copied in (read-only after pivot)
    if (o.tmpcopyup) ops.push({ op: "copyup-open", path: m.destination });
    const attrSet = deferRo ? o.attrSet & ~K.MOUNT_ATTR_RDONLY : o.attrSet;
    ops.push({ op: "bind", source: m.source ?? "", target: m.destination, recursive: o.recursive, attrSet, attrClr: o.attrClr });
    if (o.tmpcopyup) ops.push({ op: "copyup", path: m.destination, root: true });
  } else {
    if (o.tmpcopyup) ops.push({ op: "copyup-open", path: m.destination });
    ops.push({
      op: "mount",
      source: m.source ?? m.type ?? "none",
      target: m.destination,
      fstype: m.type ?? "",
      flags: o.flags,
      data: o.data,
      optional,
    });
    if (o.tmpcopyup) ops.push({ op: "copyup", path: m.destination });
  }
  if (o.propagation) ops.push({ op: "mount", source: "", target: m.destination, fstype: "", flags: o.propagation, data: "", optional });
  return ops;
}

function sysctlOps(spec: Spec): Op[] {
  const ops: Op[] = [];
  const sysctl = spec.linux?.sysctl ?? {};
  for (const key of Object.keys(sysctl)) ops.push({ op: "write" as const, path: `/proc/sys/${key.replaceAll(".", "/")}`, content: sysctl[key]! });
  return ops;
}

/** the nested user namespace maps each id of the container's namespace to itself */
function lockOp(spec: Spec, flags: number): Op {
  const identity = (maps: IDMapping[] | undefined) => (maps ?? []).map((m) => `${m.containerID} ${m.containerID} ${m.size}\n`).join("");
  return {
    op: "lock",
    flags: K.CLONE_NEWUSER | K.CLONE_NEWNS | K.CLONE_NEWUTS | (flags & K.CLONE_NEWNET),
    uidMap: identity(spec.linux?.uidMappings),
    gidMap: identity(spec.linux?.gidMappings),
  };
}

export function buildPlan(spec: Spec, ctx: PlanContext = {}): Plan {
  const ops: Op[] = [];
  const proc = spec.process!;
  const flags = cloneFlags(spec);
  const mounts = spec.mounts ?? [];
  const newMountNs = (flags & K.CLONE_NEWNS) !== 0;
  const prop = PROPAGATION[spec.linux?.rootfsPropagation ?? ""] ?? K.MS_PRIVATE;
  let deferred: Mount[] = [];

  if (newMountNs) {
    // pivot_root refuses a shared root (EINVAL): shared is set on the new / after it, as runc does
    ops.push({ op: "rootfs", path: spec.root!.path, mount: ctx.rootMount, propagation: prop === K.MS_SHARED ? K.MS_SLAVE : prop });
    for (const [link, target] of Object.entries(ctx.symlinks ?? {})) ops.push({ op: "symlink", target, link });
    // a read-only mount with mounts (or /dev's nodes and links) below it becomes read-only after them,
    // as runc does: mounting devpts on a read-only /dev fails with EROFS
    // (plain loops, no regular expression: run's path, src/loops.ts)
    const under = (m: Mount, i: number) => {
      if (m.destination === "/dev") return true;
      const below = `${trimSlashes(m.destination)}/`;
      for (let j = i + 1; j < mounts.length; j++) if (mounts[j]!.destination.startsWith(below)) return true;
      return false;
    };
    // (a tmpfs: its mount points must be made in it; proc and sysfs have theirs)
    // (a read-only bind that is copied into first: a new volume's copy-up)
    for (let i = 0; i < mounts.length; i++) {
      const m = mounts[i]!, o = parseMountOptions(m.options, m.type);
      if (o.bind ? o.tmpcopyup && (o.attrSet & K.MOUNT_ATTR_RDONLY) !== 0 : m.type === "tmpfs" && (o.flags & K.MS_RDONLY) !== 0 && under(m, i)) deferred.push(m);
    }
    for (const m of mounts) ops.push(...mountOps(dropUnmappedGid(m, spec.linux?.gidMappings), deferred.includes(m)));
    const devTmpfs = someOf(mounts, (m) => m.destination === "/dev" && m.type === "tmpfs");
    if (devTmpfs) {
      // without a user namespace (root) linux.devices are made as asked (runc); in one (the config's, or
      // the one bunker runs in), mknod is impossible: the host's node at the same path is bound, and
      // must exist (never a silent skip)
      const userns = ctx.inUserNamespace || (flags & K.CLONE_NEWUSER) !== 0 || (!!spec.linux?.namespaces && someOf(spec.linux.namespaces, (n) => n.type === "user"));
      const asked = spec.linux?.devices ?? [];
      for (const d of filterOf(DEFAULT_DEVICES, (p) => !someOf(asked, (a) => a.path === p)))
        ops.push({ op: "bind", source: d, target: d, recursive: false, optional: true, attrSet: 0, attrClr: 0 });
      for (const d of asked) {
        if (userns) ops.push({ op: "bind", source: d.path, target: d.path, recursive: false, optional: false, attrSet: 0, attrClr: 0 });
        else ops.push({ op: "mknod", path: d.path, mode: DEVICE_TYPE_BITS[d.type]! | (d.fileMode ?? 0o666), major: d.major ?? 0, minor: d.minor ?? 0, uid: d.uid ?? 0, gid: d.gid ?? 0 });
      }
      ops.push({ op: "symlink", target: "/proc/self/fd", link: "/dev/fd" });
      ops.push({ op: "symlink", target: "/proc/self/fd/0", link: "/dev/stdin" });
      ops.push({ op: "symlink", target: "/proc/self/fd/1", link: "/dev/stdout" });
      ops.push({ op: "symlink", target: "/proc/self/fd/2", link: "/dev/stderr" });
      if (someOf(mounts, (m) => m.destination === "/dev/pts")) ops.push({ op: "symlink", target: "pts/ptmx", link: "/dev/ptmx" });
    }
  }
  if ((flags & K.CLONE_NEWNET) !== 0) ops.push({ op: "lo-up" });
  if (spec.hostname !== undefined && (flags & K.CLONE_NEWUTS) !== 0) ops.push({ op: "hostname", name: spec.hostname });
  if (spec.domainname !== undefined && (flags & K.CLONE_NEWUTS) !== 0) ops.push({ op: "domainname", name: spec.domainname });
  if (ctx.execFifo) ops.push({ op: "fifo-open", path: ctx.execFifo });
  // host paths: opened before pivot_root
  if (ctx.stdio) ops.push({ op: "stdio", ...ctx.stdio });
  if (ctx.exitFile) ops.push({ op: "exit-file", path: ctx.exitFile });
  if (newMountNs) {
    ops.push({ op: "pivot", noPivot: !!ctx.noPivot });
    if (prop === K.MS_SHARED) ops.push({ op: "mount", source: "", target: "/", fstype: "", flags: K.MS_REC | K.MS_SHARED, data: "" });
    for (const m of deferred) ops.push({ op: "setattr", path: m.destination, attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0, recursive: false });
    // sysctls before readonlyPaths makes /proc/sys read-only (runc's order)
    ops.push(...sysctlOps(spec));
    for (const p of spec.linux?.readonlyPaths ?? [])
      ops.push({ op: "bind", source: p, target: p, recursive: true, optional: true, attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0 });
    for (const p of spec.linux?.maskedPaths ?? []) ops.push({ op: "mask", path: p });
    if (spec.root?.readonly) ops.push({ op: "setattr", path: "/", attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0, recursive: false });
    if (ctx.lockMounts) ops.push(lockOp(spec, ctx.keepNetns ? flags & ~K.CLONE_NEWNET : flags));
  }
  if (!newMountNs) ops.push(...sysctlOps(spec));
  if (proc.oomScoreAdj !== undefined) ops.push({ op: "write", path: "/proc/self/oom_score_adj", content: String(proc.oomScoreAdj) });
  if (ctx.stdinNull && !proc.terminal) ops.push({ op: "stdin-null" });
  if (proc.terminal) ops.push({ op: "pty", rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0 });
  else ops.push({ op: "setsid" });
  // before non-dumpable: the helper opens the child's /proc/PID/ns files meanwhile
  if (ctx.holdBeforeProcess) ops.push({ op: "hold" });
  // from here to execve the process is bunker's executable, and (OCI create) a process exec'd into
  // the container could see it: non-dumpable hides its /proc/PID/exe (after the /proc/self writes above)
  ops.push({ op: "nondumpable" });
  return { cloneFlags: flags, ops: [...ops, ...processOps(spec, ctx)] };
}

/** what turns the set-up child into the container's process: rlimits, user, caps, seccomp, exec */
export function processOps(spec: Spec, ctx: PlanContext): Op[] {
  const proc = spec.process!;
  const { seccomp, caps } = ctx;
  // first: a seccomp profile may forbid close_range, and nothing after needs other fds
  const ops: Op[] = [{ op: "close-fds", preserve: ctx.preserveFds ?? 0 }];
  for (const r of proc.rlimits ?? []) {
    const res = rlimitNumber(r.type);
    if (res !== undefined) ops.push({ op: "rlimit", resource: res, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) });
  }
  if (caps) ops.push({ op: "caps", stage: 0, ...caps });
  const nnp = !!proc.noNewPrivileges;
  const sflags = ctx.seccompFlags ?? 0;
  // without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the user switch drops it
  if (seccomp && !nnp) ops.push({ op: "seccomp", filter: seccomp, flags: sflags });
  ops.push({ op: "user", uid: proc.user.uid, gid: proc.user.gid, groups: proc.user.additionalGids ?? [] });
  ops.push({ op: "chdir", path: proc.cwd });
  if (caps) ops.push({ op: "caps", stage: 1, ...caps });
  if (nnp) ops.push({ op: "nnp" });
  if (seccomp && nnp) ops.push({ op: "seccomp", filter: seccomp, flags: sflags });
  if (proc.user.umask !== undefined) ops.push({ op: "umask", mask: proc.user.umask });
  // after the user switch, which clears it; before init, so PID 1 (and with it the namespace) goes
  if (ctx.dieWithParent) ops.push({ op: "pdeathsig", signal: 9 });
  if (ctx.init) ops.push({ op: "init" });
  if (ctx.execFifo) ops.push({ op: "fifo-wait" });
  if (ctx.startContainer) ops.push(...startContainerOps(ctx.startContainer.hooks, ctx.startContainer.state, proc.env ?? []));
  const args = proc.args ?? [];
  ops.push({ op: "exec", file: args[0] ?? "", args, env: proc.env ?? [] });
  return ops;
}

/**
 * runtime-spec: startContainer hooks run in the container's namespaces after
 * start and before the program (runc runs them in its init, as the process's
 * user, with its environment when the hook has none).  The state's pid is
 * the host pid, which the child learns from the parent's "go".
 */
export function startContainerOps(hooks: Hook[], state: Record<string, unknown>, processEnv: string[]): Op[] {
  const { pid: _pid, ...rest } = state;
  const after = JSON.stringify(rest);
  return hooks.map((h, index) => ({
    op: "hook" as const,
    index,
    path: h.path,
    args: h.args?.length ? h.args : [h.path],
    env: h.env ?? processEnv,
    timeout: h.timeout ?? 0,
    stateBeforePid: '{"pid":',
    stateAfterPid: after === "{}" ? "}" : `,${after.slice(1)}`,
  }));
}
