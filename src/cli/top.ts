// bunker top ID [PS_ARGS...]: docker's name for `ps ID` (src/container/top.ts)
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { containerStatus, notFound } from "../container/state.ts";
import { printProcesses } from "./ps.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "top");
  const id = containerArg(g, p.rest[0], "top");
  const { state } = containerStatus(runtimeContext(g).stateRoot, id);
  if (!state) throw notFound(id);
  printProcesses(state, p.rest.slice(1));
  return 0;
}
