// bunker wait ID...: docker's wait; each container's exit status on a line of its own, in order
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { waitContainer } from "../container/wait.ts";
import { checkId } from "../container/state.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "wait", false);
  if (!p.rest.length) checkId(undefined, "wait");
  const ctx = runtimeContext(g);
  for (const arg of p.rest) console.log(await waitContainer(ctx, containerArg(g, arg, "wait")));
  return 0;
}
