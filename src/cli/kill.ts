// bunker kill [--all] ID [SIGNAL]
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { killContainer } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId } from "../container/state.ts";
import { parseSignal } from "./signals.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["all", "a"] }, { names: ["signal", "s"], value: true }], "kill", false);
  const id = checkId(p.rest[0], "kill");
  killContainer(stateRoot(g).dir, id, parseSignal(p.rest[1] ?? p.flags.get("signal")?.[0], "SIGTERM", true), flagBool(p, "all"));
  return 0;
}
