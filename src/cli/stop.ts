// bunker stop [-t SECONDS] ID...: the stop signal (the image's StopSignal, else SIGTERM), then SIGKILL
import { flagInt, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { checkId } from "../container/state.ts";
import { stop } from "../container/stop.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["time", "t"], value: true, help: "SECS  seconds to wait before SIGKILL (default 10)" }], "stop", false);
  const secs = flagInt(p, "time", "stop") ?? 10;
  const ctx = runtimeContext(g);
  if (!p.rest.length) checkId(undefined, "stop");
  for (const arg of p.rest) {
    const id = containerArg(g, arg, "stop");
    await stop(ctx, id, secs);
    console.log(arg);
  }
  return 0;
}
