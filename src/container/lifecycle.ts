// OCI lifecycle: create (set up, wait on exec.fifo), start, kill, delete, exec.
import { parseSignal } from "../sys/signals.ts";
import { markStoppedByUser } from "./restart-policy.ts";
// kill's event straight from the events log, not through stop.ts: that module brings rm's code
// (volumes, the log writer) into every OCI create
import { containerEventAttributes, recordEvent } from "../events.ts";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "../sys/fs-sync.ts";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import type { Process, Spec } from "../oci/spec.ts";
import { processOps } from "../plan/build.ts";
import { execJoinOrder, execPlan, type NamespaceToJoin } from "../plan/join.ts";
import { exitCode, sendPty } from "../sys/shim.ts";
import { realLauncher } from "../sys/launcher.ts";
import type { Launched } from "../sys/launch.ts";
import type { Stdio } from "../plan/types.ts";
import { errnoName } from "../sys/errno.ts";
import { seccompAgent } from "./seccomp-agent.ts";
import { writePidFile, type ContainerState, isAlive, loadExisting, status, containerDir, statePayload } from "./state.ts";
import { start } from "./oci-start.ts";
import { deleteContainer } from "./delete.ts";
import { processContext } from "./process.ts";
import { capsContext } from "./caps-context.ts";
import { defaultFilter } from "../oci/default-filter.ts";
import { containerRoot, readInRoot, withHome } from "./home.ts";
import { homeOf, resolveUser, type ResolvedUser } from "../oci/user.ts";
import { DEFAULT_PATH } from "../oci/run-spec.ts";
import { CAPABILITIES, normalizeCapName } from "../oci/caps.ts";
import { recordSignalExit } from "./exit-record.ts";
import { containerProcesses, ownsPidNamespace, signalContainer, SIGKILL } from "./kill.ts";

import { create, type CreateRequest } from "./oci-create.ts";
export { create, type CreateRequest };

export { start, deleteContainer };

/** runc's run: create and start; in the foreground, wait for the process and delete the container (unless KEEP) */
export async function ociRun(ctx: RuntimeContext, o: CreateRequest & { detach: boolean; keep: boolean }): Promise<number> {
  const launcher = ctx.launcher ?? realLauncher;
  if (!o.detach) {
    launcher.forwardSignals();
    // a container that joins a pid namespace is forked by an intermediate that exits: it is re-parented to us
    launcher.becomeSubreaper();
  }
  // process.terminal without --console-socket: runc proxies its own terminal to the container's
  let pty = -1;
  const state = await create(ctx, !o.detach && !o.consoleSocket ? { ...o, onPty: (fd) => (pty = fd) } : o);
  try {
    await start(ctx, o.id);
  } catch (e) {
    // a run that failed leaves nothing behind (runc's run deletes it too)
    await deleteContainer(ctx, o.id, true).catch(() => {});
    throw e;
  }
  if (o.detach) return 0;
  // the container's process is our child: wait for it, forwarding signals (and the terminal)
  const st = launcher.wait(state.pid, pty, pty >= 0);
  if (!o.keep) await deleteContainer(ctx, o.id, true);
  return exitCode(st);
}

/**
 * pids of the container's processes, for `ps ID`: every process of its cgroup,
 * or of the pid namespace its init is PID 1 of (processes `exec` added are not
 * the init's descendants), else the init and its descendants.  Listing only:
 * what is signalled is chosen by src/container/kill.ts.
 */
export function containerPids(state: ContainerState): number[] {
  let ns: string | undefined;
  try {
    if (!state.cgroup && isAlive(state) && ownsPidNamespace(state.pid)) ns = readlinkSync(`/proc/${state.pid}/ns/pid`);
  } catch {
    /* the init is gone */
  }
  if (ns) {
    const pids: number[] = [];
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (readlinkSync(`/proc/${e}/ns/pid`) === ns) pids.push(Number(e));
      } catch {
        /* gone, or not ours */
      }
    }
    return pids.sort((a, b) => a - b);
  }
  return containerProcesses(state).map((p) => p.pid).sort((a, b) => a - b);
}

export function killContainer(ctx: RuntimeContext, id: string, signal: number, all: boolean): void {
  const { state } = loadExisting(ctx.stateRoot, id);
  // as Docker's: KILL or its stop signal cancels its restart policy
  if (state.run && (signal === SIGKILL || signal === parseSignal(state.run.stopSignal))) markStoppedByUser(containerDir(ctx.stateRoot, id));
  signalContainer(state, signal, all);
  if (state.run) recordEvent(ctx.dataRoot, "container", "kill", state.id, { ...containerEventAttributes(state.id, state.run.image, state.run.labels), signal: String(signal) });
  // the one signal an init cannot pass on to its command: nobody inside is left to record the exit
  if (signal === SIGKILL) recordSignalExit(containerDir(ctx.stateRoot, id), state, signal);
}

