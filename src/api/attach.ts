// POST /containers/{id}/attach?stream=1&stdout=1&stderr=1, hijacked (src/api/front.ts):
// "101 UPGRADED", then the container's output from now on as Docker's
// multiplexed frames — [stream, 0, 0, 0, size big-endian 32] and the bytes —
// until it has exited and its log writer has written the last of it.
// bunker's log is stdout and stderr as one stream (the container's pipe to
// its log writer), so every frame is a stdout frame; a container never has a
// tty or stdin here (create refuses Tty and OpenStdin).
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import type { RuntimeContext } from "../container/context.ts";
import { runningLogWriter } from "../container/log-writer.ts";
import { containerDir, containerStatus, watchStatus } from "../container/state.ts";
import { ApiError, statusOf } from "./errors.ts";
import type { Hijack, Hijacked, RequestHead } from "./front.ts";
import { COMMON_HEADERS, stripVersion } from "./server.ts";
import { resolveId } from "./containers.ts";

const ATTACH = /^\/containers\/([^/]+)\/attach$/;

/** Docker's frame of one chunk of stream STREAM (1 stdout, 2 stderr) */
export function frame(stream: number, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8 + bytes.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, bytes.length);
  out.set(bytes, 8);
  return out;
}

export const headerLines = (h: Record<string, string>) => Object.entries({ ...COMMON_HEADERS, ...h }).map(([k, v]) => `${k}: ${v}\r\n`).join("");

export function errorReply(conn: Hijacked, e: unknown): void {
  const { status, message } = statusOf(e);
  const body = JSON.stringify({ message });
  conn.write(`HTTP/1.1 ${status} Error\r\n${headerLines({ "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), Connection: "close" })}\r\n${body}`);
  conn.end();
}

/** follows DIR's log file from OFFSET, rotation included: the bytes written since the last call */
function logFollower(dir: string, offset: number) {
  const path = `${dir}/log`;
  let fd = -1;
  const buf = Buffer.alloc(64 * 1024);
  const open = (from: number) => {
    try {
      fd = openSync(path, "r");
      offset = from;
    } catch {
      fd = -1;
    }
  };
  open(offset);
  return {
    read(): Uint8Array[] {
      const out: Uint8Array[] = [];
      if (fd < 0) open(0);
      if (fd < 0) return out;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        out.push(Buffer.from(buf.subarray(0, n)));
      }
      // rotated: log became log.1 and a new log began; what the old one held was read above
      let ino: number | undefined;
      try {
        ino = statSync(path).ino;
      } catch {
        ino = undefined; // removed (rm, --rm): the open file is all there will be
      }
      if (ino !== undefined && ino !== fstatSync(fd).ino) {
        closeSync(fd);
        open(0);
        out.push(...this.read());
      }
      return out;
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}

function attach(ctx: RuntimeContext, head: RequestHead, conn: Hijacked): void {
  ctx.log.debug?.(`${head.method} ${head.target} -> 101 (hijacked)`);
  const url = new URL(head.target, "http://bunker");
  const id = resolveId(ctx, decodeURIComponent(ATTACH.exec(stripVersion(url.pathname))![1]!));
  const bool = (k: string) => ["1", "true", "True"].includes(url.searchParams.get(k) ?? "");
  const { state, dir, status } = containerStatus(ctx.stateRoot, id);
  if (!state) return errorReply(conn, new ApiError(409, `container ${id} is being created, or its bunker was killed before it started`));
  if (bool("logs")) return errorReply(conn, new ApiError(400, "attach: logs=1 is not served by bunker yet (use GET /containers/ID/logs first)"));
  if (!bool("stream")) return errorReply(conn, new ApiError(400, "attach: bunker serves stream=1 only"));
  const wanted = bool("stdout") || bool("stderr");
  conn.write(`HTTP/1.1 101 UPGRADED\r\n${headerLines({ "Content-Type": "application/vnd.docker.multiplexed-stream", Connection: "Upgrade", Upgrade: "tcp" })}\r\n`);
  let size = 0;
  try {
    size = status === "created" ? 0 : statSync(`${dir}/log`).size;
  } catch {
    size = 0;
  }
  const log = logFollower(containerDir(ctx.stateRoot, state.id), size);
  let closed = false;
  conn.onData(() => {}); // no stdin: a container here never has one open
  conn.onClose(() => (closed = true));
  const tick = async () => {
    while (!closed) {
      const st = watchStatus(ctx.stateRoot, state.id).status;
      const done = (st === "stopped" || st === "removed") && runningLogWriter(dir) === undefined;
      for (const b of log.read()) if (wanted) conn.write(frame(1, b));
      if (done) {
        // what the writer wrote last, after the check above
        for (const b of log.read()) if (wanted) conn.write(frame(1, b));
        break;
      }
      await Bun.sleep(20);
    }
    log.close();
    conn.end();
  };
  void tick();
}

/** the hijacking routes: attach */
export function hijackRoutes(ctx: RuntimeContext): Hijack {
  return (head) => {
    if (head.method !== "POST" || head.headers.get("upgrade")?.toLowerCase() !== "tcp") return undefined;
    let path: string;
    try {
      path = stripVersion(new URL(head.target, "http://bunker").pathname);
    } catch {
      return undefined; // the routes answer a bad version
    }
    if (!ATTACH.test(path)) return undefined;
    return (conn) => {
      try {
        attach(ctx, head, conn);
      } catch (e) {
        errorReply(conn, e); // before the 101: an ordinary error response
      }
    };
  };
}
