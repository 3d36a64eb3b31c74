// The last touches a plan gets before it is encoded (src/sys/launch.ts):
// the shared user namespace's setns as the first op, the monitor's memfd for
// an init or an exec.fifo wait, CLONE_VM where the child exec's.
import * as K from "./types.ts";
import type { Plan } from "./types.ts";
import { mapOf, someOf } from "../loops.ts";

/**
 * an init exec's the small monitor program, so it does not keep a copy of
 * bunker; so does create's wait on exec.fifo (without startContainer hooks,
 * which run in the shim after it), so that a process exec'd into the created
 * container never sees bunker's executable as PID 1
 */
export function needsMonitorExe(plan: Plan): boolean {
  return someOf(plan.ops, (o) => o.op === "init") || (someOf(plan.ops, (o) => o.op === "fifo-wait") && !someOf(plan.ops, (o) => o.op === "hook"));
}

/** joining a user namespace: its setns is the first op (error reports index the ops as encoded) */
export function withJoinedUserns(plan: Plan): Plan {
  if (!plan.joinUserns) return plan;
  return { ...plan, ops: [{ op: "setns", path: plan.joinUserns, nstype: K.CLONE_NEWUSER }, ...plan.ops] };
}

/** the init or fifo-wait op exec's the monitor from fd EXE (-1: none) */
export function withMonitorExe(plan: Plan, exe: number): Plan {
  if (exe < 0) return plan;
  return { ...plan, ops: mapOf(plan.ops, (o) => (o.op === "init" || o.op === "fifo-wait" ? { ...o, exe } : o)) };
}

/**
 * The shim clones with CLONE_VM (no copy of bunker's page tables) unless the
 * child lives on without exec'ing: an --init stays PID 1 and must not share
 * (and write errno into) the memory of a bunker that keeps running.  Nor when
 * KEEP_DUMPABLE (a process that goes on launching others: bunker serve) and
 * the plan has a nondumpable op: PR_SET_DUMPABLE is the memory's (the mm's),
 * so a child sharing it would make the caller non-dumpable for good, and
 * every later child would start so (its /proc/PID/ns closed to the network
 * helpers it needs).
 */
export function withSharedMemory(plan: Plan, keepDumpable = false): Plan {
  if (someOf(plan.ops, (o) => o.op === "init")) return plan;
  if (keepDumpable && someOf(plan.ops, (o) => o.op === "nondumpable")) return plan;
  return { ...plan, cloneFlags: plan.cloneFlags | K.CLONE_VM };
}