/** exec's command given as flags (docker's and runc's exec without --process): the rest comes from the container's process */
export interface ExecCommand {
  args: string[];
  /** added to the container's environment */
  env: string[];
  cwd?: string;
  /** docker's -u: USER[:GROUP], names or ids, through the container's own /etc/passwd and /etc/group */
  user?: string;
  /** runc's --additional-gids, after the user's own supplementary groups */
  additionalGids: number[];
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  noNewPrivileges: boolean;
}

export interface ExecRequest {
  id: string;
  /** runc's --process FILE: the whole process */
  process?: Process;
  /** otherwise a command, completed from the container's own process */
  command?: ExecCommand;
  /** runc's --cap: added to the process's capability sets */
  addCaps?: string[];
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
}

/**
 * exec's -u USER (Docker's forms: name, uid, name:group, uid:gid, ...)
 * through the container's own /etc/passwd and /etc/group, read inside its
 * root (symlinks resolved there), with the user's supplementary groups
 * (none where the container's user namespace denies setgroups) and home.
 * A user or group it does not define is Docker's exit status 126.
 */
function execUser(state: ContainerState, user: string, root: string | undefined, passwd: string | undefined): ResolvedUser {
  let u: ResolvedUser;
  try {
    u = resolveUser(user, { passwd, group: root ? readInRoot(root, "/etc/group") : undefined, of: "the container" });
  } catch (e) {
    if (e instanceof BunkerError && e.errnoName === "ENOENT") throw new BunkerError(e.message, { ...e.detail, path: "/etc/passwd", exitCode: 126 });
    throw e;
  }
  let setgroups = "allow";
  try {
    setgroups = readFileSync(`/proc/${state.pid}/setgroups`, "utf8").trim();
  } catch {
    /* a kernel without the file: setgroups is allowed */
  }
  return setgroups === "deny" ? { ...u, additionalGids: [] } : u;
}

