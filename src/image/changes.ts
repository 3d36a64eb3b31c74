// `bunker diff`: what a container changed, from its writable layer (the
// overlay upper dir, read as a tar by withUpperTar) against the image's
// layers, as Docker prints it: A (added), C (changed: it is in the image,
// the upper has its own), D (deleted: a whiteout), sorted by path.  A
// directory the upper holds because something in it changed is C, as in Docker.
import { inImage } from "./rootfs.ts";
import { TarReader } from "./tar.ts";
import { isLinkedWhiteout, overlayEntry, relName } from "./layer-writer.ts";

export interface Change {
  kind: "A" | "C" | "D";
  /** absolute, as the container sees it */
  path: string;
}

/** the changes in RAW (a GNU tar of an upper dir) over the image of LOWER_DIRS (topmost first) */
export async function upperChanges(raw: string, lowerDirs: string[]): Promise<Change[]> {
  const out: Change[] = [];
  const whiteouts = new Set<string>();
  const opaque: string[] = [];
  const r = new TarReader({
    entry(e) {
      const name = relName(e.name);
      if (name === "") return true;
      const o = overlayEntry(e, name);
      if (o.whiteout || isLinkedWhiteout(e, whiteouts)) {
        whiteouts.add(name);
        out.push({ kind: "D", path: `/${name}` });
        return true;
      }
      // below an opaque dir nothing of the image is seen: all of it is new
      const hidden = opaque.some((d) => name.startsWith(`${d}/`));
      out.push({ kind: !hidden && inImage(lowerDirs, name) ? "C" : "A", path: `/${name}` });
      if (o.opaque) opaque.push(name);
      return true;
    },
    data() {},
    entryEnd() {},
  });
  for await (const c of Bun.file(raw).stream()) r.push(c);
  r.end();
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
