// The worker thread behind inflate.ts: reads one blob file, decompresses it,
// hashes the result (the layer's diff_id) and posts the decompressed chunks to
// the main thread, which parses and writes them meanwhile.  Bun's zlib streams
// run on the calling thread, so without this thread gunzip + sha256 and the
// unpacker's syscalls would take turns on one core.
//
// Protocol: in  {type:"start", path, window} once, then {type:"ack"} per chunk consumed;
//           out {type:"chunk", chunk} (at most WINDOW unacknowledged), then
//               {type:"done", digest, bytes} or {type:"error", message, detail}.
import { BunkerError } from "../errors.ts";
import { decompress } from "./compress.ts";
import { Hasher } from "./digest.ts";

declare const self: Worker;

let credit = 0;
let wake: (() => void) | undefined;

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data as { type: "start"; path: string; window: number } | { type: "ack" };
  if (m.type === "ack") {
    credit++;
    wake?.();
    wake = undefined;
  } else void inflate(m.path, m.window);
};

async function inflate(path: string, window: number): Promise<void> {
  credit = window;
  try {
    const h = new Hasher();
    for await (const c of decompress(Bun.file(path).stream())) {
      h.update(c);
      while (credit <= 0) await new Promise<void>((r) => (wake = r));
      credit--;
      // transfer, not clone: a chunk that shares zlib's buffer is copied first
      const own = c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? c : new Uint8Array(c);
      self.postMessage({ type: "chunk", chunk: own }, [own.buffer]);
    }
    self.postMessage({ type: "done", digest: h.digest(), bytes: h.bytes });
  } catch (e) {
    if (e instanceof BunkerError) self.postMessage({ type: "error", message: e.message, detail: e.detail });
    else self.postMessage({ type: "error", message: `cannot read a layer blob: ${(e as Error).message}`, detail: { path } });
  }
}
