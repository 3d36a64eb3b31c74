// bunker start ID
import type { GlobalOptions } from "./global.ts";
import { start } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId } from "../container/state.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  await start(stateRoot(g).dir, checkId(argv.find((a) => !a.startsWith("-")), "start"));
  return 0;
}
