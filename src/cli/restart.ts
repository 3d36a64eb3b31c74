// bunker restart [-t SECS] ID...: docker's restart, each container stopped (as stop) and started again (as start).
import { flagInt, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { checkId } from "../container/state.ts";
import { restartContainer } from "../container/start.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["time", "t"], value: true, help: "SECS  seconds to wait for the stop signal before SIGKILL (default 10)" }], "restart", false);
  const secs = flagInt(p, "time", "restart") ?? 10;
  const ctx = runtimeContext(g);
  if (!p.rest.length) checkId(undefined, "restart");
  for (const arg of p.rest) {
    await restartContainer(ctx, containerArg(g, arg, "restart"), secs);
    console.log(arg);
  }
  return 0;
}
