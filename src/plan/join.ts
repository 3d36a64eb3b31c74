// Plans that join a container's existing namespaces: OCI namespaces[].path at
// create, `exec` into a running container, and the shared user namespace's
// holder.  Pure: which namespaces differ from ours is looked up by the caller
// (src/container) and comes in as data.
import { findOf, someOf } from "../loops.ts";
import type { Spec } from "../oci/spec.ts";
import { namespaceByProc, namespaceKind } from "./namespaces.ts";
import * as K from "./types.ts";
import type { Op, Plan, Stdio } from "./types.ts";


/**
 * PLAN (of SPEC) joins the namespaces SPEC gives by path, before anything
 * else in the child (a user namespace by path is joined first of all,
 * through the plan's joinUserns, so that the new namespaces belong to it); a
 * joined pid namespace takes effect for children: a fork follows, whose
 * process waits until create has recorded its pid
 */
export function withSpecJoins(plan: Plan, spec: Spec): Plan {
  const namespaces = spec.linux?.namespaces ?? [];
  // plain loops (src/loops.ts): filter, map, some and find are builtins written in JavaScript, their first call costs
  const ops: Op[] = [];
  let pid = false;
  for (const n of namespaces) {
    if (!n.path || n.type === "user") continue;
    const nstype = namespaceKind(n.type).flag;
    ops.push({ op: "setns", path: n.path, nstype });
    pid ||= nstype === K.CLONE_NEWPID;
  }
  if (pid) ops.push({ op: "fork", waitGo: true });
  return { ...plan, ops: [...ops, ...plan.ops], joinUserns: findOf(namespaces, (n) => n.type === "user" && !!n.path)?.path };
}

/** a namespace of the container's init, by its /proc/PID/ns name */
export interface NamespaceToJoin {
  /** /proc/PID/ns/ name: ipc, uts, net, cgroup, pid, mnt, user */
  name: string;
  path: string;
}


/**
 * the order exec joins in: user first (it grants the rights to join the
 * others), mnt last (after it, /proc is the container's).  A container whose
 * mounts are locked runs in a user namespace nested in the one that owns its
 * pid, ipc and cgroup namespaces: its parent is joined first (execOps), the
 * nested one just before mnt.
 */
export function execJoinOrder(locked: boolean): string[] {
  const order = ["ipc", "uts", "net", "cgroup", "pid", "mnt"];
  order.splice(locked ? 5 : 0, 0, "user");
  return order;
}

export interface ExecJoin {
  /** the container's init, whose namespaces are joined */
  initPid: number;
  /** its mounts are locked (a nested user namespace, src/plan/build.ts lockOp) */
  locked: boolean;
  /** the namespaces of the init that are not ours, in execJoinOrder */
  differ: NamespaceToJoin[];
  terminal?: { rows: number; cols: number };
  /** without a terminal: its stdio as fds of bunker's (an API server's pipes); else bunker's own */
  stdio?: Stdio;
  /** the process's ops (processOps) */
  process: Op[];
}

/** exec: a new process in every namespace of the container */
export function execPlan(j: ExecJoin): Plan {
  // first: the process becomes visible in the container once it has joined its pid namespace,
  // and until execve it is bunker's executable (CVE-2019-5736): nothing inside may open its /proc/PID/exe
  const ops: Op[] = [{ op: "nondumpable" }];
  if (j.locked) ops.push({ op: "setns", path: `/proc/${j.initPid}/ns/user`, nstype: K.CLONE_NEWUSER, parent: true });
  for (const ns of j.differ) ops.push({ op: "setns", path: ns.path, nstype: namespaceByProc(ns.name).flag });
  // the forked process waits for a second go: its pid (BK_MSG_PID, sent by the intermediate) reaches
  // us before it can send anything of its own (a seccomp listener must be told its pid)
  if (someOf(j.differ, (ns) => ns.name === "pid")) ops.push({ op: "fork", waitGo: true });
  if (j.terminal) ops.push({ op: "pty", ...j.terminal });
  else ops.push({ op: "setsid" });
  if (j.stdio && !j.terminal) ops.push({ op: "stdio", ...j.stdio });
  ops.push(...j.process);
  return { cloneFlags: 0, ops };
}

/**
 * the shared user namespace's holder: a new user namespace, forked once more
 * so it is nobody's child (the intermediate exits), the monitor (a sealed
 * memfd, fd EXE) exec'd in --hold-userns mode
 */
export function usernsHolderPlan(exe: number): Plan {
  return {
    cloneFlags: K.CLONE_NEWUSER,
    ops: [
      { op: "fork" },
      { op: "exec", file: `/proc/self/fd/${exe}`, args: ["bunker-userns", "--hold-userns"], env: [] },
    ],
  };
}

/**
 * a user network's holder (src/container/network.ts): a new network
 * namespace, in bunker's shared user namespace USERNS when given (rootless:
 * the containers' network namespaces are owned by it too, so veth pairs can
 * join them), else in a new user namespace (root: pasta, which drops its
 * capabilities, can enter only a namespace owned by one it gets them in),
 * forked so it is nobody's child, the monitor (fd EXE) exec'd in
 * --hold-netns mode
 */
export function netnsHolderPlan(exe: number, userns: string | undefined): Plan {
  return {
    cloneFlags: K.CLONE_NEWNET | (userns ? 0 : K.CLONE_NEWUSER),
    joinUserns: userns,
    ops: [
      { op: "fork" },
      { op: "exec", file: `/proc/self/fd/${exe}`, args: ["bunker-netns", "--hold-netns"], env: [] },
    ],
  };
}
