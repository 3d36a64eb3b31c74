// A command's container argument: an id or a name `rename` gave (src/container/state.ts),
// apart from context.ts, which every command loads (`state` reads without node:fs)
import { checkId, containerId } from "../container/state-read.ts";
import { runtimeContext } from "./context.ts";
import type { GlobalOptions } from "./global.ts";

/** the id of the container ARG names (its id or its name, checked as one), for command CMD */
export function containerArg(g: GlobalOptions, arg: string | undefined, cmd: string): string {
  return containerId(runtimeContext(g).stateRoot, checkId(arg, cmd));
}
