// exec and the terminal's size: POST /containers/{id}/exec (an exec
// instance, kept by this server as Docker's daemon keeps them),
// POST /exec/{id}/start (hijacked: stdin, and stdout and stderr as frames of
// their own, raw with a terminal; or Detach), GET /exec/{id}/json,
// POST /exec/{id}/resize, POST /containers/{id}/resize.  The process is the
// engine's exec (src/container/lifecycle.ts startExec) with pipes made here,
// or a terminal whose master this server holds; the server, a subreaper, waits
// for it by its pid.
import type { RuntimeContext } from "../container/context.ts";
import { startExec, type ExecCommand } from "../container/lifecycle.ts";
import { containerStatus } from "../container/state.ts";
import { attachSocket } from "../container/log-writer.ts";
import { closeFd, exitCode, becomeSubreaper, makePipe, setWindowSize, tryReap } from "../sys/shim.ts";
import { parseJsonObject } from "../json.ts";
import { ApiError, jsonResponse, statusOf } from "./errors.ts";
import { BunkerError } from "../errors.ts";
import type { Hijacked, RequestHead } from "./front.ts";
import { upgradeReply } from "./attach.ts";
import { detachKeys, escapeFilter, resizeTerminal } from "../container/attach.ts";
import { frame } from "./streams.ts";
import { resolveId } from "./containers.ts";
import { jsonBody, stripVersion, type ApiRequest, type Route } from "./server.ts";
import { existsSync, write } from "node:fs";
import { ReadStream } from "node:tty";
import { randomHex } from "../sys/random-hex.ts";

interface ExecInstance {
  id: string;
  container: string;
  command: ExecCommand;
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
  detachKeys: Uint8Array;
  privileged: boolean;
  user: string;
  started: boolean;
  running: boolean;
  pid: number;
  exitCode: number | null;
  /** the terminal's master while the process runs */
  pty: number;
  /** a size asked for before the terminal existed */
  size?: { rows: number; cols: number };
}

/** the exec instances of this server (Docker's daemon forgets them when it restarts, and so does this) */
const execs = new Map<string, ExecInstance>();

function execOf(id: string): ExecInstance {
  const ex = execs.get(id);
  if (!ex) throw new ApiError(404, `No such exec instance: ${id}`);
  return ex;
}

const EXEC_FIELDS = ["AttachStdin", "AttachStdout", "AttachStderr", "Detach", "DetachKeys", "Tty", "Env", "Cmd", "Privileged", "User", "WorkingDir", "ConsoleSize"] as const;

/** POST /containers/ID/exec: 201 {Id}; the container must be running */
async function createExec({ ctx, params, req }: ApiRequest): Promise<Response> {
  const container = resolveId(ctx, params[0]!);
  const b = await jsonBody(req, "exec", EXEC_FIELDS);
  const strings = (k: string) => {
    const v = b[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new ApiError(400, `exec: ${k} must be a list of strings`);
    return v as string[];
  };
  const str = (k: string) => {
    const v = b[k];
    if (v !== undefined && v !== null && typeof v !== "string") throw new ApiError(400, `exec: ${k} must be a string`);
    return (v as string | null | undefined) || undefined;
  };
  const cmd = strings("Cmd");
  if (!cmd.length) throw new ApiError(400, "exec: Cmd is empty: give the command to run");
  if (b.Privileged === true) throw new ApiError(400, "exec: Privileged is not supported by bunker serve (the exec gets the container's own confinement)");
  if (containerStatus(ctx.stateRoot, container).status !== "running") throw new ApiError(409, `Container ${container} is not running`);
  const size = Array.isArray(b.ConsoleSize) && b.ConsoleSize.length === 2 && b.ConsoleSize.every((n) => Number.isInteger(n) && n > 0) ? (b.ConsoleSize as number[]) : undefined;
  const tty = b.Tty === true;
  const id = randomHex(32);
  execs.set(id, {
    id,
    container,
    command: { args: cmd, env: strings("Env"), cwd: str("WorkingDir"), user: str("User"), additionalGids: [], terminal: tty, consoleSize: size && { height: size[0]!, width: size[1]! }, noNewPrivileges: false },
    attach: { stdin: b.AttachStdin === true, stdout: b.AttachStdout === true, stderr: b.AttachStderr === true },
    detachKeys: detachKeys(str("DetachKeys") ?? null),
    privileged: false,
    user: str("User") ?? "",
    started: false,
    running: false,
    pid: 0,
    exitCode: null,
    pty: -1,
  });
  return jsonResponse({ Id: id }, 201);
}

/** GET /exec/ID/json */
function inspectExec({ params }: ApiRequest): Response {
  const ex = execOf(params[0]!);
  return jsonResponse({
    ID: ex.id,
    Running: ex.running,
    ExitCode: ex.exitCode,
    ProcessConfig: { tty: ex.command.terminal, entrypoint: ex.command.args[0], arguments: ex.command.args.slice(1), privileged: ex.privileged, user: ex.user },
    OpenStdin: ex.attach.stdin,
    OpenStderr: ex.attach.stderr,
    OpenStdout: ex.attach.stdout,
    CanRemove: false,
    ContainerID: ex.container,
    DetachKeys: "",
    Pid: ex.pid,
  });
}

/** ?h=ROWS&w=COLS of a resize */
function sizeParams(url: URL): { rows: number; cols: number } {
  const rows = Number(url.searchParams.get("h")), cols = Number(url.searchParams.get("w"));
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows > 65535 || cols > 65535) throw new ApiError(400, `resize: h and w must be numbers of rows and columns (got h=${url.searchParams.get("h")}, w=${url.searchParams.get("w")})`);
  return { rows, cols };
}

