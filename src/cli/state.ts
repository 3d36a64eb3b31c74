// bunker state ID: runtime-spec state JSON
import type { GlobalOptions } from "./global.ts";
import { checkId, stateJson } from "../container/state.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const s = stateJson(runtimeContext(g), checkId(argv.find((a) => !a.startsWith("-")), "state"));
  process.stdout.write(JSON.stringify(s, null, 2) + "\n");
  return 0;
}
