// bunker kill [--all] ID [SIGNAL]
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { killContainer } from "../container/lifecycle.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { parseSignal } from "../sys/signals.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["all", "a"], help: "to every process of the container: those of its cgroup when it\nhas one (SIGKILL: cgroup.kill), otherwise its init and the init's\ndescendants, never other processes of a pid namespace it shares\nwith the host; refused when its init has exited and it has no\ncgroup (its other processes cannot be told apart)" }, { names: ["signal", "s"], value: true, help: "SIG  the signal (instead of the SIGNAL argument)" }], "kill", false);
  const id = containerArg(g, p.rest[0], "kill");
  killContainer(runtimeContext(g), id, parseSignal(p.rest[1] ?? p.flags.get("signal")?.[0], "SIGTERM", true), flagBool(p, "all"));
  return 0;
}
