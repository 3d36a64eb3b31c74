// POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1[&logs=1][&detachKeys=…],
// hijacked (src/api/front.ts): "101 UPGRADED", then the container's output
// from now on (logs=1: its log first) — Docker's multiplexed frames
// ([stream, 0, 0, 0, size big-endian 32] and the bytes: stdout 1, stderr 2)
// without a terminal, the raw bytes with one — until it has exited and its
// log writer has written the last of it.  The output is the log, followed
// (src/container/logs.ts); stdin goes to the log writer's attach socket,
// which holds the container's stdin pipe or terminal (src/container/log-writer.ts),
// so a container keeps both when the server stops.
import type { RuntimeContext } from "../container/context.ts";
import { attachSocket } from "../container/log-writer.ts";
import { logEntries } from "../container/logs.ts";
import { containerStatus } from "../container/state.ts";
import { ApiError, statusOf } from "./errors.ts";
import { flush as flushQueue, type Hijack, type Hijacked, type RequestHead } from "./front.ts";
import { COMMON_HEADERS, stripVersion } from "./server.ts";
import { resolveId } from "./containers.ts";
import { logBody } from "./streams.ts";
import { existsSync } from "node:fs";
import type { Socket } from "bun";

const ATTACH = /^\/containers\/([^/]+)\/attach$/;

const headerLines = (h: Record<string, string>) => Object.entries({ ...COMMON_HEADERS, ...h }).map(([k, v]) => `${k}: ${v}\r\n`).join("");

/** an error answered on a hijacking request's connection, before any 101 */
export function errorReply(conn: Hijacked, e: unknown): void {
  const { status, message } = statusOf(e);
  const body = JSON.stringify({ message });
  conn.write(`HTTP/1.1 ${status} Error\r\n${headerLines({ "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), Connection: "close" })}\r\n${body}`);
  conn.end();
}

/** the 101 that hands the connection over to the streams (raw with a terminal, else multiplexed) */
export function upgradeReply(conn: Hijacked, tty: boolean): void {
  conn.write(`HTTP/1.1 101 UPGRADED\r\n${headerLines({ "Content-Type": tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream", Connection: "Upgrade", Upgrade: "tcp" })}\r\n`);
}

/** the bytes of a key sequence as Docker's --detach-keys spells it: "ctrl-p,ctrl-q", "a,ctrl-@" */
export function detachKeys(spec: string | null): Uint8Array {
  const keys = (spec || "ctrl-p,ctrl-q").split(",").map((k) => {
    const ctrl = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
    if (ctrl) return ctrl[1] === "@" ? 0 : ctrl[1]!.charCodeAt(0) & 0x1f;
    if (k.length === 1) return k.charCodeAt(0);
    throw new ApiError(400, `attach: detachKeys: "${k}" is no key (a letter, or ctrl- and one of a-z @ [ \\ ] ^ _)`);
  });
  return new Uint8Array(keys);
}

/**
 * Docker's escape proxy (a terminal's input only): bytes pass through until
 * KEYS come in a row; a partial match is held back, and passed on when the
 * next byte breaks it.  The filter returns what to pass on and whether the
 * sequence was typed (the rest of that chunk is dropped).
 */
export function escapeFilter(keys: Uint8Array): (bytes: Uint8Array) => { pass: Uint8Array; detached: boolean } {
  let matched = 0;
  return (bytes) => {
    const pass: number[] = [];
    for (const b of bytes) {
      if (b === keys[matched]) {
        if (++matched === keys.length) return { pass: new Uint8Array(pass), detached: true };
        continue;
      }
      pass.push(...keys.subarray(0, matched));
      matched = b === keys[0] ? 1 : 0;
      if (!matched) pass.push(b);
    }
    return { pass: new Uint8Array(pass), detached: false };
  };
}

