// The engine's RuntimeContext from the global flags and this process: the one
// place that reads bunker's environment and ids for it (src/container/context.ts).
import type { RuntimeContext } from "../container/context.ts";
import { stateRoot } from "../container/paths.ts";
import { defaultDataRoot } from "../image/data-root.ts";
import type { BunkerError } from "../errors.ts";
import type { GlobalOptions } from "./global.ts";
import { debugLog } from "./log.ts";
import { processIds } from "../sys/idmap.ts";

export function runtimeContext(g: GlobalOptions): RuntimeContext {
  const env = process.env;
  const ids = processIds();
  const debug = debugLog(g);
  let root: string | undefined, dataRoot: string | undefined;
  return {
    // made on first use: an image command does not create the containers' state directory
    get stateRoot() {
      if (root === undefined) {
        const sr = stateRoot(g.root, env.XDG_RUNTIME_DIR, ids.uid);
        if (sr.note) debug?.(sr.note);
        root = sr.dir;
      }
      return root;
    },
    get dataRoot() {
      return (dataRoot ??= g.dataRoot ?? defaultDataRoot(env));
    },
    cgroupManager: g.cgroupManager,
    storageDriver: g.storageDriver,
    log: {
      debug,
      note: (m) => process.stderr.write(`bunker: note: ${m}\n`),
      warn: (e: BunkerError) => process.stderr.write(`${e.format()}\n`),
    },
    ids,
    env,
    cwd: process.cwd(),
    execPath: process.execPath,
  };
}
