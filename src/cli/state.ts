// bunker state ID: runtime-spec state JSON (read without node:fs: src/container/state-read.ts)
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { checkId, stateJson } from "../container/state-read.ts";
import { runtimeContext } from "./context.ts";

export default function (argv: string[], g: GlobalOptions): number {
  const id = checkId(parseFlags(argv, [], "state", false).rest[0], "state");
  const { ids, env, log } = runtimeContext(g);
  const s = stateJson({ root: g.root, ids, env, log }, id);
  console.log(JSON.stringify(s, null, 2));
  return 0;
}
