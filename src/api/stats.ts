// GET /containers/ID/stats: the container's cgroup numbers (src/cgroup) in
// Docker's shape, one object (stream=false) or one a second.  A container
// without a cgroup has no numbers of its own: Docker's zeros, and a
// BunkerNote saying why — never the host's or another process's numbers.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { RuntimeContext } from "../container/context.ts";
import { stats } from "../container/cgroup.ts";
import { containerStatus } from "../container/state.ts";
import type { Stats } from "../cgroup/stats.ts";
import { BunkerError } from "../errors.ts";
import { jsonResponse } from "./errors.ts";
import { boolParam, type ApiRequest } from "./server.ts";

/** the host's CPU time in ns (/proc/stat's cpu line, in USER_HZ = 100 ticks a second): Docker's system_cpu_usage */
function systemCpuNs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  return line.trim().split(/\s+/).slice(1, 8).reduce((n, f) => n + Number(f), 0) * 1e7;
}

const limitOf = (v: number | "max" | undefined) => (v === undefined || v === "max" ? 0 : v);

function cpuStats(s: Stats | undefined) {
  return {
    cpu_usage: { total_usage: (s?.cpu.usageUsec ?? 0) * 1000, usage_in_kernelmode: (s?.cpu.systemUsec ?? 0) * 1000, usage_in_usermode: (s?.cpu.userUsec ?? 0) * 1000 },
    system_cpu_usage: systemCpuNs(),
    online_cpus: availableParallelism(),
    throttling_data: { periods: s?.cpu.nrPeriods ?? 0, throttled_periods: s?.cpu.nrThrottled ?? 0, throttled_time: (s?.cpu.throttledUsec ?? 0) * 1000 },
  };
}

/** the container's stats, or undefined and why when it has no cgroup */
function sample(ctx: RuntimeContext, id: string): { stats?: Stats; note?: string } {
  try {
    return { stats: stats(ctx, [id])[0]!.stats };
  } catch (e) {
    if (e instanceof BunkerError && e.errnoName === "EOPNOTSUPP") return { note: e.format().replace(/^bunker: /, "") };
    throw e;
  }
}

function statsJson(id: string, now: { stats?: Stats; note?: string }, pre: ReturnType<typeof cpuStats> | undefined, preread: string): { doc: Record<string, unknown>; cpu: ReturnType<typeof cpuStats> } {
  const s = now.stats;
  const cpu = cpuStats(s);
  const io = s?.io;
  return {
    cpu,
    doc: {
      read: new Date().toISOString(),
      preread,
      pids_stats: { current: s?.pids?.current ?? 0, limit: limitOf(s?.pids?.max) },
      blkio_stats: { io_service_bytes_recursive: io ? [{ major: 0, minor: 0, op: "read", value: io.rbytes }, { major: 0, minor: 0, op: "write", value: io.wbytes }] : null },
      num_procs: 0,
      cpu_stats: cpu,
      precpu_stats: pre ?? { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
      memory_stats: s?.memory ? { usage: s.memory.current, limit: limitOf(s.memory.max), stats: s.memory.stat } : {},
      name: `/${id}`,
      id,
      ...(now.note ? { BunkerNote: now.note } : {}),
    },
  };
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** stream=false: one object (one-shot=true: without the second sample a CPU percentage needs); else one a second while it runs */
export async function containerStats(ctx: RuntimeContext, id: string, { url }: ApiRequest): Promise<Response> {
  if (!containerStatus(ctx.stateRoot, id).state) throw new BunkerError(`container "${id}" is being created`, { errno: "EBUSY" });
  const stream = url.searchParams.get("stream") === null || boolParam(url, "stream");
  if (!stream) {
    let pre: ReturnType<typeof cpuStats> | undefined;
    let preread = ZERO_TIME;
    if (!boolParam(url, "one-shot")) {
      pre = cpuStats(sample(ctx, id).stats);
      preread = new Date().toISOString();
      await Bun.sleep(1000);
    }
    return jsonResponse(statsJson(id, sample(ctx, id), pre, preread).doc);
  }
  let pre: ReturnType<typeof cpuStats> | undefined;
  let preread = ZERO_TIME;
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(c) {
        if (pre) await Bun.sleep(1000);
        if (containerStatus(ctx.stateRoot, id).status !== "running") return c.close();
        const { doc, cpu } = statsJson(id, sample(ctx, id), pre, preread);
        pre = cpu;
        preread = doc.read as string;
        c.enqueue(enc.encode(JSON.stringify(doc) + "\n"));
      },
    }),
    { headers: { "Content-Type": "application/json" } },
  );
}
