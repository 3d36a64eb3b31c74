// A recording Launcher (src/sys/launcher.ts) for unit tests: the engine's
// create/start/exec/run run against it without privileges, no process is
// started or signalled, and the test asserts on the plans and calls it got.
import type { Plan } from "../../src/plan/types.ts";
import type { Launched, LaunchOptions } from "../../src/sys/launch.ts";
import type { Launcher } from "../../src/sys/launcher.ts";
import type { MonitorJob } from "../../src/sys/monitor.ts";
import type { ExitStatus } from "../../src/sys/shim.ts";

export type Call =
  | { name: "launch"; plan: Plan; opts: LaunchOptions }
  | { name: "wait"; pid: number; pty: number; relayStdin: boolean }
  | { name: "becomeMonitor"; job: MonitorJob; bunker: string }
  | { name: "forwardSignals" }
  | { name: "becomeSubreaper" }
  | { name: "kill"; pid: number };

/** ENOSYS: the monitor "could not exec", so the engine waits itself (as on a kernel that forbids executable memfds) */
const MONITOR_UNAVAILABLE = -38;

export class FakeLauncher implements Launcher {
  readonly calls: Call[] = [];

  /** CHILDPID: the pid the "child" gets; STATUS: what waiting for it returns */
  constructor(readonly childPid: number, readonly status: ExitStatus = { code: 0, signal: 0 }) {}

  /** the calls' names, in order */
  get names(): string[] {
    return this.calls.map((c) => c.name);
  }

  /** the plans launched, in order */
  get plans(): Plan[] {
    return this.calls.flatMap((c) => (c.name === "launch" ? [c.plan] : []));
  }

  /** as the real launch: cgroup, hooks before go, what must be ready, the record, in that order */
  async launch(plan: Plan, opts: LaunchOptions): Promise<Launched> {
    this.calls.push({ name: "launch", plan, opts });
    opts.cgroup?.addProcess(this.childPid);
    await opts.beforeGo?.(this.childPid);
    await opts.beforeRecord?.(this.childPid);
    opts.record?.(this.childPid);
    return { pid: this.childPid, pty: -1 };
  }

  wait(pid: number, pty: number, relayStdin: boolean): ExitStatus {
    this.calls.push({ name: "wait", pid, pty, relayStdin });
    return this.status;
  }

  becomeMonitor(job: MonitorJob, bunker: string): number {
    this.calls.push({ name: "becomeMonitor", job, bunker });
    return MONITOR_UNAVAILABLE;
  }

  forwardSignals(): void {
    this.calls.push({ name: "forwardSignals" });
  }

  becomeSubreaper(): void {
    this.calls.push({ name: "becomeSubreaper" });
  }

  kill(pid: number): void {
    this.calls.push({ name: "kill", pid });
  }
}
