// bunker logs [-f] [--tail N] [--since T] [--until T] [-t] ID: the output of a
// detached `run -d` (src/container/logs.ts), its stdout on stdout and its
// stderr on stderr, as docker logs prints them
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { logEntries, logTime, timestamper, writeAll } from "../container/logs.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(
    argv,
    [
      { names: ["follow", "f"], help: "keep printing new output until the container exits" },
      { names: ["tail", "n"], value: true, help: "N|all  only the last N lines (default all)" },
      { names: ["since"], value: true, help: "TIME  only lines from TIME on: 2026-01-02T15:04:05Z, seconds since\nthe epoch, or a duration before now (10m, 1h30m)" },
      { names: ["until"], value: true, help: "TIME  only lines up to TIME (the same forms)" },
      { names: ["timestamps", "t"], help: "begin each line with its time (RFC 3339, nanoseconds; a log\nwritten before bunker timed lines has none)" },
    ],
    "logs",
    false,
  );
  const tail = flag(p, "tail");
  if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) throw new BunkerError(`logs: --tail must be a number of lines or "all" (got "${tail}")`, { errno: "EINVAL", fix: "--tail 10" });
  const time = (f: string) => {
    const v = flag(p, f);
    return v === undefined ? undefined : logTime(v, `--${f}`);
  };
  const stamp = flagBool(p, "timestamps") ? timestamper() : undefined;
  const entries = logEntries(runtimeContext(g), {
    id: containerArg(g, p.rest[0], "logs"),
    follow: flagBool(p, "follow"),
    tail: tail === undefined || tail === "all" ? undefined : Number(tail),
    since: time("since"),
    until: time("until"),
  });
  for await (const e of entries) if (!writeAll(e.stream, stamp ? stamp(e) : e.bytes)) break;
  return 0;
}
