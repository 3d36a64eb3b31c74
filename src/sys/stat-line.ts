// /proc/PID/stat's fields, for readers with or without node:fs (src/sys/proc.ts, src/container/state-read.ts).

/** a /proc/PID/stat line's start time (field 22): with the pid, it names one process; undefined for a zombie (it has exited) */
export function statStartTime(stat: string): string | undefined {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return undefined;
  return rest[19];
}
