// What /proc says of a process.
import { readFileSync } from "node:fs";

/** PID's start time (field 22 of /proc/PID/stat): with the pid, it names one process; undefined when gone or a zombie */
export function pidStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return undefined; // a zombie has exited
    return rest[19];
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
