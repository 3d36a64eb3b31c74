// A blob file's decompressed content as a stream, decompressed on a worker
// thread (inflate-worker.ts) so gunzip overlaps with the unpacker's parsing and
// syscalls on the main thread (which also hashes it: the worker is the one with
// the most to do).
import { BunkerError, type ErrorDetail } from "../errors.ts";
import { Hasher } from "./digest.ts";

/** chunks (of about 256 KiB) decompressed ahead of the consumer */
const WINDOW = 8;

// Compiled, the worker is a second entry point embedded in the executable (see
// the Makefile): load it from Bun's embedded filesystem, never from the disk.
const WORKER = Bun.main.startsWith("/$bunfs/") ? "/$bunfs/root/image/inflate-worker.js" : new URL("./inflate-worker.ts", import.meta.url).href;

/** threads started ahead of use (prewarm): a new one takes ~40 ms to load before its first chunk */
const spare: Worker[] = [];
/** Bun's workers can be ref'd and unref'd (like timers); the DOM typings do not say so */
type RefWorker = Worker & { ref(): void; unref(): void };

/**
 * Starts N decompression threads now, so their start-up overlaps the caller's
 * own work (load reads the archive's index and configs meanwhile).  Unref'd:
 * unused, they do not keep the process alive.
 */
export function prewarmInflaters(n = 2): void {
  while (spare.length < n) {
    const w = new Worker(WORKER);
    (w as RefWorker).unref();
    spare.push(w);
  }
}

function worker(): Worker {
  const w = spare.shift();
  if (!w) return new Worker(WORKER);
  (w as RefWorker).ref();
  return w;
}

type Message =
  | { type: "chunk"; chunk: Uint8Array }
  | { type: "done" }
  | { type: "error"; message: string; detail: ErrorDetail };

type CopyMessage = { type: "copied"; digest: string; bytes: number } | { type: "error"; message: string; detail: ErrorDetail };

/**
 * A second worker for a RANGE: reads the blob's own bytes, hashes them and
 * copies them to COPY_TO, beside the decompressing one (which has the most to
 * do: it would otherwise hold up the unpacker).
 */
function copyInWorker(path: string, range: { offset: number; size: number; copyTo?: string }): { done: Promise<{ digest: string; bytes: number }>; stop(): void } {
  const w = worker();
  const done = new Promise<{ digest: string; bytes: number }>((resolve, reject) => {
    w.onmessage = (ev: MessageEvent) => {
      const m = ev.data as CopyMessage;
      if (m.type === "copied") resolve(m);
      else reject(new BunkerError(m.message, m.detail));
    };
    w.onerror = (ev: ErrorEvent) => reject(new BunkerError(`the blob copy thread failed: ${ev.message}`, { path }));
  });
  done.catch(() => {}); // awaited (or dropped, on an earlier failure) by the caller
  w.postMessage({ type: "copy", path, range });
  return { done, stop: () => w.terminate() };
}

/** Iterate once; afterwards `digest` is the sha256 of everything yielded. */
export class InflatedBlob implements AsyncIterable<Uint8Array> {
  digest = "";
  bytes = 0;
  /** with RANGE: the sha256 and length of the blob itself (the bytes read, before decompression) */
  rawDigest = "";
  rawBytes = 0;

  /** RANGE: the blob is SIZE bytes at OFFSET of PATH, hashed too, and copied to COPY_TO (a new file) when given */
  constructor(
    readonly path: string,
    readonly range?: { offset: number; size: number; copyTo?: string },
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const w = worker();
    const queue: Message[] = [];
    let wake: (() => void) | undefined;
    const arrive = (m: Message) => {
      queue.push(m);
      wake?.();
      wake = undefined;
    };
    w.onmessage = (ev: MessageEvent) => arrive(ev.data as Message);
    w.onerror = (ev: ErrorEvent) => arrive({ type: "error", message: `the decompression thread failed: ${ev.message}`, detail: { path: this.path } });
    w.postMessage({ type: "start", path: this.path, window: WINDOW, range: this.range && { offset: this.range.offset, size: this.range.size } });
    const copy = this.range && copyInWorker(this.path, this.range);
    // the diff_id, hashed here: the decompressing thread has the most to do (measured)
    const hash = new Hasher();
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const m = queue.shift()!;
        if (m.type === "chunk") {
          w.postMessage({ type: "ack" }); // before the work on this chunk: the worker goes on meanwhile
          hash.update(m.chunk);
          yield m.chunk;
        } else if (m.type === "done") {
          this.digest = hash.digest();
          this.bytes = hash.bytes;
          if (copy) {
            const c = await copy.done;
            this.rawDigest = c.digest;
            this.rawBytes = c.bytes;
          }
          return;
        } else throw new BunkerError(m.message, m.detail);
      }
    } finally {
      w.terminate();
      copy?.stop();
    }
  }
}
