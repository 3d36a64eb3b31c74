// bunker state ID: runtime-spec state JSON
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { stateJson } from "../container/state.ts";
import { containerArg, runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const id = containerArg(g, parseFlags(argv, [], "state", false).rest[0], "state");
  const s = stateJson(runtimeContext(g), id);
  console.log(JSON.stringify(s, null, 2));
  return 0;
}
