// bunker state ID: runtime-spec state JSON (read without node:fs: src/container/state-read.ts)
import type { GlobalOptions } from "./global.ts";
import { checkId, stateJson } from "../container/state-read.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  // the flag parser (and its module) only when there is more than a plain ID: --help, -- ID, a stray flag
  const plain = argv.length === 1 && !argv[0]!.startsWith("-");
  const rest = plain ? argv : (await import("./args.ts")).parseFlags(argv, [], "state", false).rest;
  const id = checkId(rest[0], "state");
  // what stateJson reads of the context, not runtimeContext (src/cli/context.ts): that module and its
  // imports (the state root's maker, the log) are not needed to read a state
  const ids = { uid: process.getuid!(), gid: process.getgid!(), euid: process.geteuid!() };
  const debug = g.debug ? (await import("./log.ts")).debugLog(g) : undefined;
  const s = stateJson({ root: g.root, ids, env: process.env, debug }, id);
  console.log(JSON.stringify(s, null, 2));
  return 0;
}
