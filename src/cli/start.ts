// bunker start ID...: OCI's start of a created container; docker's of a created or stopped docker-style one
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { startContainer } from "../container/start.ts";
import { checkId } from "../container/state-read.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "start", false);
  if (!p.rest.length) checkId(undefined, "start");
  const ctx = runtimeContext(g);
  // docker's start prints each name it started; OCI's prints nothing
  for (const arg of p.rest) {
    const id = containerArg(g, arg, "start");
    if (await startContainer(ctx, id)) console.log(arg);
  }
  return 0;
}
