// `ps ID` and docker top: ps(1)'s lines of the container's processes (its own
// file: `bunker inspect` need not load the lifecycle module).
import { BunkerError } from "../errors.ts";
import { containerPids } from "./lifecycle.ts";
import type { ContainerState } from "./state.ts";

/** `ps PS_ARGS` (default -ef) of the container's processes: the header's columns, then one row per process (docker top) */
export function processTable(state: ContainerState, psArgs: string[]): { titles: string[]; header: string; lines: string[]; rows: string[][] } {
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new BunkerError(`ps ${psArgs.join(" ")} failed: ${r.stderr.toString().trim()}`, { errno: "EINVAL", fix: "check the ps arguments" });
  const [header = "", ...lines] = r.stdout.toString().split("\n");
  const titles = header.trim().split(/\s+/);
  const col = titles.indexOf("PID");
  if (col < 0) throw new BunkerError(`ps ${psArgs.join(" ")}: its output has no PID column`, { errno: "EINVAL", fix: "keep the PID column (ps -ef, ps aux)" });
  const pids = new Set(containerPids(state));
  const mine = lines.filter((l) => pids.has(Number(l.trim().split(/\s+/)[col])));
  // the last column (the command) keeps its spaces
  const rows = mine.map((l) => {
    const f = l.trim().split(/\s+/);
    return [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(" ")];
  });
  return { titles, header, lines: mine, rows };
}
