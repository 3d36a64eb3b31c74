// Where COPY and ADD read from: the build context (a directory, with its
// .dockerignore honoured) or an image's merged layers (`--from=stage|image`),
// one read-only tree interface for both; the sources of an instruction
// resolved against it (wildcards as Go's filepath.Match, per component) and
// the content hash that keys the build cache.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { Hasher } from "../image/digest.ts";
import { OVERRIDE_XATTR } from "../image/unpack.ts";
import { isOverlayWhiteout, OPAQUE_XATTR } from "../image/whiteout.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { lgetxattr } from "../sys/fsat.ts";
import { isIgnored, mayIncludeBelow, parseIgnore, patternRegExp, type IgnorePattern } from "./ignore.ts";

export interface SourceEntry {
  /** the path relative to the tree's root, slash-separated ("" is the root) */
  rel: string;
  type: "file" | "dir" | "symlink";
  /** permission bits (07777) */
  mode: number;
  size: number;
  /** seconds */
  mtime: number;
  /** a symlink's target */
  link?: string;
  /** where the entry is on the host (read its content here) */
  path: string;
}

export interface SourceTree {
  /** what the tree is, for messages: "the build context", "stage build" */
  readonly name: string;
  /** the entry at REL, undefined when it is not there (or excluded) */
  stat(rel: string): SourceEntry | undefined;
  /** the names in the directory REL that stat finds */
  list(rel: string): string[];
}

function entryOf(path: string, rel: string): SourceEntry | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return undefined;
    throw fromSysError("cannot read a build source", e, { path });
  }
  const type = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : st.isFile() ? "file" : undefined;
  if (!type) return undefined; // sockets, fifos, devices: Docker's context skips them too
  return { rel, type, mode: st.mode & 0o7777, size: type === "file" ? st.size : 0, mtime: Math.floor(st.mtimeMs / 1000), link: type === "symlink" ? readlinkSync(path) : undefined, path };
}

