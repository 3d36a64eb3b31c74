// bunker create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
import { flag, flagBool, flagInt, parseFlags, type Parsed } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { create, type CreateRequest } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";

export const CREATE_FLAGS = [
  { names: ["bundle", "b"], value: true },
  { names: ["pid-file"], value: true },
  { names: ["console-socket"], value: true },
  { names: ["no-pivot"] },
  { names: ["no-new-keyring"] },
  { names: ["preserve-fds"], value: true },
];

/** create's flags (shared with runc-style run) as the engine's request */
export function createRequest(p: Parsed, id: string, cmd: string): CreateRequest {
  return {
    id,
    bundle: flag(p, "bundle"),
    pidFile: flag(p, "pid-file"),
    consoleSocket: flag(p, "console-socket"),
    noPivot: flagBool(p, "no-pivot"),
    preserveFds: flagInt(p, "preserve-fds", cmd),
  };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, CREATE_FLAGS, "create", false);
  const id = checkId(p.rest[0], "create");
  await create(runtimeContext(g), createRequest(p, id, "create"));
  return 0;
}
