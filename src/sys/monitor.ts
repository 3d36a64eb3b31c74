// Hand a running foreground container to the monitor (c/monitor.c): bunker's
// Bun process is replaced by a small static program under the same pid, so
// what stays while the container runs costs about 0.1 MB instead of 40.
import { execMonitor } from "./shim.ts";

export interface MonitorJob {
  pid: number;
  /** pty master to relay, or -1 */
  pty: number;
  /** relay stdin to the pty */
  stdin: boolean;
  /** the state dir, removed when the container exits (a foreground run) */
  dir?: string;
  /** the container's cgroup, removed (and an OOM kill reported) when it exits */
  cgroup?: string;
  /** bunker __finish removes the state dir: it has anonymous volumes to remove too */
  finishAlways?: boolean;
}

/** the monitor's arguments (see the comment at the top of c/monitor.c) */
export function monitorArgs(job: MonitorJob, bunker: string): string[] {
  const args = ["bunker-monitor", `--pid=${job.pid}`];
  if (job.dir) args.push(`--dir=${job.dir}`, `--finish=${bunker}`);
  if (job.dir && job.finishAlways) args.push("--finish-always");
  if (job.pty >= 0) args.push(`--pty=${job.pty}`);
  if (job.stdin) args.push("--stdin");
  if (job.cgroup) args.push(`--cgroup=${job.cgroup}`);
  return args;
}

/**
 * Does not return when it worked.  When it could not exec (a kernel that
 * forbids executable memfds, vm.memfd_noexec=2), returns the -errno so the
 * caller supervises in-process as before.  BUNKER: bunker's executable (the
 * monitor hands a finished foreground run back to it: __finish).
 */
export function becomeMonitor(job: MonitorJob, bunker: string): number {
  return execMonitor(monitorArgs(job, bunker), job.pty);
}
