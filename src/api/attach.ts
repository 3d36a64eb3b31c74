// POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1[&logs=1][&detachKeys=…],
// hijacked (src/api/front.ts): "101 UPGRADED", then the container's output
// from now on (logs=1: its log first) — Docker's multiplexed frames
// ([stream, 0, 0, 0, size big-endian 32] and the bytes: stdout 1, stderr 2)
// without a terminal, the raw bytes with one — until it has exited and its
// log writer has written the last of it.  The output is the log, followed
// (src/container/logs.ts); stdin goes to the log writer's attach socket
// (src/container/attach.ts, shared with `bunker attach`),
// which holds the container's stdin pipe or terminal (src/container/log-writer.ts),
// so a container keeps both when the server stops.
import type { RuntimeContext } from "../container/context.ts";
import { attachSocket } from "../container/log-writer.ts";
import { detachKeys, escapeFilter, writerConnection } from "../container/attach.ts";
import { logEntries, logTime } from "../container/logs.ts";
import { containerDir, containerStatus, watchStatus, type ContainerState } from "../container/state.ts";
import { ApiError, statusOf } from "./errors.ts";
import type { Hijack, Hijacked, RequestHead } from "./front.ts";
import { COMMON_HEADERS, stripVersion } from "./server.ts";
import { resolveId } from "./containers.ts";
import { logBody } from "./streams.ts";
import { existsSync } from "node:fs";

const ATTACH = /^\/containers\/([^/]+)\/attach$/;

export const headerLines = (h: Record<string, string>) => Object.entries({ ...COMMON_HEADERS, ...h }).map(([k, v]) => `${k}: ${v}\r\n`).join("");

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

/**
 * A stopped container is made again by its next start (src/container/start.ts):
 * `docker start -a` attaches first.  Its next run's state, once it exists
 * (the client's bytes wait meanwhile); undefined when the client went away or
 * the container stayed gone (removed) for REMOVED_MS.
 */
const REMOVED_MS = 5000;
async function nextRun(ctx: RuntimeContext, id: string, before: string, gone: () => boolean): Promise<{ state: ContainerState; dir: string } | undefined> {
  let missingSince: number | undefined;
  while (!gone()) {
    const { state, status } = watchStatus(ctx.stateRoot, id);
    if (state && state.created !== before) return { state, dir: containerDir(ctx.stateRoot, id) };
    // between the start's removal of the old state dir and the new one's making: briefly none
    if (status === "removed") missingSince ??= Date.now();
    else missingSince = undefined;
    if (missingSince !== undefined && Date.now() - missingSince > REMOVED_MS) return undefined;
    await Bun.sleep(20);
  }
  return undefined;
}

async function attach(ctx: RuntimeContext, head: RequestHead, conn: Hijacked): Promise<void> {
  ctx.log.debug?.(`${head.method} ${head.target} -> 101 (hijacked)`);
  const url = new URL(head.target, "http://bunker");
  const id = resolveId(ctx, decodeURIComponent(ATTACH.exec(stripVersion(url.pathname))![1]!));
  const bool = (k: string) => ["1", "true", "True"].includes(url.searchParams.get(k) ?? "");
  const first = containerStatus(ctx.stateRoot, id);
  if (!first.state) return errorReply(conn, new ApiError(409, `container ${id} is being created, or its bunker was killed before it started`));
  if (!bool("stream") && !bool("logs")) return errorReply(conn, new ApiError(400, "attach: ask for stream=1 or logs=1"));
  const tty = !!first.state.process?.terminal;
  const keys = tty ? detachKeys(url.searchParams.get("detachKeys")) : undefined;
  // the output: the log (logs=1) and what comes (stream=1); a stopped one's next run's (made below)
  const restarts = first.status === "stopped" && bool("stream") && !bool("logs");
  // the next run writes on in the same log: what it writes is what comes after now
  const now = logTime((Date.now() / 1000).toFixed(3), "attach");
  const follow = () => logEntries(ctx, { id, follow: bool("stream"), ...(restarts ? { since: now } : { tail: bool("logs") ? undefined : 0 }), pollMs: 20 });
  let entries = restarts ? undefined : follow(); // a container without a log: an error before the 101
  upgradeReply(conn, tty);
  let closed = false;
  let input: ReturnType<typeof writerConnection> | undefined;
  let output: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const early: Uint8Array[] = [];
  let waiting = true, endedEarly = false;
  const escape = keys ? escapeFilter(keys) : undefined;
  const finish = () => {
    if (closed) return;
    closed = true;
    input?.end();
    void output?.cancel();
    conn.end();
  };
  const typed = (b: Uint8Array) => {
    if (!input) return;
    if (!escape) return input.write(b);
    const { pass, detached } = escape(b);
    if (pass.length) input.write(pass);
    if (detached) finish(); // detached: the container runs on
  };
  conn.onData((b) => (waiting ? void early.push(b) : typed(b)));
  // the client's input ended: so does the container's (StdinOnce)
  conn.onEnd(() => (waiting ? (endedEarly = true) : input?.shutdown()));
  conn.onClose(() => {
    closed = true;
    input?.end();
    void output?.cancel();
  });
  let { state, dir } = first;
  if (restarts) {
    const next = await nextRun(ctx, id, state.created, () => closed);
    if (!next) return finish();
    ({ state, dir } = next);
    entries = follow();
  }
  output = logBody(entries!, { tty, stdout: bool("stdout"), stderr: bool("stderr"), timestamps: false }).getReader();
  // stdin: to the log writer, which holds the container's (a container without -i has no socket)
  input = bool("stdin") && state.run?.stdin && existsSync(attachSocket(dir)) ? writerConnection(dir, "stdin\n") : undefined;
  waiting = false;
  for (const b of early.splice(0)) typed(b);
  if (endedEarly) input?.shutdown();
  for (;;) {
    const { value, done } = await output.read().catch(() => ({ value: undefined, done: true }));
    if (done || closed) break;
    conn.write(value!);
  }
  finish();
}

/** the hijacking routes: attach, and exec start (src/api/exec.ts) */
export function hijackRoutes(ctx: RuntimeContext, more: { path: RegExp; serve: (ctx: RuntimeContext, head: RequestHead, conn: Hijacked) => void | Promise<void> }[] = []): Hijack {
  const routes = [{ path: ATTACH, serve: attach }, ...more];
  return (head) => {
    if (head.method !== "POST" || head.headers.get("upgrade")?.toLowerCase() !== "tcp") return undefined;
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
