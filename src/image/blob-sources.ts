// Where the store's blobs are known to exist in registries: sources/<hex>
// holds one registry/repository a line, written when a pull fetched the blob
// (or found it already stored) and when a push put it there.  A push to
// another repository of the same registry mounts the blob from such a source
// (POST …/blobs/uploads/?mount=DIGEST&from=REPO) instead of uploading it.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { digestHex } from "./digest.ts";

/** the newest sources kept per blob */
const KEEP = 16;

const dirOf = (root: string) => join(root, "sources");

/** the repositories (registry/repository) blob DIGEST is known to be in, the newest last */
export function blobSources(root: string, digest: string): string[] {
  try {
    return readFileSync(join(dirOf(root), digestHex(digest)), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** records that blob DIGEST is in REPO (registry/repository) */
export function recordBlobSource(root: string, digest: string, repo: string): void {
  const known = blobSources(root, digest);
  if (known.includes(repo)) return;
  mkdirSync(dirOf(root), { recursive: true, mode: 0o700 });
  const file = join(dirOf(root), digestHex(digest));
  // one short line with O_APPEND: concurrent pulls never interleave inside it
  if (known.length < KEEP) appendFileSync(file, `${repo}\n`, { mode: 0o600 });
  else rmSync(file, { force: true }), appendFileSync(file, [...known.slice(1 - KEEP), repo].join("\n") + "\n", { mode: 0o600 });
}

/** forgets the sources of blobs the store no longer holds (KEEP: the hex digests it does) */
export function pruneBlobSources(root: string, keep: ReadonlySet<string>): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dirOf(root));
  } catch {
    return 0;
  }
  for (const n of names) if (!keep.has(n)) rmSync(join(dirOf(root), n), { force: true }), removed++;
  return removed;
}
