// docker cp's rules, pure (the docker CLI's pkg/archive copy.go, by
// behaviour): which end of `cp A B` is a container, what a trailing "/" or
// "/." asserts, and where an archive of the source is extracted and under
// which name, given what the source and the destination are.
import { BunkerError } from "../errors.ts";
import type { Rebase } from "../image/tar-rebase.ts";

/** an end of `cp`: a container's path, a local one, or "-" (a tar stream on stdin or stdout) */
export type CopyEnd = { container: string; path: string } | { local: string };

/** docker's splitCpArg: "NAME:PATH" names a container unless the argument starts with "/" or "." (a local path with a colon) */
export function parseCopyEnd(arg: string): CopyEnd {
  if (arg.startsWith("/") || arg.startsWith(".")) return { local: arg };
  const colon = arg.indexOf(":");
  if (colon <= 0) return { local: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

const endsInDot = (p: string) => p === "." || p.endsWith("/.");

/** whether PATH asserts a directory: a trailing "/" or a last component "." */
export function assertsDirectory(p: string): boolean {
  return p.endsWith("/") || endsInDot(p);
}

/** PATH cleaned (no "//", no "." components, ".." folded, no trailing "/"), absolute when PATH is, "." for nothing */
export function cleanPath(p: string): string {
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (!part || part === ".") continue;
    if (part === "..") {
      if (out.length && out.at(-1) !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(part);
  }
  const s = out.join("/");
  return abs ? `/${s}` : s || ".";
}

/** PATH cleaned, keeping what it asserts: a trailing "/." or "/" (docker's PreserveTrailingDotOrSeparator) */
export function cleanKeepingTrail(p: string): string {
  const c = cleanPath(p);
  if (endsInDot(p)) return c === "/" ? "/." : c === "." ? "." : `${c}/.`;
  if (p.endsWith("/") && !c.endsWith("/")) return `${c}/`;
  return c;
}

/** [directory, last component], a final "." kept (docker's SplitPathDirEntry): "/a/b" -> ["/a", "b"], "/a/." -> ["/a", "."] */
export function splitDirEntry(p: string): [string, string] {
  let c = cleanPath(p);
  if (endsInDot(p) && c !== ".") c = c === "/" ? "/." : `${c}/.`;
  if (c === "/") return ["/", "."];
  const slash = c.lastIndexOf("/");
  if (slash < 0) return [".", c];
  return [slash === 0 ? "/" : c.slice(0, slash), c.slice(slash + 1)];
}

export interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  /** the name the source's entries take when a followed symlink resolved to another one (-L) */
  rebaseName?: string;
}

export interface CopyPlan {
  /** the directory the archive is extracted into */
  dir: string;
  rebase: Rebase;
}

function copyError(what: string, errno: string, path: string, fix: string): BunkerError {
  return new BunkerError(`cp: ${what}`, { errno, path, fix });
}

/**
 * Where SRC's archive goes for destination DST (docker's PrepareArchiveCopy):
 * into DST when it is a directory; else into DST's parent, its one top entry
 * renamed to DST's name (a file onto a file, a directory onto a new name);
 * a directory onto an existing file, and a file onto "DIR/" that does not
 * exist, are errors.
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): CopyPlan {
  const [dstDir, dstBase] = splitDirEntry(dst.path);
  const srcBase = src.rebaseName ?? splitDirEntry(src.path)[1];
  if (dst.exists && dst.isDir) return { dir: dst.path, rebase: { from: "", to: "" } };
  if (dst.exists && src.isDir) throw copyError("cannot copy a directory onto a file", "ENOTDIR", dst.path, "name a directory (or a new name) as the destination");
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path))
    throw copyError("the destination directory does not exist (a file is copied into a directory, not made one)", "ENOENT", dst.path, "create the directory first, or drop the trailing /");
  return { dir: dstDir, rebase: { from: srcBase, to: dstBase } };
}
