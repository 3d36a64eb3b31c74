// A process bunker recorded (pid and /proc/PID/stat start time): alive only while that very process runs.
import { startTime } from "./bunker.ts";

export interface Ref {
  pid: number;
  start: string;
}

export const alive = (r: Ref) => startTime(r.pid) === r.start;

/** true once REF is gone (or a new process has its pid), false after TIMEOUT ms */
export async function gone(r: Ref, timeoutMs = 8000): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await Bun.sleep(50)) if (!alive(r)) return true;
  return false;
}
