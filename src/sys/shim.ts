// The C shim's binding (c/*.c, build/libbunker.so, embedded in the executable),
// through Bun's native FFI object as src/sys/fs-core.ts binds libc (not
// bun:ffi: its module and its run-time compiled wrapper per symbol, 21 here):
// a pointer argument is a typed array (its data).
import { readEmbeddedFile, writeSync } from "./fs-sync.ts";
import libPath from "../../build/libbunker.so" with { type: "file" };
import monitorPath from "../../build/bunker-monitor" with { type: "file" };
import { BunkerError } from "../errors.ts";
import { MESSAGES } from "../plan/ops.ts";
import { bindLibc, bindLibrary, FFI_TYPES, utf8 } from "./fs-core.ts";

const { i32: I32, u32: U32, ptr: PTR } = FFI_TYPES;

// two tables, each bound (dlopen'd) on its first use: a container's start
// needs the first; binding costs a few µs per symbol (~0.1 ms for the second)
const lifecycle = {
  bk_spawn: { args: [PTR, U32, PTR], returns: I32 },
  bk_send_go: { args: [I32, I32], returns: I32 },
  bk_forward_signals: { args: [], returns: I32 },
  bk_sealed_memfd: { args: [PTR, U32], returns: I32 },
  bk_exec_monitor: { args: [PTR, U32, PTR, U32, I32], returns: I32 },
  bk_read_msg: { args: [I32, PTR], returns: I32 },
  bk_supervise: { args: [I32, I32, I32, PTR], returns: I32 },
  bk_mkfifo: { args: [PTR, I32], returns: I32 },
  bk_close: { args: [I32], returns: I32 },
  bk_reap: { args: [I32], returns: I32 },
};
const more = {
  bk_stat_dirs: { args: [PTR, U32, PTR], returns: I32 },
  bk_open_ns: { args: [PTR, PTR], returns: I32 },
  bk_send_fd: { args: [PTR, I32], returns: I32 },
  bk_send_fd_with: { args: [PTR, I32, PTR, U32], returns: I32 },
  bk_subreaper: { args: [], returns: I32 },
  bk_pidfd_wait: { args: [I32, I32, PTR], returns: I32 },
  bk_try_reap: { args: [I32, PTR], returns: I32 },
  bk_pipe: { args: [PTR], returns: I32 },
  bk_set_winsize: { args: [I32, I32, I32], returns: I32 },
  bk_tty_raw: { args: [I32, PTR, U32], returns: I32 },
  bk_tty_restore: { args: [I32, PTR, U32], returns: I32 },
  bk_spawn_log_writer: { args: [PTR, U32, PTR, U32, I32, I32, PTR], returns: I32 },
  bk_spawn_keeper: { args: [PTR, U32, PTR, U32, I32, PTR], returns: I32 },
};

/** every shim function returns an int */
type Lib<T> = Record<keyof T, (...args: unknown[]) => number>;
/** where the library was loaded from: the embedded file's path, or the memfd it was copied to */
let loadedFrom: string | undefined;

function open<T extends Record<string, { args: number[]; returns: number }>>(symbols: T): Lib<T> {
  if (loadedFrom) return bindLibrary(loadedFrom, symbols) as Lib<T>;
  try {
    const lib = bindLibrary(libPath, symbols) as Lib<T>;
    loadedFrom = libPath;
    return lib;
  } catch (first) {
    // Bun extracts embedded files to /tmp; a noexec /tmp makes dlopen fail.
    // Load it from a memfd instead (not subject to any mount's noexec).
    try {
      const libc = bindLibc({ memfd_create: { args: [PTR, U32], returns: I32 } });
      const fd = libc.memfd_create(Buffer.from("libbunker\0"), 1 /* MFD_CLOEXEC */) as number;
      if (fd < 0) throw new Error("memfd_create failed");
      writeSync(fd, readEmbeddedFile(libPath));
      const lib = bindLibrary(`/proc/self/fd/${fd}`, symbols) as Lib<T>;
      loadedFrom = `/proc/self/fd/${fd}`;
      return lib;
    } catch (second) {
      throw new BunkerError(`cannot load the embedded shim: ${(first as Error).message}; from a memfd: ${(second as Error).message}`, {
        path: libPath,
        fix: "make /tmp allow exec, or allow exec of memfds (sysctl vm.memfd_noexec=0)",
      });
    }
  }
}

