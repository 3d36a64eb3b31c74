// bunker run [-b DIR] [-d] [--pid-file F] [--console-socket S] [--keep] ID: runc's run (create + start, wait)
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { CREATE_FLAGS, createRequest } from "./create.ts";
import { ociRun } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [...CREATE_FLAGS, { names: ["detach", "d"], help: "(runc's run) do not wait: create and start, then exit" }, { names: ["keep"], help: "(runc's run) keep the container's state after it exits" }, { names: ["no-subreaper"], help: "(runc's run) accepted; bunker stays the subreaper: a container forked into a joined pid namespace is re-parented to it, and run waits for it" }], "run", false);
  const id = checkId(p.rest[0], "run");
  return ociRun(runtimeContext(g), { ...createRequest(p, id, "run"), detach: flagBool(p, "detach"), keep: flagBool(p, "keep") });
}
