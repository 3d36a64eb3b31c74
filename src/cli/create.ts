// bunker create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
import { flag, flagBool, flagInt, parseFlags, type Parsed } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { create, type CreateRequest } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";

export const CREATE_FLAGS = [
  { names: ["bundle", "b"], value: true, help: "DIR  the bundle: config.json and its root (default: the current directory)" },
  { names: ["pid-file"], value: true, help: "FILE  write the container's init pid to FILE" },
  { names: ["console-socket"], value: true, help: "SOCKET  send the pty's master (process.terminal) to the AF_UNIX socket SOCKET" },
  { names: ["no-pivot"], help: "use MS_MOVE + chroot instead of pivot_root" },
  { names: ["no-new-keyring"], help: "keep the caller's session keyring (accepted: bunker never makes one)" },
  { names: ["preserve-fds"], value: true, help: "N  pass file descriptors 3..3+N-1 to the process" },
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
