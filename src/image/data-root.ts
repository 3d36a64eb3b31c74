// Where the image store lives: --data-root, else $XDG_DATA_HOME/bunker, else
// ~/.local/share/bunker.  Its own module: `run IMAGE`'s fast path needs it
// without loading the store.
import { homedir } from "node:os";
import { join } from "node:path";

/** the store's image list (names -> images): src/image/store.ts owns it, launch-cache.ts watches it */
export function imagesFile(dataRoot: string): string {
  return join(dataRoot, "images.json");
}

export function defaultDataRoot(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(process.env.HOME || homedir(), ".local/share"), "bunker");
}
