// Parsing of cgroup v2 statistics files into numbers (pure).

export interface Stats {
  memory?: {
    current: number;
    /** memory.peak (Linux 5.19+) */
    peak?: number;
    /** memory.max: bytes or "max" */
    max: number | "max";
    /** memory.events: low, high, max, oom, oom_kill, oom_group_kill */
    events: Record<string, number>;
    /** a few memory.stat fields: anon, file, kernel, sock, shmem */
    stat: Record<string, number>;
  };
  cpu: {
    usageUsec: number;
    userUsec: number;
    systemUsec: number;
    nrPeriods?: number;
    nrThrottled?: number;
    throttledUsec?: number;
  };
  pids?: { current: number; max: number | "max"; peak?: number };
  io?: { rbytes: number; wbytes: number; rios: number; wios: number };
}

/** "key value" lines (cpu.stat, memory.events, memory.stat, cgroup.events). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp > 0) out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

/** A single-value file: a number, or "max". */
export function parseLimit(text: string): number | "max" {
  const t = text.trim();
  return t === "max" ? "max" : Number(t);
}

/** io.stat: sums every device's rbytes/wbytes/rios/wios. */
export function parseIoStat(text: string): NonNullable<Stats["io"]> {
  const sum = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
  for (const line of text.split("\n")) {
    for (const kv of line.split(" ").slice(1)) {
      const [k, v] = kv.split("=");
      if (k && k in sum) sum[k as keyof typeof sum] += Number(v);
    }
  }
  return sum;
}

/** memory.max for messages: 67108864 -> "64M" (the unit `--memory` takes), "max" stays. */
export function formatBytes(n: number | "max"): string {
  if (n === "max") return "max";
  for (const [u, s] of [["G", 30], ["M", 20], ["K", 10]] as const) {
    if (n >= 2 ** s && n % 2 ** s === 0) return `${n / 2 ** s}${u}`;
  }
  return String(n);
}
