// The raw HTTP/1.1 front of `bunker serve`'s unix socket.  Bun.serve can
// upgrade a connection only to a websocket, but Docker's attach (and exec
// start) hijack it: "101 UPGRADED", "Upgrade: tcp", then the raw streams.  So
// the socket clients connect to is a Bun.listen; the first request head of
// each connection is read here: a hijacking request (Upgrade: tcp), or one
// whose response must start at once though its body may wait (events), is
// answered by HIJACK on the connection itself; any other connection is passed
// through, bytes both ways with backpressure, to the Bun.serve of the routes
// on a private socket beside it.  (The docker client dials a fresh connection for
// each hijacked request, so the first head is the one that matters.)
import type { Socket } from "bun";
import { flushQueue as flush } from "../sys/write-queue.ts";

/** a request head as HIJACK gets it */
export interface RequestHead {
  method: string;
  /** the path and query, as sent */
  target: string;
  headers: Map<string, string>;
}

/** the connection a hijacking route owns: write to it, end it, and (stdin) the bytes that come after the head */
export interface Hijacked {
  write(bytes: Uint8Array | string): void;
  end(): void;
  onData(fn: (bytes: Uint8Array) => void): void;
  /** the client has shut its sending side (no more stdin); the connection stays open for the output */
  onEnd(fn: () => void): void;
  onClose(fn: () => void): void;
}

/**
 * a hijacking request's handler (or one that streams its response itself, as
 * GET /events: Bun.serve sends a streamed response's headers only with its
 * first bytes); undefined when REQ is not one (the request is passed on)
 */
export type Hijack = (head: RequestHead) => ((conn: Hijacked) => void) | undefined;

const MAX_HEAD = 64 * 1024;

interface Conn {
  head: Buffer;
  /** passing through: the connection to the inner server */
  peer?: Socket<Peer>;
  /** what waits to be written to this connection (its peer is paused meanwhile) */
  queue: Buffer[];
  /** a hijacked connection's route's handlers; what comes before it takes its data waits in early */
  hijacked?: { data?: (b: Uint8Array) => void; early: Buffer[]; end?: () => void; ended?: boolean; close?: () => void };
  /** the hijacked stream has ended: the connection ends once its queue is written */
  ending: boolean;
  closed: boolean;
}

interface Peer {
  client: Socket<Conn>;
  queue: Buffer[];
}

/** writes BYTES to TO, queueing what does not fit now and pausing FROM until TO drains */
function send(to: Socket<Conn> | Socket<Peer>, queue: Buffer[], bytes: Uint8Array, from?: Socket<Conn> | Socket<Peer>): void {
  if (queue.length) {
    queue.push(Buffer.from(bytes));
    return;
  }
  const n = to.write(bytes);
  if (n < bytes.length) {
    queue.push(Buffer.from(bytes.subarray(Math.max(n, 0))));
    from?.pause();
  }
}

function parseHead(text: string): RequestHead | undefined {
  const lines = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? "");
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  return { method: m[1]!, target: m[2]!, headers };
}

/** listens on the unix socket PATH; connections go to HIJACK or through to the server on INNER */
export function listenFront(path: string, inner: string, hijack: Hijack): { stop(): void } {
  const listener = Bun.listen<Conn>({
    unix: path,
    // a hijacking client shuts its sending side when it has no stdin (docker run without -i): the output still flows
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = { head: Buffer.alloc(0), queue: [], ending: false, closed: false };
      },
      data(s, bytes) {
        const c = s.data;
        if (c.hijacked) return c.hijacked.data ? c.hijacked.data(bytes) : void c.hijacked.early.push(Buffer.from(bytes));
        if (c.peer) return send(c.peer, c.peer.data.queue, bytes, s);
        c.head = Buffer.concat([c.head, bytes]);
        const end = c.head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (c.head.length > MAX_HEAD) {
            s.end("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + JSON.stringify({ message: `the request head is larger than ${MAX_HEAD} bytes` }));
          }
          return;
        }
        const head = parseHead(c.head.subarray(0, end).toString("latin1"));
        const upgrade = head ? hijack(head) : undefined;
        if (upgrade) {
          c.hijacked = { early: [c.head.subarray(end + 4)] };
          upgrade({
            write: (b) => {
              if (!c.closed) send(s, c.queue, typeof b === "string" ? Buffer.from(b) : b);
            },
            end: () => {
              if (c.closed) return;
              c.ending = true;
              if (!c.queue.length) s.end();
            },
            onData: (fn) => {
              c.hijacked!.data = fn;
              for (const b of c.hijacked!.early.splice(0)) if (b.length) fn(b);
            },
            // after the data that came before it
            onEnd: (fn) => {
              c.hijacked!.end = fn;
              if (c.hijacked!.ended) fn();
            },
            onClose: (fn) => (c.hijacked!.close = fn),
          });
          return;
        }
        const first = c.head;
        c.head = Buffer.alloc(0);
        s.pause();
        Bun.connect<Peer>({
          unix: inner,
          socket: {
            open(p) {
              p.data = { client: s, queue: [] };
              c.peer = p;
              send(p, p.data.queue, first, s);
              s.resume();
            },
            data(p, b) {
              send(s, c.queue, b, p);
            },
            drain(p) {
              flush(p, p.data.queue, s);
            },
            close() {
              if (!c.closed) s.end();
            },
            error() {
              if (!c.closed) s.end();
            },
          },
        }).catch(() => s.end("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + JSON.stringify({ message: "the API server is stopping" })));
      },
      end(s) {
        const c = s.data;
        if (c.hijacked) {
          // stdin ended; the output goes on until the route ends it
          c.hijacked.ended = true;
          return c.hijacked.end?.();
        }
        if (c.peer) c.peer.shutdown();
        else s.end();
      },
      drain(s) {
        const c = s.data;
        flush(s, c.queue, c.peer);
        if (c.ending && !c.queue.length) s.end();
      },
      close(s) {
        const c = s.data;
        c.closed = true;
        c.peer?.end();
        c.hijacked?.close?.();
      },
      error(s) {
        s.data.closed = true;
      },
    },
  });
  return { stop: () => listener.stop(true) };
}
