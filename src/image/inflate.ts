// A blob file's decompressed content as a stream, decompressed and hashed on a
// worker thread (inflate-worker.ts) so gunzip + sha256 overlap with the
// unpacker's parsing and syscalls on the main thread.
import { BunkerError, type ErrorDetail } from "../errors.ts";

/** chunks (of about 256 KiB) decompressed ahead of the consumer */
const WINDOW = 8;

// Compiled, the worker is a second entry point embedded in the executable (see
// the Makefile): load it from Bun's embedded filesystem, never from the disk.
const WORKER = Bun.main.startsWith("/$bunfs/") ? "/$bunfs/root/image/inflate-worker.js" : new URL("./inflate-worker.ts", import.meta.url).href;

type Message =
  | { type: "chunk"; chunk: Uint8Array }
  | { type: "done"; digest: string; bytes: number }
  | { type: "error"; message: string; detail: ErrorDetail };

/** Iterate once; afterwards `digest` is the sha256 of everything yielded. */
export class InflatedBlob implements AsyncIterable<Uint8Array> {
  digest = "";
  bytes = 0;

  constructor(readonly path: string) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const w = new Worker(WORKER);
    const queue: Message[] = [];
    let wake: (() => void) | undefined;
    const arrive = (m: Message) => {
      queue.push(m);
      wake?.();
      wake = undefined;
    };
    w.onmessage = (ev: MessageEvent) => arrive(ev.data as Message);
    w.onerror = (ev: ErrorEvent) => arrive({ type: "error", message: `the decompression thread failed: ${ev.message}`, detail: { path: this.path } });
    w.postMessage({ type: "start", path: this.path, window: WINDOW });
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const m = queue.shift()!;
        if (m.type === "chunk") {
          w.postMessage({ type: "ack" }); // before the work on this chunk: the worker goes on meanwhile
          yield m.chunk;
        } else if (m.type === "done") {
          this.digest = m.digest;
          this.bytes = m.bytes;
          return;
        } else throw new BunkerError(m.message, m.detail);
      }
    } finally {
      w.terminate();
    }
  }
}
