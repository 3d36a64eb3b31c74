// bunker logs [-f] [--tail N] ID: the output of a detached `run -d` (src/container/logs.ts) on stdout
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { copyLogs } from "../container/logs.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(
    argv,
    [
      { names: ["follow", "f"], help: "keep printing new output until the container exits" },
      { names: ["tail", "n"], value: true, help: "N|all  only the last N lines (default all)" },
      { names: ["since"], value: true, help: "TIME  refused: the log keeps no times (see --timestamps)" },
      { names: ["timestamps", "t"], help: "refused: the log holds the bytes the container wrote, without the\ntime of each line" },
    ],
    "logs",
    false,
  );
  for (const f of ["since", "timestamps"])
    if (p.flags.has(f)) throw new BunkerError(`logs: --${f} needs the time of each line, and a detached container's log keeps only the bytes it wrote`, { errno: "ENOTSUP", fix: "leave it out; --tail N limits the output to the last N lines" });
  const tail = flag(p, "tail");
  if (tail !== undefined && tail !== "all" && !/^\d+$/.test(tail)) throw new BunkerError(`logs: --tail must be a number of lines or "all" (got "${tail}")`, { errno: "EINVAL", fix: "--tail 10" });
  await copyLogs(runtimeContext(g), { id: containerArg(g, p.rest[0], "logs"), follow: flagBool(p, "follow"), fd: 1, tail: tail === undefined || tail === "all" ? undefined : Number(tail) });
  return 0;
}
