// bunker stats [--json] ID...: memory, CPU, pids and I/O of running containers.
import { BunkerError } from "../errors.ts";
import { stats } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import { formatBytes, type Stats } from "../cgroup/stats.ts";
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

function row(id: string, s: Stats): string {
  const m = s.memory;
  const mem = m ? `${formatBytes(m.current)} / ${formatBytes(m.max)}${m.peak !== undefined ? ` (peak ${formatBytes(m.peak)})` : ""}` : "-";
  const oom = m ? String((m.events.oom_kill ?? 0) + (m.events.oom_group_kill ?? 0)) : "-";
  const cpu = `${(s.cpu.usageUsec / 1e6).toFixed(3)}s${s.cpu.nrThrottled ? ` (throttled ${s.cpu.nrThrottled}x)` : ""}`;
  const pids = s.pids ? `${s.pids.current} / ${s.pids.max}` : "-";
  const io = s.io ? `${formatBytes(s.io.rbytes)} / ${formatBytes(s.io.wbytes)}` : "-";
  return [id, mem, oom, cpu, pids, io].join("\t");
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["json"], help: "one JSON object per container per line ({\"id\": ..., \"stats\": ...})" }], "stats");
  if (!p.rest.length) throw new BunkerError("stats: no container id given", { errno: "EINVAL", fix: "bunker stats ID" });
  const json = flagBool(p, "json");
  // every container's cgroup first: a container without one is an error before any output
  const all = stats(runtimeContext(g), p.rest);
  if (!json) console.log(["ID", "MEMORY / LIMIT", "OOM KILLS", "CPU", "PIDS / LIMIT", "IO READ / WRITE"].join("\t"));
  for (const { id, stats: s } of all) console.log(json ? JSON.stringify({ id, stats: s }) : row(id, s));
  return 0;
}