/** POST /exec/ID/resize?h=&w=: the exec's terminal (asked before it exists: applied when it does) */
function resizeExec({ params, url }: ApiRequest): Response {
  const ex = execOf(params[0]!);
  if (!ex.command.terminal) throw new ApiError(400, `exec ${ex.id} has no terminal (it was made without Tty)`);
  const size = sizeParams(url);
  if (ex.pty >= 0) setWindowSize(ex.pty, size.rows, size.cols);
  else if (!ex.started) ex.size = size;
  else throw new ApiError(409, `exec ${ex.id} has exited`);
  return new Response(null, { status: 200 });
}

/** POST /containers/ID/resize?h=&w=: the container's terminal, which its log writer holds */
async function resizeContainer({ ctx, params, url }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const size = sizeParams(url);
  const { state, dir, status } = containerStatus(ctx.stateRoot, id);
  if (status !== "running" && status !== "created") throw new ApiError(409, `Container ${id} is not running`);
  if (!state?.process?.terminal || !existsSync(attachSocket(dir))) throw new ApiError(409, `container ${id} has no terminal (it was made without -t)`);
  const failed = await resizeTerminal(dir, size.rows, size.cols);
  if (failed !== undefined) throw new ApiError(500, `resize: the log writer of ${id} could not resize its terminal${failed ? `: ${failed}` : ""}`);
  return new Response(null, { status: 200 });
}

let subreaper = false;

/**
 * The process's output: FD read to its end, each chunk to EMIT.  A pipe
 * through Bun's stream (which leaves FD open: closed here); a terminal's
 * master through node's tty stream (Bun's reads a character device with
 * pread), which closes FD itself at its end (EIO once the last slave has
 * gone) or when destroyed.
 */
function pump(fd: number, emit: (b: Uint8Array) => void, tty: boolean): { done: Promise<void>; stop(): void } {
  if (tty) {
    const s = new ReadStream(fd);
    const done = new Promise<void>((resolve) => {
      s.on("data", (b) => emit(typeof b === "string" ? Buffer.from(b) : b));
      s.on("error", () => resolve()); // EIO: the terminal's last slave has closed
      s.on("close", () => resolve());
      s.on("end", () => resolve());
    });
    return { done, stop: () => s.destroy() };
  }
  const done = (async () => {
    try {
      for await (const chunk of Bun.file(fd).stream()) emit(chunk);
    } finally {
      closeFd(fd);
    }
  })();
  return { done, stop: () => {} };
}

/** writes to FD in order, off the JS thread (a pipe or terminal that is full does not hold the server up) */
function fdWriter(fd: number): { write(b: Uint8Array): void; end(): Promise<void> } {
  let chain = Promise.resolve();
  let failed = false;
  const writeAll = (b: Uint8Array) =>
    new Promise<void>((resolve) => {
      const next = (off: number) => {
        if (off >= b.length || failed) return resolve();
        write(fd, b, off, b.length - off, null, (err, n) => {
          if (err) failed = true; // the process closed its stdin: what comes is dropped
          next(off + (n ?? 0));
        });
      };
      next(0);
    });
  return {
    write: (b) => void (chain = chain.then(() => writeAll(b))),
    end: () => chain,
  };
}