/** a connection to DIR's log writer's attach socket that first says FIRST ("stdin\n", "resize H W\n"); writes queue until it is open */
export function writerConnection(dir: string, first: string, onReply?: (text: string) => void): { write(b: Uint8Array): void; shutdown(): void; end(): void; closed: Promise<void> } {
  const queue: Uint8Array[] = [Buffer.from(first)];
  let sock: Socket<undefined> | undefined;
  let ending: "shutdown" | "end" | undefined;
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  const flush = () => {
    if (!sock) return;
    flushQueue(sock, queue);
    if (queue.length) return;
    if (ending === "shutdown") sock.shutdown();
    if (ending === "end") sock.end();
  };
  Bun.connect({
    unix: attachSocket(dir),
    socket: {
      open(s) {
        sock = s;
        flush();
      },
      drain: flush,
      data(_s, b) {
        onReply?.(Buffer.from(b).toString());
      },
      close: () => done(),
      error: () => done(),
    },
  }).catch(() => done()); // the writer has gone (the container exited): nothing to write to
  return {
    write: (b) => {
      queue.push(b);
      flush();
    },
    shutdown: () => {
      ending ??= "shutdown";
      flush();
    },
    end: () => {
      ending = "end";
      flush();
      sock?.end();
    },
    closed,
  };
}

function attach(ctx: RuntimeContext, head: RequestHead, conn: Hijacked): void {
  ctx.log.debug?.(`${head.method} ${head.target} -> 101 (hijacked)`);
  const url = new URL(head.target, "http://bunker");
  const id = resolveId(ctx, decodeURIComponent(ATTACH.exec(stripVersion(url.pathname))![1]!));
  const bool = (k: string) => ["1", "true", "True"].includes(url.searchParams.get(k) ?? "");
  const { state, dir } = containerStatus(ctx.stateRoot, id);
  if (!state) return errorReply(conn, new ApiError(409, `container ${id} is being created, or its bunker was killed before it started`));
  if (!bool("stream") && !bool("logs")) return errorReply(conn, new ApiError(400, "attach: ask for stream=1 or logs=1"));
  const tty = !!state.process?.terminal;
  const keys = tty ? detachKeys(url.searchParams.get("detachKeys")) : undefined;
  // the output: the log (logs=1) and what comes (stream=1)
  const entries = logEntries(ctx, { id, follow: bool("stream"), tail: bool("logs") ? undefined : 0, pollMs: 20 });
  upgradeReply(conn, tty);
  const output = logBody(entries, { tty, stdout: bool("stdout"), stderr: bool("stderr"), timestamps: false }).getReader();
  // stdin: to the log writer, which holds the container's (a container without -i has no socket)
  const input = bool("stdin") && state.run?.stdin && existsSync(attachSocket(dir)) ? writerConnection(dir, "stdin\n") : undefined;
  const escape = keys ? escapeFilter(keys) : undefined;
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    input?.end();
    void output.cancel();
    conn.end();
  };
  conn.onData((b) => {
    if (!input) return;
    if (!escape) return input.write(b);
    const { pass, detached } = escape(b);
    if (pass.length) input.write(pass);
    if (detached) finish(); // detached: the container runs on
  });
  conn.onEnd(() => input?.shutdown()); // the client's input ended: so does the container's (StdinOnce)
  conn.onClose(() => {
    closed = true;
    input?.end();
    void output.cancel();
  });
  void (async () => {
    for (;;) {
      const { value, done } = await output.read().catch(() => ({ value: undefined, done: true }));
      if (done || closed) break;
      conn.write(value!);
    }
    finish();
  })();
}

/** the hijacking routes: attach, and exec start (src/api/exec.ts) */
export function hijackRoutes(ctx: RuntimeContext, more: { path: RegExp; serve: (ctx: RuntimeContext, head: RequestHead, conn: Hijacked) => void | Promise<void> }[] = []): Hijack {
  const routes = [{ path: ATTACH, serve: attach }, ...more];
  return (head) => {
    if (head.method !== "POST") return undefined;
    let path: string;
    try {
      path = stripVersion(new URL(head.target, "http://bunker").pathname);
    } catch {
      return undefined; // the routes answer a bad version
    }
    const route = routes.find((r) => r.path.test(path));
    if (!route) return undefined;
    return (conn) => {
      void (async () => {
        try {
          await route.serve(ctx, head, conn);
        } catch (e) {
          errorReply(conn, e); // before the 101: an ordinary error response
        }
      })();
    };
  };
}
