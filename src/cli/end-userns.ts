// bunker __end-userns (internal): end this user's shared user namespace holder
// (src/container/userns.ts endHolder), by the pid its holder file records and
// only when that pid is still the holder bunker started.  tests/run-all.sh and
// make bench end the test user's holder with it instead of looking for
// processes by name.  Prints the pid it ended, nothing when there was none.
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { endHolder } from "../container/userns.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  parseFlags(argv, [], "__end-userns", false);
  const pid = endHolder(runtimeContext(g));
  if (pid !== undefined) console.log(pid);
  return 0;
}