/** waits for PID (polled: the server goes on meanwhile); its exit status as a shell gives it */
async function exited(pid: number): Promise<number> {
  for (;;) {
    const st = tryReap(pid);
    if (st) return exitCode(st);
    await Bun.sleep(10);
  }
}

/**
 * Starts EX; CONN (hijacked; undefined for Detach) gets the 101 and the
 * streams it attached, and its bytes are the process's stdin.  Resolves once
 * the process runs, with a promise of its end (its exit code recorded, its
 * output written, CONN ended).
 */
async function run(ctx: RuntimeContext, ex: ExecInstance, conn: Hijacked | undefined): Promise<{ done: Promise<void> }> {
  if (ex.started) throw new ApiError(409, `exec ${ex.id} has already been started`);
  if (containerStatus(ctx.stateRoot, ex.container).status !== "running") throw new ApiError(409, `Container ${ex.container} is not running`);
  ex.started = true;
  if (!subreaper) {
    becomeSubreaper(); // a process forked into the container's pid namespace is ours to wait for
    subreaper = true;
  }
  const tty = ex.command.terminal;
  const pipes = tty ? [] : [ex.attach.stdin && conn ? makePipe() : undefined, makePipe(), makePipe()];
  const theirs = pipes.map((p, k) => (p ? (k === 0 ? p.read : p.write) : -1));
  let launched;
  try {
    launched = await startExec(ctx, { id: ex.container, command: ex.command, detach: true }, tty ? undefined : { stdin: theirs[0]!, stdout: theirs[1]!, stderr: theirs[2]! });
  } catch (e) {
    for (const p of pipes) if (p) [p.read, p.write].forEach(closeFd);
    // a command that could not run (not found, not executable): as Docker's daemon, the
    // stream carries the error and the exec's exit code is 126
    if (!conn || !(e instanceof BunkerError) || e.detail.exitCode === undefined) {
      ex.started = false;
      throw e;
    }
    ex.exitCode = 126;
    upgradeReply(conn, tty);
    const line = Buffer.from(`${statusOf(e).message}\r\n`);
    conn.write(tty ? line : frame(1, line));
    conn.end();
    return { done: Promise.resolve() };
  } finally {
    for (const fd of theirs) if (fd >= 0) closeFd(fd);
  }
  ex.pid = launched.pid;
  ex.running = true;
  ex.pty = launched.pty;
  if (ex.size && ex.pty >= 0) setWindowSize(ex.pty, ex.size.rows, ex.size.cols);
  ctx.log.debug?.(`exec ${ex.id.slice(0, 12)} in ${ex.container}: pid ${ex.pid}`);
  const inFd = tty ? ex.pty : (pipes[0]?.write ?? -1);
  const sink = inFd >= 0 && ex.attach.stdin && conn ? fdWriter(inFd) : undefined;
  let stdinOpen = !tty && inFd >= 0;
  /** the process's stdin ends (a pipe's; a terminal's is its master, closed once it has exited) */
  const endStdin = async () => {
    if (!stdinOpen) return;
    stdinOpen = false;
    await sink?.end();
    closeFd(inFd);
  };
  if (conn) upgradeReply(conn, tty);
  const send = (stream: 1 | 2, wanted: boolean) => (b: Uint8Array) => {
    if (conn && wanted) conn.write(tty ? b : frame(stream, b));
  };
  let detached = false;
  const escape = tty ? escapeFilter(ex.detachKeys) : undefined;
  conn?.onData((b) => {
    if (!sink || detached || (tty ? ex.pty < 0 : !stdinOpen)) return;
    const { pass, detached: d } = escape ? escape(b) : { pass: b, detached: false };
    if (pass.length) sink.write(pass);
    if (d) {
      detached = true; // the process runs on; the client is let go
      conn.end();
    }
  });
  // the client's input ended: so does the process's (a terminal's is the master: it stays)
  conn?.onEnd(() => void endStdin());
  conn?.onClose(() => void endStdin());
  const outputs = tty ? [pump(ex.pty, send(1, ex.attach.stdout), true)] : [pump(pipes[1]!.read, send(1, ex.attach.stdout), false), pump(pipes[2]!.read, send(2, ex.attach.stderr), false)];
  // the terminal's master is the stream's: gone with it
  if (tty) void outputs[0]!.done.then(() => (ex.pty = -1));
  const done = (async () => {
    ex.exitCode = await exited(ex.pid);
    ex.running = false;
    // what it wrote last; a process it left behind that holds the output is not waited for long
    await Promise.race([Promise.all(outputs.map((o) => o.done)), Bun.sleep(1000)]);
    if (tty) {
      ex.pty = -1;
      outputs[0]!.stop();
    }
    await endStdin();
    conn?.end();
  })();
  return { done };
}

