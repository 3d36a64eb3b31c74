// bunker start ID
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { start } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const id = checkId(parseFlags(argv, [], "start", false).rest[0], "start");
  await start(runtimeContext(g), id);
  return 0;
}
