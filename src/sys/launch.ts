// Start a Plan: clone (shim), write the id maps, join the cgroup, release the
// child, and turn its first message into "started", "ready" or an error.
import { closeSync, readFileSync } from "./fs-sync.ts";
import { BunkerError } from "../errors.ts";
import type { Op, Plan } from "../plan/types.ts";
import { CLONE_NEWPID, CLONE_NEWUSER } from "../plan/types.ts";
import { encodePlan } from "./plan-encode.ts";
import { needsMonitorExe, withJoinedUserns, withMonitorExe, withSharedMemory } from "../plan/finalize.ts";
import { type ChildFailure, monitorMemfd, readMessage, reap, sendGo, spawn, supervise } from "./shim.ts";
import { stepName } from "../plan/ops.ts";

/** this process goes on launching containers (bunker serve): it must stay dumpable (withSharedMemory) */
let keepDumpable = false;
export function keepCallerDumpable(): void {
  keepDumpable = true;
}
import { type IdMaps, writeIdMaps } from "./idmap.ts";
import { mark } from "../timing.ts";
import { RLIM_INFINITY, rlimitName } from "../oci/rlimits.ts";
import { someOf } from "../loops.ts";

export interface Launched {
  /** the container's process (after a fork into a pid namespace, the forked one: the intermediate is reaped) */
  pid: number;
  /** pty master, when the plan opened a terminal */
  pty: number;
}

export interface LaunchOptions {
  maps?: IdMaps;
  /** joins the container's cgroup before the child runs (src/cgroup) */
  cgroup?: { addProcess(pid: number): void };
  /** OCI create: return when the child waits on exec.fifo */
  untilReady?: boolean;
  /** runs after the namespaces exist and before the child sets anything up (OCI hooks) */
  beforeGo?: (pid: number) => Promise<void>;
  /**
   * records PID (the container's first process, blocked until this returns)
   * where later commands find it: the last step before the child is released,
   * so a bunker killed at any moment leaves either a recorded process or one
   * that reads EOF on its sync socket and exits
   */
  record?: (pid: number) => void;
  /**
   * the container's process PID exists in its namespaces, not yet released:
   * start what must be ready before it runs (its network helper, src/net);
   * called right before record.  A plan with a hold op (src/plan/build.ts)
   * calls it once the child is released to set up, and awaits it (then
   * records) when the child holds before its process ops: the helper comes
   * up meanwhile
   */
  beforeRecord?: (pid: number) => Promise<void>;
  /**
   * a filter with SCMP_ACT_NOTIFY was loaded by process PID: hand its listener FD to the agent
   * (src/container/seccomp-agent.ts).  The process goes on when this returns; FD is closed after
   */
  seccompListener?: (fd: number, pid: number) => void;
  debug?: (msg: string) => void;
}

