// The engine's RuntimeContext from the global flags and this process: the one
// place that reads bunker's environment and ids for it (src/container/context.ts).
import type { RuntimeContext } from "../container/context.ts";
import { stateRoot } from "../container/paths.ts";
import type { BunkerError } from "../errors.ts";
import type { GlobalOptions } from "./global.ts";
import { debugLog } from "./log.ts";
import { squeezeSlashes, trimSlashes } from "../loops.ts";

/** the image store without --data-root: $XDG_DATA_HOME/bunker, else ~/.local/share/bunker */
function defaultDataRoot(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_DATA_HOME;
  // node:os only without $HOME: every command builds this context, `state` loads no node module
  const home = () => env.HOME || (require("node:os") as typeof import("node:os")).homedir();
  return squeezeSlashes(`${xdg && xdg.startsWith("/") ? xdg : `${trimSlashes(home())}/.local/share`}/bunker`);
}

export function runtimeContext(g: GlobalOptions, env: Readonly<Record<string, string | undefined>> = process.env): RuntimeContext {
  const ids = { uid: process.getuid!(), gid: process.getgid!(), euid: process.geteuid!() };
  const debug = debugLog(g);
  let root: string | undefined, dataRoot: string | undefined, cwd: string | undefined, execPath: string | undefined;
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
      note: (m) => console.error(`bunker: note: ${m}`),
      warn: (e: BunkerError) => console.error(`${e.format()}`),
    },
    ids,
    env,
    // read on first use (getcwd, readlink of /proc/self/exe): `state`, `start`, `delete` use neither
    get cwd() {
      return (cwd ??= process.cwd());
    },
    get execPath() {
      return (execPath ??= process.execPath);
    },
  };
}

