// Where the image store lives: --data-root, else $XDG_DATA_HOME/bunker, else
// ~/.local/share/bunker.  Its own module: `run IMAGE`'s fast path needs it
// without loading the store.
import { homedir } from "node:os";
import { join } from "node:path";

/** the store's image list (names -> images): src/image/store.ts owns it, launch-cache.ts watches it */
/**
 * DATA_ROOT ending in one "/", for a name to follow.  Not path.join nor a
 * regular expression: this is on run IMAGE's hot path, where the first call
 * of either costs a few tenths of a millisecond.
 */
export function underRoot(dataRoot: string): string {
  let end = dataRoot.length;
  while (end > 1 && dataRoot.charCodeAt(end - 1) === 47 /* / */) end--;
  return `${dataRoot.slice(0, end)}/`;
}

export function imagesFile(dataRoot: string): string {
  return `${underRoot(dataRoot)}images.json`;
}

/** $XDG_DATA_HOME/bunker, else ~/.local/share/bunker (ENV: the caller's environment) */
export function defaultDataRoot(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(env.HOME || homedir(), ".local/share"), "bunker");
}
