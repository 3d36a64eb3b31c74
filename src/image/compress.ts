// Compression of layers and archives: detected from the first bytes (media
// types lie often enough), decompressed as a stream.  node:zlib's streams keep
// the calling thread busy (measured: no overlap with other work on it), so
// layers are decompressed on a worker thread (inflate.ts) while the main
// thread unpacks.  xz and bzip2 (what docker's archive endpoints take besides
// gzip, and docker load's archives) go through Debian's xz and bzip2
// programs: node:zlib has neither, and they decompress as a second process,
// in parallel with bunker, at C speed (npm's pure-JavaScript bzip2 and LZMA
// decoders are whole-buffer or unmaintained, its xz bindings native addons).
import { existsSync } from "node:fs";
import type { Transform } from "node:stream";
import { BunkerError } from "../errors.ts";

/** what a layer may be compressed with (OCI's media types name no other) */
export type Compression = "gzip" | "zstd" | "none";
/** what a stream may be compressed with */
export type StreamCompression = Compression | "xz" | "bzip2";

/** the compression HEAD (a stream's first 4 bytes or more) says */
export function sniffCompression(head: Uint8Array): StreamCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58) return "xz";
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return "bzip2";
  return "none";
}

/** a layer's compression: one a media type can name */
export function detectCompression(head: Uint8Array): Compression {
  const kind = sniffCompression(head);
  if (kind === "xz" || kind === "bzip2") throw new BunkerError(`${kind}-compressed layers are not supported`, { errno: "EOPNOTSUPP", fix: "use a gzip, zstd or uncompressed layer" });
  return kind;
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
  const kind = sniffCompression(first.value);
  if (kind === "xz" || kind === "bzip2") {
    yield* throughProgram(kind, first.value, it, onRaw);
    return;
  }
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

const PROGRAMS = { xz: { bin: "xz", pkg: "xz-utils" }, bzip2: { bin: "bzip2", pkg: "bzip2" } };

/** FIRST and the rest of IT decompressed by Debian's KIND program (xz -dc, bzip2 -dc), a process of bunker's own ended by its pid */
async function* throughProgram(kind: "xz" | "bzip2", first: Uint8Array, it: AsyncIterator<Uint8Array>, onRaw: ((c: Uint8Array) => void) | undefined): AsyncGenerator<Uint8Array> {
  const { bin, pkg } = PROGRAMS[kind];
  const exe = [`/usr/bin/${bin}`, `/bin/${bin}`].find((p) => existsSync(p));
  if (!exe) throw new BunkerError(`cannot decompress the ${kind} stream: ${bin} is not installed`, { errno: "ENOENT", path: `/usr/bin/${bin}`, fix: `apt-get install ${pkg}` });
  const proc = Bun.spawn([exe, "-dc"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let failed: unknown;
  const feed = (async () => {
    let r: IteratorResult<Uint8Array> = { done: false, value: first };
    try {
      while (!r.done) {
        onRaw?.(r.value);
        proc.stdin.write(r.value);
        await proc.stdin.flush(); // the pipe's pace (and a source that reuses its buffers gets this one back)
        try {
          r = await it.next();
        } catch (e) {
          failed = e; // the source's failure is the stream's
          break;
        }
      }
      await proc.stdin.end();
    } catch {
      /* the program went first: its status says why */
    }
    if (failed) proc.kill("SIGKILL");
  })();
  let read = false;
  try {
    for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) yield c;
    read = true;
  } finally {
    // the reader went away before the end: the program is ended (the feed then ends at its next write)
    if (!read) proc.kill("SIGKILL");
  }
  await feed;
  const code = await proc.exited;
  if (failed) throw failed;
  if (code !== 0) {
    const why = (await new Response(proc.stderr).text()).split("\n").find(Boolean)?.replace(/^\S+: (\(stdin\): )?/, "").replace(/[;.]$/, "") ?? `${bin} ended with status ${code}`;
    throw new BunkerError(`cannot decompress the ${kind} stream: ${why}`, { errno: "EINVAL", fix: "the stream is corrupt or truncated" });
  }
}
