// Layer compression: detected from the first bytes (media types lie often
// enough), decompressed as a stream.  node:zlib's streams keep the calling
// thread busy (measured: no overlap with other work on it), so layers are
// decompressed on a worker thread (inflate.ts) while the main thread unpacks.
import type { Transform } from "node:stream";
import { BunkerError } from "../errors.ts";

export type Compression = "gzip" | "zstd" | "none";

export function detectCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58)
    throw new BunkerError("xz-compressed layers are not supported", { errno: "EOPNOTSUPP", fix: "use a gzip, zstd or uncompressed layer" });
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68)
    throw new BunkerError("bzip2-compressed layers are not supported", { errno: "EOPNOTSUPP", fix: "use a gzip, zstd or uncompressed layer" });
  return "none";
}

const CHUNK = 256 * 1024;

// node:zlib is imported on first use: loading it costs several milliseconds,
// which `run IMAGE` (it imports this module, never decompresses) would pay.
async function decompressor(kind: "gzip" | "zstd"): Promise<Transform> {
  const zlib = await import("node:zlib");
  return kind === "gzip"
    ? zlib.createGunzip({ chunkSize: CHUNK })
    : zlib.createZstdDecompress({ chunkSize: CHUNK, params: { [zlib.constants.ZSTD_d_windowLogMax]: 31 } });
}

/**
 * Decompresses SRC (whatever its compression) as a stream.  ON_RAW sees every
 * input byte (for the blob digest), the yielded chunks are the tar stream.
 * REUSES_BUFFERS: SRC reads its next piece into memory of an earlier one, so
 * each piece is fully taken by the decompressor before the next is asked for.
 */
export async function* decompress(src: AsyncIterable<Uint8Array>, onRaw?: (c: Uint8Array) => void, opts: { reusesBuffers?: boolean } = {}): AsyncGenerator<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length < 4) {
    // tiny first chunk: join with the next one so the magic can be seen
    const next = await it.next();
    if (next.done) break;
    const joined = new Uint8Array(first.value.length + next.value.length);
    joined.set(first.value);
    joined.set(next.value, first.value.length);
    first = { done: false, value: joined };
  }
  if (first.done) return;
  const kind = detectCompression(first.value);
  if (kind === "none") {
    onRaw?.(first.value);
    yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      onRaw?.(r.value);
      yield r.value;
    }
    return;
  }
  const z = await decompressor(kind);
  let failed: unknown;
  const feed = (async () => {
    let r: IteratorResult<Uint8Array> = first;
    while (!r.done) {
      onRaw?.(r.value);
      if (opts.reusesBuffers) await new Promise<void>((res, rej) => z.write(r.value, (e) => (e ? rej(e) : res())));
      else if (!z.write(r.value)) await new Promise<void>((res) => z.once("drain", res));
      r = await it.next();
    }
    z.end();
  })().catch((e) => {
    failed = e;
    z.destroy(e);
  });
  try {
    for await (const out of z as AsyncIterable<Uint8Array>) yield out;
  } catch (e) {
    if (failed) throw failed;
    throw new BunkerError(`cannot decompress the ${kind} stream: ${(e as Error).message}`, { errno: "EINVAL", fix: "the blob is corrupt or truncated" });
  }
  await feed;
  if (failed) throw failed;
}