const EXEC_START = /^\/exec\/([^/]+)\/start$/;
const START_FIELDS = ["Detach", "Tty", "ConsoleSize"] as const;

/** the start body's fields (Tty must agree with the exec's) */
function startOptions(ex: ExecInstance, body: Record<string, unknown>): { detach: boolean } {
  const unknown = Object.keys(body).find((k) => !(START_FIELDS as readonly string[]).includes(k));
  if (unknown) throw new ApiError(400, `exec start: request body: unknown field ${JSON.stringify(unknown)} (bunker reads ${START_FIELDS.join(", ")})`);
  if (body.Tty !== undefined && body.Tty !== ex.command.terminal) throw new ApiError(400, `exec start: Tty ${String(body.Tty)} differs from the exec's (made with Tty ${ex.command.terminal})`);
  const size = body.ConsoleSize;
  if (Array.isArray(size) && size.length === 2 && size.every((n) => Number.isInteger(n) && n > 0)) ex.size = { rows: size[0], cols: size[1] };
  return { detach: body.Detach === true };
}

/** POST /exec/ID/start without a hijack: Detach (the process runs on, its output dropped) */
async function startDetached({ ctx, params, req }: ApiRequest): Promise<Response> {
  const ex = execOf(params[0]!);
  const { detach } = startOptions(ex, await jsonBody(req, "exec start", START_FIELDS));
  if (!detach) throw new ApiError(400, "exec start: without Detach the request must upgrade its connection (Connection: Upgrade, Upgrade: tcp)");
  await run(ctx, ex, undefined); // answered once it runs
  return new Response(null, { status: 200 });
}

/** POST /exec/ID/start hijacked: its JSON body comes on the connection after the head, then stdin */
export async function startHijacked(ctx: RuntimeContext, head: RequestHead, conn: Hijacked): Promise<void> {
  const ex = execOf(decodeURIComponent(EXEC_START.exec(stripVersion(new URL(head.target, "http://bunker").pathname))![1]!));
  const length = Number(head.headers.get("content-length") ?? 0);
  if (!Number.isSafeInteger(length) || length < 0 || length > 64 * 1024) throw new ApiError(400, "exec start: the request body must have a Content-Length up to 64 KiB");
  let got = Buffer.alloc(0);
  const stdin: Uint8Array[] = [];
  let ended = false;
  let forward: ((b: Uint8Array) => void) | undefined;
  const body = new Promise<Buffer>((resolve) => {
    if (!length) resolve(got);
    conn.onData((b) => {
      if (got.length >= length) return forward ? forward(b) : void stdin.push(b);
      got = Buffer.concat([got, b]);
      if (got.length >= length) {
        if (got.length > length) stdin.push(got.subarray(length));
        got = got.subarray(0, length);
        resolve(got);
      }
    });
  });
  conn.onEnd(() => (ended = true));
  const text = await body;
  const { detach } = startOptions(ex, text.length ? parseJsonObject(text, "exec start: request body", "request") : {});
  // the route's handlers take over the connection's stdin from here: what came early first
  const pending: Hijacked = {
    ...conn,
    onData: (fn) => {
      forward = fn;
      for (const b of stdin.splice(0)) fn(b);
    },
    onEnd: (fn) => (ended ? fn() : conn.onEnd(fn)),
  };
  const { done } = await run(ctx, ex, detach ? undefined : pending);
  if (!detach) await done;
  else {
    conn.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    conn.end();
  }
}

export const EXEC_HIJACK = { path: EXEC_START, serve: startHijacked };

export const EXEC_ROUTES: Route[] = [
  { method: "POST", path: /^\/containers\/([^/]+)\/exec$/, handle: createExec },
  { method: "POST", path: EXEC_START, handle: startDetached },
  { method: "GET", path: /^\/exec\/([^/]+)\/json$/, handle: inspectExec },
  { method: "POST", path: /^\/exec\/([^/]+)\/resize$/, handle: resizeExec },
  { method: "POST", path: /^\/containers\/([^/]+)\/resize$/, handle: resizeContainer },
];
