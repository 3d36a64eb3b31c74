// The worker thread behind inflate.ts: reads one blob file, decompresses it
// and posts the decompressed chunks to the main thread, which hashes them
// (the layer's diff_id), parses and writes them meanwhile.  Bun's zlib streams
// run on the calling thread, so without this thread gunzip and the unpacker's
// syscalls would take turns on one core.
//
// With a range (bunker load reading a layer in place from a plain tar), the
// blob is RANGE.size bytes at RANGE.offset of PATH; a second worker of this
// kind hashes those bytes (the blob digest) and writes them to RANGE.copyTo
// (the store's copy).
//
// Protocol: in  {type:"start", path, window, range?} once, then {type:"ack"} per chunk consumed;
//           out {type:"chunk", chunk} (at most WINDOW unacknowledged), then
//               {type:"done"} or {type:"error", message, detail}.
//      or:  in  {type:"copy", path, range}; out {type:"copied", digest, bytes} or {type:"error", ...}.
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { BunkerError, fromSysError } from "../errors.ts";
import { decompress } from "./compress.ts";
import { Hasher } from "./digest.ts";
import { normalJit } from "../jit.ts";

/** the failure, as the main thread rebuilds it (a BunkerError's message and detail: errno, path) */
function postError(e: BunkerError): void {
  self.postMessage({ type: "error", message: e.message, detail: e.detail });
}

normalJit(); // this thread only inflates and hashes: long loops

declare const self: Worker;

let credit = 0;
let wake: (() => void) | undefined;

interface Range {
  offset: number;
  size: number;
  copyTo?: string;
}

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data as { type: "start"; path: string; window: number; range?: Range } | { type: "copy"; path: string; range: Range } | { type: "ack" };
  if (m.type === "ack") {
    credit++;
    wake?.();
    wake = undefined;
  } else if (m.type === "copy") void copy(m.path, m.range);
  else void inflate(m.path, m.window, m.range);
};

/** the range's own bytes: hashed, and copied to range.copyTo (a new file) when given */
async function copy(path: string, range: Range): Promise<void> {
  let fd = -1;
  try {
    const h = new Hasher();
    if (range.copyTo) fd = openSync(range.copyTo, "wx", 0o600);
    // one buffer, read into again and again: no fresh memory (page faults) per piece
    const src = openSync(path, "r");
    try {
      const buf = new Uint8Array(1 << 20);
      for (let at = 0; at < range.size; ) {
        const n = readSync(src, buf, 0, Math.min(buf.length, range.size - at), range.offset + at);
        if (n <= 0) break; // short: the digest check fails
        const c = buf.subarray(0, n);
        h.update(c);
        if (fd >= 0) for (let off = 0; off < n; ) off += writeSync(fd, c, off, n - off);
        at += n;
      }
    } finally {
      closeSync(src);
    }
    if (fd >= 0) closeSync(fd);
    fd = -1;
    self.postMessage({ type: "copied", digest: h.digest(), bytes: h.bytes });
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    postError(fromSysError("cannot copy a layer blob", e, { path: range.copyTo ?? path }));
  }
}

/**
 * The blob's bytes, read into a few buffers used in turn: fresh memory for
 * every piece costs page faults (measured: 0.81 -> 0.69 s for a 84 MB layer).
 * decompress({reusesBuffers}) waits until zlib has taken a piece before it
 * asks for the next; one handed away (an uncompressed layer's piece, posted
 * to the main thread) is replaced.
 */
async function* pieces(path: string, range: Range | undefined): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, "r");
  try {
    const bufs = [new Uint8Array(1 << 20), new Uint8Array(1 << 20), new Uint8Array(1 << 20)];
    const start = range?.offset ?? 0;
    const end = range ? range.offset + range.size : Infinity;
    for (let at = start, k = 0; at < end; k = (k + 1) % bufs.length) {
      if (bufs[k]!.byteLength === 0) bufs[k] = new Uint8Array(1 << 20);
      const buf = bufs[k]!;
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - at), at);
      if (n <= 0) break;
      at += n;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

async function inflate(path: string, window: number, range: Range | undefined): Promise<void> {
  credit = window;
  try {
    for await (const c of decompress(pieces(path, range), undefined, { reusesBuffers: true })) {
      while (credit <= 0) await new Promise<void>((r) => (wake = r));
      credit--;
      // transfer, not clone: a chunk that shares zlib's buffer is copied first
      const own = c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? c : new Uint8Array(c);
      self.postMessage({ type: "chunk", chunk: own }, [own.buffer]);
    }
    self.postMessage({ type: "done" });
  } catch (e) {
    postError(fromSysError("cannot read a layer blob", e, { path }));
  }
}