export async function launch(plan: Plan, opts: LaunchOptions = {}): Promise<Launched> {
  plan = withJoinedUserns(plan);
  const initExe = needsMonitorExe(plan) ? monitorMemfd() : -1;
  let spawned;
  try {
    const encoded = encodePlan(withSharedMemory(withMonitorExe(plan, initExe), keepDumpable));
    mark("plan encoded");
    spawned = spawn(encoded);
  } catch (e) {
    throw explainCloneFailure(e as BunkerError, plan.cloneFlags);
  } finally {
    if (initExe >= 0) closeSync(initExe);
  }
  const { pid, sock } = spawned;
  mark("clone");
  let pty = -1, forked: number | undefined;
  try {
    if (plan.cloneFlags & CLONE_NEWUSER && opts.maps && !plan.joinUserns) writeIdMaps(pid, opts.maps);
    mark("maps written");
    opts.cgroup?.addProcess(pid);
    if (opts.beforeGo) await opts.beforeGo(pid);
    // after a join with a new pid namespace the intermediate clones the container's process,
    // which waits for a second "go": that one is recorded, not the intermediate
    const secondGo = (!!plan.joinUserns && (plan.cloneFlags & CLONE_NEWPID) !== 0) || someOf(plan.ops, (o) => o.op === "fork" && o.waitGo);
    const held = someOf(plan.ops, (o) => o.op === "hold");
    let starting: Promise<void> | undefined;
    // the process P to record (the cloned one, or after a second go the forked one) exists: recorded,
    // then released; or (held) released to set up while its helper starts, recorded at the hold
    const recordAndGo = async (p: number) => {
      if (held) {
        sendGo(sock, p);
        starting = opts.beforeRecord?.(p);
        starting?.catch(() => {}); // awaited at the hold; a child that fails before it is the error told
        return;
      }
      await opts.beforeRecord?.(p);
      opts.record?.(p);
      mark("state recorded");
      sendGo(sock, p);
    };
    if (secondGo) sendGo(sock, pid);
    else await recordAndGo(pid);
    for (;;) {
      const m = readMessage(sock);
      if (m.type === "pty") pty = m.fd;
      else if (m.type === "pid") {
        forked = m.pid;
        if (secondGo) await recordAndGo(forked);
      } else if (m.type === "hold") {
        mark("child set up, held");
        await starting;
        opts.record?.(forked ?? pid);
        mark("state recorded");
        sendGo(sock, forked ?? pid);
      }
      else if (m.type === "seccomp") {
        const self = forked ?? pid;
        if (m.fd < 0) throw new BunkerError("the seccomp listener did not come with its message", { errno: "EPROTO" });
        try {
          if (!opts.seccompListener) throw new BunkerError("the seccomp filter notifies, but nothing takes its listener", { errno: "EINVAL", fix: "set linux.seccomp.listenerPath" });
          opts.seccompListener(m.fd, self);
        } finally {
          closeSync(m.fd);
        }
        sendGo(sock, self);
      } else if (m.type === "note") opts.debug?.(`${describeOp(plan.ops[m.op])}: pivot_root gave EINVAL (initramfs root?): used MS_MOVE + chroot`);
      else if (m.type === "error") {
        // reap it: it exits right after reporting (after a fork, the intermediate
        // first; the forked process is then ours when we are a subreaper)
        supervise(pid, -1, false);
        if (forked) reapIfOurs(forked);
        throw childError(plan.ops[m.op], m);
      } else if (m.type === "ready" && opts.untilReady) {
        mark("child set up, waits on exec.fifo");
        break;
      }
      else if (m.type === "eof") {
        mark("child set up, exec'd");
        break;
      }
    }
    if (secondGo) {
      // the intermediate cloned the container's first process into the new pid
      // namespace as our child (CLONE_PARENT), or forked it into a joined one, reported it and exited
      reap(pid);
      if (!forked) throw new BunkerError("the container process did not start in its pid namespace", { errno: "ECHILD" });
      return { pid: forked, pty };
    }
  } catch (e) {
    for (const p of [pid, forked]) {
      if (!p) continue;
      try {
        process.kill(p, "SIGKILL");
        supervise(p, -1, false);
      } catch {
        /* already reaped */
      }
    }
    if (pty >= 0) closeSync(pty);
    throw e;
  } finally {
    closeSync(sock);
  }
  return { pid, pty };
}

function reapIfOurs(pid: number) {
  try {
    supervise(pid, -1, false);
  } catch {
    /* not our child (no subreaper): our caller's subreaper reaps it */
  }
}

/** clone() failed: explain the usual rootless causes */
function explainCloneFailure(e: BunkerError, flags: number): BunkerError {
  const err = e.errnoName;
  if (!(flags & CLONE_NEWUSER) || !["EPERM", "EACCES", "ENOSPC", "EUSERS", "EINVAL"].includes(err ?? "")) return e;
  const b = usernsBlocker();
  return new BunkerError("cannot create a user namespace", { errno: err, path: b?.path, fix: b?.fix ?? "check that user namespaces are enabled for unprivileged users" });
}

