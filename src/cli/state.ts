// bunker state ID: runtime-spec state JSON (read without node:fs: src/container/state-read.ts)
import type { GlobalOptions } from "./global.ts";
import { checkId, stateJson } from "../container/state-read.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  // the flag parser (and its module) only when there is more than a plain ID: --help, -- ID, a stray flag
  const plain = argv.length === 1 && !argv[0]!.startsWith("-");
  const rest = plain ? argv : (await import("./args.ts")).parseFlags(argv, [], "state", false).rest;
  const id = checkId(rest[0], "state");
  const { ids, env, log } = runtimeContext(g);
  const s = stateJson({ root: g.root, ids, env, log }, id);
  console.log(JSON.stringify(s, null, 2));
  return 0;
}