let lib: Lib<typeof lifecycle> | undefined, moreLib: Lib<typeof more> | undefined;
const shim = () => (lib ??= open(lifecycle));
const extra = () => (moreLib ??= open(more));

export interface Spawned {
  pid: number;
  sock: number;
}

/** clone() the container's first process; it waits for sendGo(). */
export function spawn(plan: Uint8Array): Spawned {
  const out = new Int32Array(2);
  const r = shim().bk_spawn(plan, plan.byteLength, out);
  if (r < 0) throw new BunkerError("cannot create the container process (clone)", { errno: -r });
  return { pid: out[0]!, sock: out[1]! };
}

/** catch the signals bunker forwards from now on (they are queued until supervise) */
export function forwardSignals(): void {
  const r = shim().bk_forward_signals();
  if (r < 0) throw new BunkerError("cannot set up signal forwarding", { errno: -r });
}

/** the embedded monitor executable, read once (a foreground --init run needs it twice) */
let monitor: Uint8Array | undefined;
const monitorImage = () => (monitor ??= readEmbeddedFile(monitorPath));

/** the monitor executable in a sealed memfd (see c/supervise.c), or -errno */
export function monitorMemfd(): number {
  const image = monitorImage();
  return shim().bk_sealed_memfd(image, image.byteLength);
}

/**
 * Replaces this process by the monitor (c/monitor.c) with ARGS, keeping fd
 * KEEP (or -1) open; needs forwardSignals() first.  Returns only when the
 * exec failed, with its -errno.
 */
export function execMonitor(args: string[], keep: number): number {
  const image = monitorImage();
  let argz = "";
  for (const a of args) argz += a + "\0"; // a plain loop: run's path calls no map (src/loops.ts)
  const buf = utf8(argz); // not Buffer: its first use costs ~0.2 ms

  return shim().bk_exec_monitor(image, image.byteLength, buf, buf.byteLength, keep);
}

/**
 * Starts the monitor (from a sealed memfd) with ARGS as a detached
 * container's log writer (c/logwriter.c): reading a terminal's master TTY, or
 * new pipes for stdout, stderr (STDERR) and stdin (STDIN).  Its pid and the
 * container's ends of the pipes (CLOEXEC; -1 for those not made).
 */
export function spawnLogWriter(args: string[], o: { stderr: boolean; stdin: boolean; tty: number }): { pid: number; stdout: number; stderr: number; stdin: number } {
  const image = monitorImage();
  const buf = Buffer.from(args.map((a) => a + "\0").join(""));
  const out = new Int32Array(4);
  const r = extra().bk_spawn_log_writer(image, image.byteLength, buf, buf.byteLength, (o.stderr ? 1 : 0) | (o.stdin ? 2 : 0), o.tty, out);
  if (r < 0) throw new BunkerError("cannot start the container's log writer", { errno: -r, fix: "allow exec of memfds (sysctl vm.memfd_noexec=0)" });
  return { pid: out[0]!, stdout: out[1]!, stderr: out[2]!, stdin: out[3]! };
}

/**
 * Starts the monitor (from a sealed memfd) as the keeper of a network helper
 * (c/keeper.c): `--keep-while=PID HELPER ARGS...`, or as a port proxy
 * (c/proxy.c: `--proxy=PID ...`); its stderr ERRFD (WHAT says what it is in an error), fd 3 the
 * write end of a new pipe the helper reports readiness on.  Its pid and the
 * pipe's read end (CLOEXEC).
 */