/** the sysctl that forbids unprivileged user namespaces, if one does */
export function usernsBlocker(): { path: string; fix: string } | undefined {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  if (read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1")
    return { path: "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", fix: "AppArmor blocks user namespaces: sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0 (or add an AppArmor profile allowing userns for bunker)" };
  if (read("/proc/sys/kernel/unprivileged_userns_clone") === "0")
    return { path: "/proc/sys/kernel/unprivileged_userns_clone", fix: "sudo sysctl kernel.unprivileged_userns_clone=1" };
  if (read("/proc/sys/user/max_user_namespaces") === "0")
    return { path: "/proc/sys/user/max_user_namespaces", fix: "sudo sysctl user.max_user_namespaces=15000" };
  return undefined;
}

export function describeOp(op: Op | undefined): string {
  if (!op) return "container setup";
  switch (op.op) {
    case "rootfs": return op.mount ? `mount the ${op.mount.fstype} root at ${op.path}` : `bind the rootfs ${op.path}`;
    case "mount": return op.fstype ? `mount ${op.fstype} on ${op.target}` : `set propagation of ${op.target}`;
    case "bind": return `bind mount ${op.source} on ${op.target}`;
    case "symlink": return `create symlink ${op.link}`;
    case "pivot": return "pivot_root into the rootfs";
    case "setattr": return `change mount attributes of ${op.path}`;
    case "mask": return `mask ${op.path}`;
    case "hostname": return `set hostname "${op.name}"`;
    case "domainname": return `set domainname "${op.name}"`;
    case "lo-up": return "bring up the loopback interface";
    case "chdir": return `change to working directory ${op.path}`;
    case "rlimit": return `set ${rlimitName(op.resource) ?? `rlimit ${op.resource}`} to ${limitText(op.soft)}:${limitText(op.hard)}`;
    case "user": return `switch to user ${op.uid}:${op.gid}`;
    case "caps": return "set capabilities";
    case "lock": return "lock the mounts in a nested user namespace";
    case "nnp": return "set no_new_privs";
    case "nondumpable": return "make the process non-dumpable";
    case "hold": return "wait for the network";
    case "mknod": return `create device ${op.path}`;
    case "seccomp": return "load the seccomp filter";
    case "pty": return "open the container's terminal";
    case "setsid": return "start a new session";
    case "fifo-open": return `open ${op.path}`;
    case "fifo-wait": return "wait for start";
    case "write": return `write ${op.path}`;
    case "umask": return "set umask";
    case "close-fds": return "close file descriptors";
    case "stdin-null": return "redirect stdin";
    case "init": return "start the init process";
    case "setns": return op.nstype === CLONE_NEWUSER && op.path.startsWith("/proc/self/fd/") ? "join bunker's shared user namespace" : `join namespace ${op.path}`;
    case "fork": return "fork into the pid namespace";
    case "pdeathsig": return "tie the container to bunker's life";
    case "stdio": return `make fds ${op.stdin}, ${op.stdout}, ${op.stderr} the standard input, output and error`;
    case "exit-file": return `open ${op.path}`;
    case "copyup-open": return `open ${op.path} to copy it into the tmpfs or new volume mounted there`;
    case "copyup": return op.root ? `copy the image's ${op.path} into the new volume mounted there` : `copy the contents of ${op.path} into its tmpfs (tmpcopyup)`;
    case "hook": return `run hooks.startContainer[${op.index}] ${op.path}`;
    case "exec": return `exec ${op.file}`;
    case "chown-tree": return `give the files under ${op.path} the image's owners`;
    case "copy-layers": return `copy the image's layers into ${op.dest}`;
    case "remove-tree": return `remove ${op.path}`;
    case "dup": return `make fd ${op.fd} the helper's fd ${op.to}`;
    case "chdir-in-root": return `open ${op.path} in the container`;
    case "copy-into": return `copy into ${op.path} in the container`;
  }
}

/** a store plan (no container, no exec: src/plan/store.ts) run to its end, in a user namespace with MAPS when it makes one */
export async function runStorePlan(plan: Plan, maps: IdMaps | undefined): Promise<void> {
  const c = await launch(plan, { maps });
  const st = supervise(c.pid, -1, false);
  const op = plan.ops[plan.ops.length - 1];
  if (st.code !== 0) throw new BunkerError(`cannot ${describeOp(op)}: its process ended with ${st.signal ? `signal ${st.signal}` : `status ${st.code}`}`, { errno: "EIO", path: op && ("path" in op ? op.path : "dest" in op ? op.dest : undefined) });
}

function limitText(v: bigint): string {
  return v === RLIM_INFINITY ? "unlimited" : String(v);
}

/** the step an op failed at, as the message shows it: " (setresgid)", " (PR_CAPBSET_DROP 21)"; "" when unnamed */
function stepText(f: Pick<ChildFailure, "step" | "arg">): string {
  const name = stepName(f.step);
  if (!name) return "";
  return f.arg && (name === "PR_CAPBSET_DROP" || name === "PR_CAP_AMBIENT_RAISE" || name === "F_SETFD" || name === "merge layer") ? ` (${name} ${f.arg})` : ` (${name})`;
}

/** the child's {op, errno, step} as the user's one line */
export function childError(op: Op | undefined, f: Omit<ChildFailure, "op">): BunkerError {
  const { errno } = f;
  const step = stepName(f.step);
  if (op?.op === "exec") {
    const notFound = errno === 2 || errno === 20;
    const what = notFound
      ? `exec "${op.file}": executable file not found${op.file.includes("/") ? "" : " in $PATH"}`
      : `exec "${op.file}": cannot execute`;
    return new BunkerError(what, { errno, path: op.file, exitCode: notFound ? 127 : 126, fix: notFound ? "check the command and the image's PATH" : undefined });
  }
  if (op?.op === "bind" && step === "open source")
    return new BunkerError(`cannot ${describeOp(op)}`, { errno, path: op.source, fix: errno === 2 ? "the source must exist on the host" : undefined });
  if (op?.op === "bind") return new BunkerError(`cannot ${describeOp(op)}${stepText(f)}`, { errno, path: op.target });
  if (op?.op === "mount" && step === "target is a symlink")
    return new BunkerError(`cannot ${describeOp(op)}: it is a symlink in the rootfs`, { errno, path: op.target, fix: `make ${op.target} a directory in the rootfs` });
  // a one-id map (--userns=single) shows the image's other owners' private files as nobody's
  if ((op?.op === "copyup-open" || op?.op === "copyup") && errno === 13)
    return new BunkerError(`cannot ${describeOp(op)}${stepText(f)}: the container's root cannot read it (an owner its user namespace does not map)`, { errno, path: op.path, fix: "run with --userns=auto (the image's owners mapped; needs /etc/subuid), or start the volume empty: -v NAME:PATH:nocopy (--mount ...,volume-nocopy)" });
  if (op?.op === "user" && errno === 22)
    return new BunkerError(`cannot ${describeOp(op)}${stepText(f)}: not mapped in the user namespace`, { errno, fix: "use --userns=auto (needs /etc/subuid) to map more ids" });
  // raising a hard limit needs CAP_SYS_RESOURCE (root of a container runtime may lack it, as on a
  // machine that runs bunker in a container itself), and RLIMIT_NOFILE cannot pass fs.nr_open
  if (op?.op === "rlimit" && errno === 1)
    return new BunkerError(`cannot ${describeOp(op)}`, { errno, path: "process.rlimits", fix: "a hard limit above bunker's own (/proc/self/limits) needs CAP_SYS_RESOURCE, RLIMIT_NOFILE at most fs.nr_open: ask for less (podman: --ulimit host, docker: --ulimit)" });
  if (op?.op === "rootfs" && errno === 1) {
    const b = usernsBlocker();
    return new BunkerError(`cannot ${describeOp(op)}${stepText(f)}`, { errno, path: b?.path ?? op.path, fix: b?.fix });
  }
  const path = op && "path" in op ? (op as { path: string }).path : op && "target" in op ? (op as { target: string }).target : undefined;
  return new BunkerError(`cannot ${describeOp(op)}${stepText(f)}`, { errno, path });
}
