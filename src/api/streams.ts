// The streams of attach, exec and logs responses: Docker's multiplexed
// frames, and a container's log entries as a response body.
import { timestamper, type LogEntry } from "../container/logs.ts";

/** Docker's frame of one chunk of stream STREAM (1 stdout, 2 stderr) */
export function frame(stream: number, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8 + bytes.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, bytes.length);
  out.set(bytes, 8);
  return out;
}

/** a container's log entries as the body of a logs or attach response: frames per stream, raw with a tty */
export function logBody(entries: AsyncGenerator<LogEntry>, o: { tty: boolean; stdout: boolean; stderr: boolean; timestamps: boolean }): ReadableStream<Uint8Array> {
  const stamp = o.timestamps ? timestamper() : undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { value: e, done } = await entries.next();
        if (done) return controller.close();
        if (!(e.stream === 1 ? o.stdout : o.stderr)) continue;
        const bytes = stamp ? stamp(e) : e.bytes;
        controller.enqueue(o.tty ? new Uint8Array(bytes) : frame(e.stream, bytes));
        return;
      }
    },
    async cancel() {
      await entries.return(undefined);
    },
  });
}

