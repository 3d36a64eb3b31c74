// bunker stats [--no-stream] [-a] [--no-trunc] [--format table|json|TEMPLATE] [ID...]: docker's stats,
// read from the containers' cgroups (src/container/cgroup.ts); --json ID...: bunker's own numbers.
import { totalmem } from "node:os";
import { BunkerError } from "../errors.ts";
import { networkIo, stats } from "../container/cgroup.ts";
import { listContainers } from "../container/inspect.ts";
import { containerName, readState } from "../container/state.ts";
import type { RuntimeContext } from "../container/context.ts";
import type { Stats } from "../cgroup/stats.ts";
import { dockerBinaryBytes, humanBytes } from "../image/units.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { tableLines } from "./table.ts";
import { listFormat } from "./template.ts";

/** one reading of a container: its cgroup's numbers (none without a cgroup or once it ended) and its network's bytes */
interface Sample {
  at: number;
  stats?: Stats;
  net?: { rx: number; tx: number };
}

function sample(ctx: RuntimeContext, id: string): Sample {
  const at = performance.now();
  const state = readState(ctx.stateRoot, id);
  if (!state) return { at };
  try {
    return { at, stats: stats(ctx, [id])[0]!.stats, net: networkIo(state) };
  } catch (e) {
    if (e instanceof BunkerError && (e.errnoName === "EOPNOTSUPP" || e.errnoName === "ENOENT")) return { at }; // no cgroup, or it ended meanwhile
    throw e;
  }
}

/** docker stats' columns of ID from two readings (CPU % is the usage between them: 100% a whole CPU) */
function row(root: string, id: string, before: Sample | undefined, now: Sample): Record<string, string> {
  const base = { Container: id, ID: id, Name: containerName(root, id) };
  const s = now.stats;
  if (!s) return { ...base, CPUPerc: "--", MemUsage: "-- / --", MemPerc: "--", NetIO: "-- / --", BlockIO: "-- / --", PIDs: "--" };
  const cpu = before?.stats ? ((s.cpu.usageUsec - before.stats.cpu.usageUsec) / ((now.at - before.at) * 1000)) * 100 : 0;
  const mem = s.memory?.current ?? 0;
  const limit = s.memory && s.memory.max !== "max" ? s.memory.max : totalmem();
  return {
    ...base,
    CPUPerc: `${Math.max(0, cpu).toFixed(2)}%`,
    MemUsage: `${dockerBinaryBytes(mem)} / ${dockerBinaryBytes(limit)}`,
    MemPerc: `${limit ? ((mem / limit) * 100).toFixed(2) : "0.00"}%`,
    NetIO: now.net ? `${humanBytes(now.net.rx)} / ${humanBytes(now.net.tx)}` : "-- / --",
    BlockIO: `${humanBytes(s.io?.rbytes ?? 0)} / ${humanBytes(s.io?.wbytes ?? 0)}`,
    PIDs: String(s.pids?.current ?? 0),
  };
}

const HEAD = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];

/** bunker's own numbers, one JSON object per container (the VM suite's and scripts' form) */
function printJson(ctx: RuntimeContext, ids: string[]): number {
  if (!ids.length) throw new BunkerError("stats: --json needs container ids", { errno: "EINVAL", fix: "bunker stats --json ID" });
  for (const { id, stats: s } of stats(ctx, ids)) console.log(JSON.stringify({ id, stats: s }));
  return 0;
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["no-stream"], help: "print once (after a second's CPU sample) instead of every second until ^C" },
    { names: ["all", "a"], help: "every container, not only the running ones (stopped ones show --)" },
    { names: ["no-trunc"], help: "do not cut ids (bunker's are short already)" },
    { names: ["format"], value: true, help: "table|json|TEMPLATE  output format (default table); json a line per container, a\ntemplate of {{.ID}} {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}}\n{{.NetIO}} {{.BlockIO}} {{.PIDs}}" },
    { names: ["json"], help: "bunker's numbers (memory peak, OOM kills, CPU throttling) of each ID as\none JSON object per line ({\"id\": ..., \"stats\": ...})" },
  ], "stats", false);
  const ctx = runtimeContext(g);
  const named = p.rest.map((a) => containerArg(g, a, "stats"));
  if (flagBool(p, "json")) return printJson(ctx, named);
  const format = listFormat("stats", flag(p, "format"), "{{.Name}} {{.CPUPerc}}");
  // a named container without a cgroup is an error before any output
  if (named.length) stats(ctx, named);
  const ids = () => (named.length ? named : listContainers(ctx.stateRoot, flagBool(p, "all")).map((r) => r.summary.Id as string));
  const frame = (rows: Record<string, string>[]): string[] =>
    format.table ? tableLines([HEAD, ...rows.map((r) => [r.ID!, r.Name!, r.CPUPerc!, r.MemUsage!, r.MemPerc!, r.NetIO!, r.BlockIO!, r.PIDs!])]) : rows.map(format.line);
  const tty = process.stdout.isTTY && !flagBool(p, "no-stream");
  let before = new Map<string, Sample>();
  for (const id of ids()) before.set(id, sample(ctx, id));
  for (;;) {
    await Bun.sleep(1000);
    const now = new Map<string, Sample>();
    for (const id of ids()) now.set(id, sample(ctx, id));
    const lines = frame([...now].map(([id, s]) => row(ctx.stateRoot, id, before.get(id), s)));
    // a terminal's table is redrawn in place, as docker's
    process.stdout.write(`${tty ? "\x1b[2J\x1b[H" : ""}${lines.map((l) => `${l}\n`).join("")}`);
    if (flagBool(p, "no-stream")) return 0;
    before = now;
  }
}
