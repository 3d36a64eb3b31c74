// Helpers for image tests: temp dirs, chunked streams, reading xattrs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { lgetxattr } from "../../src/sys/fsat.ts";

/** A fresh temp dir; removed by the returned cleanup. */
export function tempDir(prefix = "bunker-img-"): string {
  return mkdtempSync(`${process.env.BUNKER_TEST_TMP ?? tmpdir()}/${prefix}`);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** BYTES as a stream of chunks of varying sizes (exercises block boundaries). */
export async function* chunked(bytes: Uint8Array, sizes = [1, 511, 513, 7, 4096, 100000]): AsyncGenerator<Uint8Array> {
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    yield bytes.subarray(off, off + n);
    off += n;
  }
}

export function xattr(path: string, name: string): string | undefined {
  const v = lgetxattr(path, name);
  return v && new TextDecoder().decode(v);
}
