// bunker rm [-f] [-v] ID...: remove detached containers (with -f, running ones too), their writable
// layer included (with -v, their anonymous volumes too)
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { checkId } from "../container/state.ts";
import { rm } from "../container/stop.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "kill running containers first" }, { names: ["volumes", "v"], help: "remove the containers' anonymous volumes too" }], "rm", false);
  const ctx = runtimeContext(g);
  if (!p.rest.length) checkId(undefined, "rm");
  for (const arg of p.rest) {
    const id = containerArg(g, arg, "rm");
    await rm(ctx, id, flagBool(p, "force"), flagBool(p, "volumes"));
    console.log(arg);
  }
  return 0;
}
