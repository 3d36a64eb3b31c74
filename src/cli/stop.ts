// bunker stop [-t SECONDS] ID...: the stop signal (the image's StopSignal, else SIGTERM), then SIGKILL
import { flagInt, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, isAlive, readState } from "../container/state.ts";
import { BunkerError } from "../errors.ts";
import { killEverything } from "../container/kill.ts";
import { parseSignal } from "./signals.ts";
import { waitPidExit } from "../sys/shim.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["time", "t"], value: true, help: "SECS  seconds to wait before SIGKILL (default 10)" }], "stop", false);
  const secs = flagInt(p, "time", "stop") ?? 10;
  const root = stateRoot(g).dir;
  if (!p.rest.length) checkId(undefined, "stop");
  for (const arg of p.rest) {
    const id = checkId(arg, "stop");
    const state = readState(root, id); // "does not exist" without a state dir
    if (!state) throw new BunkerError(`stop: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
    if (isAlive(state)) {
      process.kill(state.pid, parseSignal(state.run?.stopSignal));
      if (!waitPidExit(state.pid, secs * 1000)) killEverything(state);
    }
    console.log(id);
  }
  return 0;
}