/** the process an exec runs: the request's, or its command on top of the container's process */
function execProcess(state: ContainerState, req: ExecRequest): Process {
  let proc: Process;
  if (req.process) proc = req.process;
  else {
    const cmd = req.command!;
    const base = state.process;
    const root = containerRoot(state.pid, state.rootfs);
    const passwd = cmd.user === undefined || !root ? undefined : readInRoot(root, "/etc/passwd");
    const user = cmd.user === undefined ? undefined : execUser(state, cmd.user, root, passwd);
    const uid = user?.uid ?? base?.user.uid ?? 0;
    const gid = user?.gid ?? base?.user.gid ?? 0;
    // HOME as runc gives it, the user's own: a run container's environment has its own user's
    // (src/oci/run-spec.ts), which an exec as another user does not keep
    const runHome = state.run && user && base ? `HOME=${(passwd && homeOf(passwd, base.user.uid)) || (base.user.uid === 0 ? "/root" : "/")}` : undefined;
    const env = (base?.env ?? [`PATH=${DEFAULT_PATH}`]).filter((e) => e !== runHome);
    if (user?.home && !env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${user.home}`);
    env.push(...cmd.env);
    proc = {
      ...base,
      terminal: cmd.terminal,
      consoleSize: cmd.consoleSize,
      args: cmd.args,
      env,
      cwd: cmd.cwd ?? base?.cwd ?? "/",
      user: { ...(base?.user ?? {}), uid, gid, additionalGids: [...new Set([...(user?.additionalGids ?? []), ...cmd.additionalGids])] },
      noNewPrivileges: cmd.noNewPrivileges || base?.noNewPrivileges,
    };
    // a `bunker run` container confines as Docker: a non-root user holds no capabilities (the bounding set stays)
    if (state.run && uid !== 0 && proc.capabilities) proc.capabilities = { ...proc.capabilities, effective: [], permitted: [] };
  }
  // HOME from the container's passwd when the environment has none (runc)
  proc = { ...proc, env: withHome(proc.env ?? [], containerRoot(state.pid, state.rootfs), proc.user?.uid ?? 0) };
  // runc's --cap: added to the bounding, effective and permitted sets (and ambient when the
  // process has inheritable ones, which ambient needs); a process without a capabilities
  // object has every capability already
  const caps = (req.addCaps ?? []).flatMap((c) => (normalizeCapName(c, "exec --cap") === "ALL" ? CAPABILITIES : [normalizeCapName(c, "exec --cap")]));
  if (caps.length && proc.capabilities) {
    const add = (set: string[] | undefined) => [...new Set([...(set ?? []), ...caps])];
    const c = proc.capabilities;
    proc = { ...proc, capabilities: { ...c, bounding: add(c.bounding), effective: add(c.effective), permitted: add(c.permitted), ...(c.inheritable ? { ambient: add(c.ambient) } : {}) } };
  }
  return proc;
}

/**
 * exec's process started in the container, not waited for: its pid (our
 * child, or ours as a subreaper's after a fork into the pid namespace) and
 * its terminal's master (-1 without one).  STDIO: its stdin, stdout and
 * stderr without a terminal (an API server's pipes); otherwise bunker's own.
 */
export async function startExec(ctx: RuntimeContext, req: ExecRequest, stdio?: Stdio): Promise<Launched> {
  const { dir, state } = loadExisting(ctx.stateRoot, req.id);
  const st = status(dir, state);
  if (st !== "running" && st !== "created") throw new BunkerError(`cannot exec in a container that is ${st}`, { errno: "EINVAL" });
  // after the check: the process's user is read through the container's PID 1, which must be its
  const o = { ...req, process: execProcess(state, req) };
  const locked = !!state.run?.confinement?.mountsLocked;
  const differ: NamespaceToJoin[] = [];
  for (const name of execJoinOrder(locked)) {
    const theirs = `/proc/${state.pid}/ns/${name}`;
    let same = false;
    try {
      same = readlinkSync(theirs) === readlinkSync(`/proc/self/ns/${name}`);
    } catch (e) {
      // a namespace type this kernel lacks; anything else must not let the process run outside the container
      if (errnoCode(e) === "ENOENT" && !existsSync(`/proc/self/ns/${name}`)) continue;
      throw fromSysError(`exec: cannot look up the container's ${name} namespace`, e, { path: theirs, fix: `check that container "${o.id}" is still running (${state.run ? "bunker ps -a" : `bunker state ${o.id}`})` });
    }
    if (!same) differ.push({ name, path: theirs });
  }
  const spec: Spec = { ociVersion: state.ociVersion, process: o.process };
  const plan = execPlan({
    initPid: state.pid,
    locked,
    differ,
    terminal: o.process.terminal ? { rows: o.process.consoleSize?.height ?? 0, cols: o.process.consoleSize?.width ?? 0 } : undefined,
    stdio,
    // the container's seccomp filter applies to what is exec'd in it too (as runc does)
    // (a run's default profile: the filter compiled when bunker was built, as the run loaded it)
    process: processOps(spec, { ...(state.defaultSeccomp ? { ...capsContext(o.process), seccomp: defaultFilter(), seccompFlags: 0 } : processContext(o.process, { seccomp: state.seccomp })), preserveFds: o.preserveFds }),
  });
  return (ctx.launcher ?? realLauncher).launch(plan, {
    debug: ctx.log.debug,
    cgroup: state.cgroup ? { addProcess: (pid) => writeFileSync(`${state.cgroup}/cgroup.procs`, String(pid)) } : undefined,
    // as runc: the exec'd process's own listener, with the container's state (the init's pid)
    seccompListener: seccompAgent(state.seccomp, () => statePayload(state, st), ctx.log.debug),
  });
}

export async function execInContainer(ctx: RuntimeContext, o: ExecRequest): Promise<number> {
  const terminal = !!(o.process ?? o.command)?.terminal;
  if (terminal && o.detach && !o.consoleSocket) throw new BunkerError("exec: -t with -d needs --console-socket", { errno: "EINVAL" });
  const launcher = ctx.launcher ?? realLauncher;
  if (!o.detach) {
    launcher.becomeSubreaper();
    launcher.forwardSignals(); // queued from now on, delivered by the monitor
  }
  const c = await startExec(ctx, o);
  // after a fork into the pid namespace launch reaped the intermediate: the process is ours (subreaper) or our caller's
  const pid = c.pid;
  if (o.pidFile) writePidFile(o.pidFile, pid);
  if (o.detach) {
    if (c.pty >= 0) sendPty(o.consoleSocket!, c.pty);
    return 0;
  }
  // the exec'd process is waited for by the small monitor, not this Bun process (same pid)
  const err = launcher.becomeMonitor({ pid, pty: c.pty, stdin: terminal }, ctx.execPath);
  ctx.log.debug?.(`cannot exec the monitor (${errnoName(-err)}): bunker waits itself`);
  return exitCode(launcher.wait(pid, c.pty, terminal));
}