export function spawnKeeper(args: string[], errFd: number, what: string): { pid: number; fd: number } {
  const image = monitorImage();
  const buf = Buffer.from(args.map((a) => a + "\0").join(""));
  const out = new Int32Array(2);
  const r = extra().bk_spawn_keeper(image, image.byteLength, buf, buf.byteLength, errFd, out);
  if (r < 0) throw new BunkerError(`cannot start ${what}`, { errno: -r, fix: "allow exec of memfds (sysctl vm.memfd_noexec=0)" });
  return { pid: out[0]!, fd: out[1]! };
}

/** releases the child; PID is its pid as we see it (it cannot know it inside its pid namespace) */
export function sendGo(sock: number, pid: number): void {
  const r = shim().bk_send_go(sock, pid);
  if (r < 0) throw new BunkerError("the container process died before it could start", { errno: -r });
}

/** an op failed: its index in the plan, errno, the step (src/plan/ops.ts STEPS, 1-based) and its argument */
export interface ChildFailure {
  op: number;
  errno: number;
  step: number;
  arg: number;
}

export type ChildMessage =
  | { type: "eof" }
  | ({ type: "error" } & ChildFailure)
  | { type: "pty"; fd: number }
  | { type: "ready" }
  | { type: "pid"; pid: number }
  /** the hold op: set up, the child waits for a "go" */
  | { type: "hold" }
  /** the listener fd of a seccomp filter with SCMP_ACT_NOTIFY; the child waits for a "go" */
  | { type: "seccomp"; fd: number }
  | ({ type: "note" } & ChildFailure);

/** Blocks for the next message from the child (EOF = it exec'd or died). */
export function readMessage(sock: number): ChildMessage {
  const out = new Int32Array(5);
  const t = shim().bk_read_msg(sock, out);
  if (t < 0) throw new BunkerError("lost the container's sync socket", { errno: -t });
  const failure = (): ChildFailure => ({ op: out[0]!, errno: out[1]!, step: out[2]!, arg: out[3]! });
  switch (t) {
    case 0: return { type: "eof" };
    case MESSAGES.ERROR: return { type: "error", ...failure() };
    case MESSAGES.PTY: return { type: "pty", fd: out[4]! };
    case MESSAGES.READY: return { type: "ready" };
    case MESSAGES.PID: return { type: "pid", pid: out[0]! };
    case MESSAGES.SECCOMP: return { type: "seccomp", fd: out[4]! };
    case MESSAGES.NOTE: return { type: "note", ...failure() };
    case MESSAGES.HOLD: return { type: "hold" };
    default: throw new BunkerError(`the container process sent an unknown message (type ${t})`, { errno: "EPROTO" });
  }
}

export interface ExitStatus {
  /** exit code, or -1 when killed */
  code: number;
  /** signal number when killed, else 0 */
  signal: number;
}

/** the status a shell reports for a process: its exit code, or 128+N when signal N killed it */
export function exitCode(st: ExitStatus): number {
  return st.signal ? 128 + st.signal : st.code;
}

/** Waits for PID, forwarding signals and relaying the pty.  Blocks the JS thread. */
export function supervise(pid: number, pty: number, relayStdin: boolean): ExitStatus {
  const out = new Int32Array([-1, 0]);
  const r = shim().bk_supervise(pid, pty, relayStdin ? 1 : 0, out);
  if (r < 0) throw new BunkerError(`cannot wait for the container process ${pid}`, { errno: -r });
  return { code: out[0]!, signal: out[1]! };
}

const cstr = (s: string) => Buffer.from(s + "\0");

/** waits for our child PID (one that exits on its own, e.g. an intermediate); leaves signal forwarding alone */
export function reap(pid: number): void {
  const r = shim().bk_reap(pid);
  if (r < 0 && r !== -10 /* ECHILD: reaped already */) throw new BunkerError(`cannot wait for process ${pid}`, { errno: -r });
}

/**
 * FILE's identity ("inode:size:mtime" as exact 32-bit halves; undefined when
 * it cannot be stat'ed) and whether every one of DIRS is a directory: one
 * call, for run IMAGE's launch record (src/image/launch-cache.ts).
 */
