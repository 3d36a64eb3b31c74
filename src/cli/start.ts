// bunker start ID
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { start } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId } from "../container/state.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  await start(stateRoot(g).dir, checkId(parseFlags(argv, [], "start", false).rest[0], "start"));
  return 0;
}
