// bunker kill [--all] ID [SIGNAL]
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { killContainer } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";
import { parseSignal } from "../sys/signals.ts";

const HELP = `usage: bunker kill [--all] ID [SIGNAL]

Sends SIGNAL (default SIGTERM; a name or a number) to the container's init.
  -a, --all   to every process of the container: those of its cgroup when it
              has one (SIGKILL: cgroup.kill), otherwise its init and the init's
              descendants, never other processes of a pid namespace it shares
              with the host; refused when its init has exited and it has no
              cgroup (its other processes cannot be told apart)`;

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    console.log(HELP);
    return 0;
  }
  const p = parseFlags(argv, [{ names: ["all", "a"] }, { names: ["signal", "s"], value: true }], "kill", false);
  const id = checkId(p.rest[0], "kill");
  killContainer(runtimeContext(g), id, parseSignal(p.rest[1] ?? p.flags.get("signal")?.[0], "SIGTERM", true), flagBool(p, "all"));
  return 0;
}