/** the xattr NAME of PATH; undefined when it has none, or when it cannot be read (user.* xattrs need read permission: a directory of another owner) */
function xattrOf(path: string, name: string): Uint8Array | undefined {
  try {
    return lgetxattr(path, name);
  } catch (e) {
    if (errnoCode(e) === "EACCES" || errnoCode(e) === "EPERM" || errnoCode(e) === "ENOENT") return undefined;
    throw fromSysError("cannot read a build source's attributes", e, { path });
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch (e) {
    throw fromSysError("cannot list a build source directory", e, { path, fix: "make it readable by the user running the build" });
  }
}

/** the build context DIR with the patterns of its .dockerignore */
export class ContextTree implements SourceTree {
  readonly name = "the build context";
  readonly ignore: IgnorePattern[];
  constructor(readonly dir: string) {
    const file = join(dir, ".dockerignore");
    this.ignore = existsSync(file) ? parseIgnore(readFileSync(file, "utf8")) : [];
  }

  stat(rel: string): SourceEntry | undefined {
    const e = entryOf(rel ? join(this.dir, rel) : this.dir, rel);
    if (!e || !rel || !isIgnored(this.ignore, rel)) return e;
    // an ignored directory stays when an exception takes back something below it
    return e.type === "dir" && mayIncludeBelow(this.ignore, rel) && this.list(rel).length > 0 ? e : undefined;
  }

  list(rel: string): string[] {
    return listDir(rel ? join(this.dir, rel) : this.dir).filter((n) => this.stat(rel ? `${rel}/${n}` : n));
  }

  /** the first path at or below REL that .dockerignore leaves out (a bind mount of REL would show it), or undefined */
  ignoredBelow(rel: string): string | undefined {
    if (!this.ignore.length) return undefined;
    const e = entryOf(rel ? join(this.dir, rel) : this.dir, rel);
    if (!e) return undefined;
    if (rel && !this.stat(rel)) return rel;
    if (e.type !== "dir") return undefined;
    for (const n of listDir(e.path)) {
      const found = this.ignoredBelow(rel ? `${rel}/${n}` : n);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

/** an image's files: its unpacked layers (topmost first), whiteouts and opaque directories of the store's format honoured */
export class LayersTree implements SourceTree {
  constructor(readonly name: string, readonly lowerDirs: string[]) {}

  /** the layers that may hold REL's content, topmost first: up to the first that whites it out or makes a parent opaque */
  private layersFor(rel: string): string[] {
    const parts = rel ? rel.split("/") : [];
    const out: string[] = [];
    for (const layer of this.lowerDirs) {
      let hidden = false;
      for (let i = 1; i <= parts.length && !hidden; i++) {
        try {
          const st = lstatSync(join(layer, ...parts.slice(0, i)));
          if (isOverlayWhiteout(st.mode, st.rdev) || (i < parts.length && !st.isDirectory())) hidden = true;
        } catch {
          break; // not in this layer: look below
        }
      }
      if (hidden) break;
      out.push(layer);
      const opaque = parts.some((_, i) => i > 0 && xattrOf(join(layer, ...parts.slice(0, i)), OPAQUE_XATTR));
      if (opaque || xattrOf(join(layer, ...parts), OPAQUE_XATTR)) break;
    }
    return out;
  }

  stat(rel: string): SourceEntry | undefined {
    for (const layer of this.layersFor(rel)) {
      const e = entryOf(join(layer, rel), rel);
      if (e) return e;
    }
    return undefined;
  }

  /**
   * the owner ENTRY has in the image: the one the store recorded (a rootless
   * store without subordinate ids keeps it in an xattr), else its owner on
   * disk mapped back through MAPS (the store's: subordinate ids rootless,
   * the image's own ids as root); 0 for an id MAPS lacks
   */
  ownerOf(entry: SourceEntry, maps: IdMaps): { uid: number; gid: number } {
    const rec = xattrOf(entry.path, OVERRIDE_XATTR);
    const m = rec && /^(\d+):(\d+):/.exec(new TextDecoder().decode(rec));
    if (m) return { uid: Number(m[1]), gid: Number(m[2]) };
    const st = lstatSync(entry.path);
    const back = (ranges: IdMaps["uid"], id: number) => {
      const r = ranges.find((x) => id >= x.hostID && id < x.hostID + x.size);
      return r ? r.containerID + (id - r.hostID) : 0;
    };
    return { uid: back(maps.uid, st.uid), gid: back(maps.gid, st.gid) };
  }

  list(rel: string): string[] {
    const names = new Set<string>();
    for (const layer of this.layersFor(rel)) {
      let st;
      try {
        st = lstatSync(join(layer, rel));
      } catch {
        continue;
      }
      if (!st.isDirectory()) break;
      for (const n of listDir(join(layer, rel))) names.add(n);
    }
    return [...names].sort().filter((n) => this.stat(rel ? `${rel}/${n}` : n));
  }
}

/** SRC cleaned into the tree's relative form; `..` cannot climb out of it (Docker's rule: it stays at the root) */
export function cleanSource(src: string): string {
  const c = posix.normalize(`/${src}`).replace(/^\/+/, "").replace(/\/+$/, "");
  return c === "." ? "" : c;
}

const GLOB = /[*?[\\]/;

/** the entries SRC names in TREE: a path, or a pattern of Go's filepath.Match matched component by component */
export function resolveSource(tree: SourceTree, src: string): SourceEntry[] {
  const rel = cleanSource(src);
  if (!GLOB.test(rel)) {
    const e = tree.stat(rel);
    return e ? [e] : [];
  }
  let paths = [""];
  for (const part of rel.split("/")) {
    const next: string[] = [];
    for (const p of paths) {
      if (!GLOB.test(part)) {
        const child = p ? `${p}/${part}` : part;
        if (tree.stat(child)) next.push(child);
        continue;
      }
      const e = tree.stat(p);
      if (e?.type !== "dir") continue;
      const re = patternRegExp(part);
      for (const n of tree.list(p)) if (re.test(n)) next.push(p ? `${p}/${n}` : n);
    }
    paths = next;
  }
  return paths.map((p) => tree.stat(p)!).filter(Boolean);
}

/** ENTRY and, for a directory, everything below it, parents first */
export function walk(tree: SourceTree, entry: SourceEntry, out: SourceEntry[] = []): SourceEntry[] {
  out.push(entry);
  if (entry.type === "dir") for (const n of tree.list(entry.rel)) walk(tree, tree.stat(entry.rel ? `${entry.rel}/${n}` : n)!, out);
  return out;
}

/** the sources of a COPY resolved in TREE, one error naming what is missing (Docker's message) */
export function resolveSources(tree: SourceTree, sources: string[], what: string): SourceEntry[][] {
  return sources.map((s) => {
    const found = resolveSource(tree, s);
    if (!found.length)
      throw new BunkerError(`${what}: ${s}: not found in ${tree.name}${tree instanceof ContextTree ? " (or excluded by .dockerignore)" : ""}`, { errno: "ENOENT", path: s, fix: tree instanceof ContextTree ? "check the path relative to the context directory and .dockerignore" : "check the path in that stage or image" });
    return found;
  });
}

/** the content hash of what a COPY takes: each entry's path, type, mode, size, link and bytes (not times or owners: Docker's rule) */
export async function contentHash(tree: SourceTree, entries: SourceEntry[]): Promise<string> {
  const h = new Hasher();
  const enc = new TextEncoder();
  for (const top of entries) {
    for (const e of walk(tree, top)) {
      h.update(enc.encode(`${e.rel}\0${e.type}\0${e.mode.toString(8)}\0${e.size}\0${e.link ?? ""}\0`));
      if (e.type === "file") for await (const c of Bun.file(e.path).stream()) h.update(c);
    }
  }
  return h.digest();
}
