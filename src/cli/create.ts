// bunker create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID
import { flag, flagBool, flagInt, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { loadBundle } from "../oci/bundle.ts";
import { create } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId } from "../container/state.ts";
import { debugLog } from "./log.ts";

export const CREATE_FLAGS = [
  { names: ["bundle", "b"], value: true },
  { names: ["pid-file"], value: true },
  { names: ["console-socket"], value: true },
  { names: ["no-pivot"] },
  { names: ["no-new-keyring"] },
  { names: ["preserve-fds"], value: true },
];

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, CREATE_FLAGS, "create", false);
  const id = checkId(p.rest[0], "create");
  const root = stateRoot(g).dir;
  await create({
    root,
    id,
    bundle: loadBundle(flag(p, "bundle")),
    pidFile: flag(p, "pid-file"),
    consoleSocket: flag(p, "console-socket"),
    noPivot: flagBool(p, "no-pivot"),
    preserveFds: flagInt(p, "preserve-fds", "create"),
    cgroupManager: g.cgroupManager,
    debug: debugLog(g),
  });
  return 0;
}