export function statAndDirs(file: string, dirs: string[]): { stamp: string | undefined; dirs: boolean } {
  const buf = Buffer.from(`${file}\0${dirs.map((d) => `${d}\0`).join("")}`);
  const out = new Uint32Array(8);
  const r = extra().bk_stat_dirs(buf, buf.byteLength, out);
  if (r < 0) return { stamp: undefined, dirs: false };
  return { stamp: out.join(":"), dirs: r === 0 };
}

/** PATH (a /proc/PID/ns/* file) opened if its inode number is INO: the fd, or -errno (-ESTALE: another namespace); one call, for userns.ts */
export function openNamespace(path: string, ino: string): number {
  return extra().bk_open_ns(cstr(path), cstr(ino));
}

/** close(2) by the shim (run's hot path: the first node:fs closeSync costs more) */
export function closeFd(fd: number): void {
  shim().bk_close(fd);
}

export function mkfifo(path: string, mode: number): void {
  const r = shim().bk_mkfifo(cstr(path), mode);
  if (r < 0) throw new BunkerError("cannot create the exec fifo", { errno: -r, path });
}

/** hands a pty master FD to the OCI --console-socket: it is the caller's then, ours is closed (sent or not) */
export function sendPty(socketPath: string, fd: number): void {
  let r: number;
  try {
    r = extra().bk_send_fd(cstr(socketPath), fd);
  } finally {
    closeFd(fd);
  }
  if (r < 0) throw new BunkerError("cannot send the terminal to the console socket", { errno: -r, path: socketPath, fix: "give --console-socket the AF_UNIX socket its caller listens on (conmon, containerd-shim), created first" });
}

/** connects to the unix socket SOCKET_PATH and sends DATA with FD (SCM_RIGHTS) on one connection: 0 or -errno */
export function sendFdWith(socketPath: string, fd: number, data: Uint8Array): number {
  return extra().bk_send_fd_with(cstr(socketPath), fd, data, data.byteLength);
}

/** become a child subreaper: orphans of our children come to us */
export function becomeSubreaper(): void {
  const r = extra().bk_subreaper();
  if (r < 0) throw new BunkerError("cannot become a child subreaper", { errno: -r });
}

/** waits up to TIMEOUT_MS for PID to exit (any process); true if it did */
export function waitPidExit(pid: number, timeoutMs: number): boolean {
  const out = new Int32Array(1);
  const r = extra().bk_pidfd_wait(pid, timeoutMs, out);
  if (r < 0) throw new BunkerError(`cannot wait for process ${pid}`, { errno: -r });
  return out[0] === 1;
}

/** our child PID's exit status once it has exited (reaped then), undefined while it runs; never blocks */
export function tryReap(pid: number): ExitStatus | undefined {
  const out = new Int32Array(3);
  const r = extra().bk_try_reap(pid, out);
  if (r < 0) throw new BunkerError(`cannot wait for process ${pid}`, { errno: -r });
  return out[0] ? { code: out[1]!, signal: out[2]! } : undefined;
}

/** a new pipe, both ends close-on-exec */
export function makePipe(): { read: number; write: number } {
  const out = new Int32Array(2);
  const r = extra().bk_pipe(out);
  if (r < 0) throw new BunkerError("cannot make a pipe", { errno: -r });
  return { read: out[0]!, write: out[1]! };
}

/** makes terminal FD raw (cfmakeraw); what restoreTerminal puts back */
export function makeRaw(fd: number): Uint8Array {
  const saved = new Uint8Array(256);
  const r = extra().bk_tty_raw(fd, saved, saved.length);
  if (r < 0) throw new BunkerError("cannot put the terminal in raw mode", { errno: -r, fix: "attach from a terminal, or give --no-stdin" });
  return saved;
}

/** terminal FD's settings as makeRaw found them */
export function restoreTerminal(fd: number, saved: Uint8Array): void {
  extra().bk_tty_restore(fd, saved, saved.length);
}

/** the window size of the terminal whose master is FD */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const r = extra().bk_set_winsize(fd, rows, cols);
  if (r < 0) throw new BunkerError("cannot resize the terminal", { errno: -r });
}
