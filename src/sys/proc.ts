// What /proc says of a process.
import { readFileSync } from "./fs-sync.ts";
import { statStartTime } from "./stat-line.ts";

/** PID's start time (field 22 of /proc/PID/stat): with the pid, it names one process; undefined when gone or a zombie */
export function pidStartTime(pid: number): string | undefined {
  try {
    return statStartTime(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** whether PID runs, has exited but is not yet waited for (a zombie), or is gone */
export function processState(pid: number): "alive" | "zombie" | "gone" {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const st = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return st === "Z" || st === "X" ? "zombie" : "alive";
  } catch {
    return "gone";
  }
}
