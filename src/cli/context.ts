// The engine's RuntimeContext from the global flags and this process: the one
// place that reads bunker's environment and ids for it (src/container/context.ts).
import type { RuntimeContext } from "../container/context.ts";
import { stateRoot } from "../container/paths.ts";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { readHandOver } from "../container/hand-over.ts";
import type { BunkerError } from "../errors.ts";
import type { GlobalOptions } from "./global.ts";
import { debugLog } from "./log.ts";

/** the image store without --data-root: $XDG_DATA_HOME/bunker, else ~/.local/share/bunker */
function defaultDataRoot(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(env.HOME || homedir(), ".local/share"), "bunker");
}

export function runtimeContext(g: GlobalOptions, env: Readonly<Record<string, string | undefined>> = process.env): RuntimeContext {
  const ids = { uid: process.getuid!(), gid: process.getgid!(), euid: process.geteuid!() };
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

/**
 * The context of a command a container's own program hands its state dir DIR
 * to (`__finish`, `__restart`): they run with no environment and no flags, so
 * the roots, the manager and the environment are those the container was made
 * with (src/container/hand-over.ts); the state root is DIR's parent.
 */
export function handedOverContext(g: GlobalOptions, dir: string): RuntimeContext {
  const rec = readHandOver(dir);
  if (!rec) return runtimeContext({ ...g, root: dirname(dir) });
  return runtimeContext({ ...g, root: dirname(dir), dataRoot: rec.dataRoot, cgroupManager: rec.cgroupManager, storageDriver: rec.storageDriver }, rec.env);
}
