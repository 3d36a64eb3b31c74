// bunker delete [--force] ID...
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { deleteContainer } from "../container/delete.ts";
import { checkId } from "../container/state-read.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "kill a running container first" }], "delete", false);
  if (p.rest.length === 0) checkId(undefined, "delete");
  const ctx = runtimeContext(g);
  for (const id of p.rest) await deleteContainer(ctx, containerArg(g, id, "delete"), flagBool(p, "force"));
  return 0;
}
