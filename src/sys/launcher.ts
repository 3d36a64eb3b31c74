// The one way the engine (src/container) starts and waits for processes:
// spawn the shim with a Plan (clone, id maps, cgroup, release), wait for a
// process, hand it to the monitor, route bunker's signals to it.  The real
// implementation is here; tests/lib/launcher-fake.ts records the calls
// instead, so create/start/exec/run are unit-tested without privileges
// (youki's Syscall trait and its test double are the model).
import type { Plan } from "../plan/types.ts";
import { launch, type Launched, type LaunchOptions } from "./launch.ts";
import { becomeMonitor, type MonitorJob } from "./monitor.ts";
import { becomeSubreaper, forwardSignals, supervise, type ExitStatus } from "./shim.ts";

export interface Launcher {
  /** clone the shim's child for PLAN, write its maps, join its cgroup, release it (src/sys/launch.ts) */
  launch(plan: Plan, opts: LaunchOptions): Promise<Launched>;
  /** wait for PID (our child, or ours as subreaper), relaying PTY (-1: none) and stdin */
  wait(pid: number, pty: number, relayStdin: boolean): ExitStatus;
  /** replace this process by the small monitor that waits for JOB.pid; returns -errno when it could not exec */
  becomeMonitor(job: MonitorJob, bunker: string): number;
  /** from now on, bunker's signals (INT, TERM, HUP, …) are queued for the container's process */
  forwardSignals(): void;
  /** orphans of this process are re-parented to it (a process forked into a pid namespace) */
  becomeSubreaper(): void;
  /** SIGKILL PID, a child whose set-up failed after launch */
  kill(pid: number): void;
}

export const realLauncher: Launcher = {
  launch,
  wait: supervise,
  becomeMonitor,
  forwardSignals,
  becomeSubreaper,
  kill(pid) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  },
};
