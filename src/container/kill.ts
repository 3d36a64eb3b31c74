// Which processes are a container's, and signalling only those (DESIGN.md's
// first safety rule): the processes of its cgroup when it has one, otherwise
// its init and the init's descendants, found through /proc/PID/task/*/children
// and checked by start time before each signal (a pid may be reused).  Never
// a scan of /proc: a container without a pid namespace of its own shares the
// host's, and nothing else in it is the container's.
import { readdirSync, readFileSync } from "../sys/fs-sync.ts";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { openCgroup } from "../cgroup/index.ts";
import { waitPidExit } from "../sys/shim.ts";
import { isAlive, type ContainerState } from "./state.ts";
import { pidStartTime } from "../sys/proc.ts";

/** a process as it was when it was found: its start time tells a reused pid apart */
export interface Proc {
  pid: number;
  start: string;
}

export const SIGKILL = 9;
const SIGSTOP = 19;

function found(pid: number): Proc | undefined {
  const start = pidStartTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** the children of every thread of PID */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, "latin1").split(" ")) if (c.trim()) out.push(Number(c));
    } catch {
      /* the thread is gone */
    }
  }
  return out;
}

/**
 * ROOT and its descendants, parents first; a process whose pid now names
 * another is left out.  VISIT runs on each before its children are listed
 * (killTree stops it there, so that it forks no more).
 */
export function processTree(root: Proc, visit: (p: Proc) => void = () => {}): Proc[] {
  const out: Proc[] = [];
  const seen = new Set<number>();
  const todo = [root];
  while (todo.length) {
    const p = todo.shift()!;
    if (seen.has(p.pid) || pidStartTime(p.pid) !== p.start) continue;
    seen.add(p.pid);
    out.push(p);
    visit(p);
    for (const c of childrenOf(p.pid)) {
      const f = found(c);
      if (f) todo.push(f);
    }
  }
  return out;
}

/** PID is the init (pid 1) of its innermost pid namespace: a namespace of the container's own */
export function ownsPidNamespace(pid: number): boolean {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "latin1").split("\n").find((l) => l.startsWith("NSpid:"));
    return line?.trim().split(/\s+/).pop() === "1";
  } catch {
    return false;
  }
}

/** sends SIG to P if its pid still names the process that was found; false when it is gone */
export function signalIfSame(p: Proc, sig: number): boolean {
  if (pidStartTime(p.pid) !== p.start) return false;
  try {
    process.kill(p.pid, sig);
    return true;
  } catch (e) {
    if (errnoCode(e) === "ESRCH") return false;
    throw fromSysError(`cannot signal process ${p.pid}`, e);
  }
}

/** signalIfSame, where a process we may not signal (EPERM: a subordinate id's) is skipped, not an error */
function trySignal(p: Proc, sig: number): boolean {
  try {
    return signalIfSame(p, sig);
  } catch {
    return false;
  }
}

function cgroupProcs(path: string): Proc[] | undefined {
  try {
    return openCgroup(path).pids().flatMap((pid) => found(pid) ?? []);
  } catch {
    return undefined; // the cgroup is gone
  }
}

/** every process that provably is the container's (empty when none is left) */
export function containerProcesses(state: ContainerState): Proc[] {
  const inCgroup = state.cgroup ? cgroupProcs(state.cgroup) : undefined;
  if (inCgroup) return inCgroup;
  return isAlive(state) ? processTree({ pid: state.pid, start: state.pidStart }) : [];
}

/**
 * SIGKILL to the init and its descendants in a pid namespace shared with
 * others: each is stopped first, top down, so that none forks or is
 * re-parented out of reach (a killed parent's children go to the host's
 * reaper) between listing and killing.
 */
function killTree(init: Proc): void {
  // one we may not signal (EPERM) is still walked: its children may be ours to stop
  const stopped = processTree(init, (p) => {
    if (trySignal(p, SIGSTOP)) waitStopped(p.pid);
  });
  for (const p of stopped) trySignal(p, SIGKILL);
}

/** until PID's state is "stopped" (or it is gone), at most ~50 ms: a process in the kernel stops on its way out */
function waitStopped(pid: number): void {
  for (let i = 0; i < 50; i++) {
    let st: string | undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      st = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      return;
    }
    if (st === "T" || st === "t" || st === "Z" || st === "X") return;
    Bun.sleepSync(1);
  }
}

/** SIGKILL to every process of the container, without waiting */
export function killAll(state: ContainerState): void {
  if (state.cgroup) {
    try {
      openCgroup(state.cgroup).killAll(); // cgroup.kill: every process, also those outside the pid namespace
    } catch {
      /* the cgroup is gone */
    }
  }
  if (!isAlive(state)) return;
  const init = { pid: state.pid, start: state.pidStart };
  // its own pid namespace: the kernel kills every process in it when its init dies
  if (ownsPidNamespace(state.pid)) trySignal(init, SIGKILL);
  else killTree(init);
}

/** SIGKILL to every process of the container; true once its init is gone */
export function killEverything(state: ContainerState, timeoutMs = 5000): boolean {
  killAll(state);
  return !isAlive(state) || waitPidExit(state.pid, timeoutMs);
}

/** `kill [--all] ID SIGNAL`: the init alone, or every process of the container */
export function signalContainer(state: ContainerState, signal: number, all: boolean): void {
  const alive = isAlive(state);
  if (!all) {
    if (!alive) throw new BunkerError(`container "${state.id}" is not running`, { errno: "ESRCH" });
    signalIfSame({ pid: state.pid, start: state.pidStart }, signal);
    return;
  }
  if (!alive && !state.cgroup)
    throw new BunkerError(`kill --all: container "${state.id}" has no cgroup and its init has exited, so its other processes cannot be told apart from the host's`, {
      errno: "ESRCH",
      fix: `nothing is signalled; ${state.run ? "bunker rm" : "bunker delete"} ${state.id} removes its state`,
    });
  if (signal === SIGKILL) {
    if (!alive && !containerProcesses(state).length) throw new BunkerError(`container "${state.id}" is not running`, { errno: "ESRCH" });
    killAll(state);
    return;
  }
  const procs = containerProcesses(state);
  if (!procs.length) throw new BunkerError(`container "${state.id}" is not running`, { errno: "ESRCH" });
  for (const p of procs) signalIfSame(p, signal);
}
