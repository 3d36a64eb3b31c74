// bunker start ID
import type { GlobalOptions } from "./global.ts";
import { start } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  await start(runtimeContext(g), checkId(argv.find((a) => !a.startsWith("-")), "start"));
  return 0;
}
