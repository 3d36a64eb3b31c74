// bunker logs [-f] ID: the output of a detached `run -d` (src/container/logs.ts) on stdout
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { checkId } from "../container/state.ts";
import { copyLogs } from "../container/logs.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["follow", "f"], help: "keep printing new output until the container exits" }], "logs", false);
  await copyLogs(runtimeContext(g), { id: checkId(p.rest[0], "logs"), follow: flagBool(p, "follow"), fd: 1 });
  return 0;
}
