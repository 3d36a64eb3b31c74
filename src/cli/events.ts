// bunker events [--stats] [--interval SECS] ID: runc-style event stream.
// --stats: one {"type":"stats"} JSON line and exit.  Otherwise a stats line
// every interval, and an {"type":"oom"} line when the kernel OOM-kills in the
// container, until its cgroup is gone.
import { BunkerError } from "../errors.ts";
import { cgroupOfContainer } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["stats"], help: "print the container's statistics once (JSON) and exit" }, { names: ["interval"], value: true, help: "SECS  seconds between stats lines (default 5)" }], "events");
  const [id, ...extra] = p.rest;
  if (!id || extra.length) throw new BunkerError("events: give exactly one container id", { errno: "EINVAL", fix: "bunker events --stats ID" });
  const interval = Number(flag(p, "interval") ?? 5);
  if (!(interval > 0)) throw new BunkerError(`events: --interval must be a positive number of seconds`, { errno: "EINVAL" });
  const cg = cgroupOfContainer(runtimeContext(g), id, "events");
  const line = (type: string, data: unknown) => console.log(JSON.stringify({ type, id, data }));
  if (flagBool(p, "stats")) {
    line("stats", cg.stats());
    return 0;
  }
  let ooms = 0;
  for (let next = 0; cg.populated(); ) {
    const s = cg.stats();
    const n = (s.memory?.events.oom_kill ?? 0) + (s.memory?.events.oom_group_kill ?? 0);
    if (n > ooms) line("oom", { count: n - ooms });
    ooms = n;
    if (Date.now() >= next) {
      line("stats", s);
      next = Date.now() + interval * 1000;
    }
    await Bun.sleep(Math.min(250, interval * 1000));
  }
  return 0;
}
