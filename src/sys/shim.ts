// bun:ffi binding of the C shim (c/*.c, build/libbunker.so), embedded in the executable.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync, writeSync } from "node:fs";
import libPath from "../../build/libbunker.so" with { type: "file" };
import monitorPath from "../../build/bunker-monitor" with { type: "file" };
import { BunkerError } from "../errors.ts";
import { MESSAGES } from "../plan/ops.ts";

const symbols = {
  bk_spawn: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  bk_send_go: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bk_forward_signals: { args: [], returns: FFIType.i32 },
  bk_sealed_memfd: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  bk_exec_monitor: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  bk_read_msg: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  bk_supervise: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  bk_mkfifo: { args: [FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  bk_stat_dirs: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  bk_open_ns: { args: [FFIType.cstring, FFIType.cstring], returns: FFIType.i32 },
  bk_close: { args: [FFIType.i32], returns: FFIType.i32 },
  bk_send_fd: { args: [FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  bk_send_fd_with: { args: [FFIType.cstring, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  bk_subreaper: { args: [], returns: FFIType.i32 },
  bk_reap: { args: [FFIType.i32], returns: FFIType.i32 },
  bk_pidfd_wait: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  bk_try_reap: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  bk_pipe: { args: [FFIType.ptr], returns: FFIType.i32 },
  bk_set_winsize: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bk_tty_raw: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  bk_tty_restore: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  bk_spawn_log_writer: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  bk_spawn_keeper: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let lib: Lib | undefined;

function open(): Lib {
  try {
    return dlopen(libPath, symbols).symbols;
  } catch (first) {
    // Bun extracts embedded files to /tmp; a noexec /tmp makes dlopen fail.
    // Load it from a memfd instead (not subject to any mount's noexec).
    try {
      const libc = dlopen("libc.so.6", { memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 } });
      const fd = libc.symbols.memfd_create(Buffer.from("libbunker\0"), 1 /* MFD_CLOEXEC */);
      if (fd < 0) throw new Error("memfd_create failed");
      writeSync(fd, readFileSync(libPath));
      return dlopen(`/proc/self/fd/${fd}`, symbols).symbols;
    } catch (second) {
      throw new BunkerError(`cannot load the embedded shim: ${(first as Error).message}; from a memfd: ${(second as Error).message}`, {
        path: libPath,
        fix: "make /tmp allow exec, or allow exec of memfds (sysctl vm.memfd_noexec=0)",
      });
    }
  }
}

function shim(): Lib {
  return (lib ??= open());
}

export interface Spawned {
  pid: number;
  sock: number;
}

/** clone() the container's first process; it waits for sendGo(). */
export function spawn(plan: Uint8Array): Spawned {
  const out = new Int32Array(2);
  const r = shim().bk_spawn(ptr(plan), plan.byteLength, ptr(out));
  if (r < 0) throw new BunkerError("cannot create the container process (clone)", { errno: -r });
  return { pid: out[0]!, sock: out[1]! };
}

/** catch the signals bunker forwards from now on (they are queued until supervise) */
export function forwardSignals(): void {
  const r = shim().bk_forward_signals();
  if (r < 0) throw new BunkerError("cannot set up signal forwarding", { errno: -r });
}

/** the embedded monitor executable, read once (a foreground --init run needs it twice) */
let monitor: Buffer | undefined;
const monitorImage = () => (monitor ??= readFileSync(monitorPath));

/** the monitor executable in a sealed memfd (see c/supervise.c), or -errno */
export function monitorMemfd(): number {
  const image = monitorImage();
  return shim().bk_sealed_memfd(ptr(image), image.byteLength);
}

/**
 * Replaces this process by the monitor (c/monitor.c) with ARGS, keeping fd
 * KEEP (or -1) open; needs forwardSignals() first.  Returns only when the
 * exec failed, with its -errno.
 */
export function execMonitor(args: string[], keep: number): number {
  const image = monitorImage();
  const buf = Buffer.from(args.map((a) => a + "\0").join(""));
  return shim().bk_exec_monitor(ptr(image), image.byteLength, ptr(buf), buf.byteLength, keep);
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
  const r = shim().bk_spawn_log_writer(ptr(image), image.byteLength, ptr(buf), buf.byteLength, (o.stderr ? 1 : 0) | (o.stdin ? 2 : 0), o.tty, ptr(out));
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
  const r = shim().bk_spawn_keeper(ptr(image), image.byteLength, ptr(buf), buf.byteLength, errFd, ptr(out));
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
  const t = shim().bk_read_msg(sock, ptr(out));
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
  const r = shim().bk_supervise(pid, pty, relayStdin ? 1 : 0, ptr(out));
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
  const r = shim().bk_stat_dirs(ptr(buf), buf.byteLength, ptr(out));
  if (r < 0) return { stamp: undefined, dirs: false };
  return { stamp: out.join(":"), dirs: r === 0 };
}

/** PATH (a /proc/PID/ns/* file) opened if its inode number is INO: the fd, or -errno (-ESTALE: another namespace); one call, for userns.ts */
export function openNamespace(path: string, ino: string): number {
  return shim().bk_open_ns(cstr(path), cstr(ino));
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
    r = shim().bk_send_fd(cstr(socketPath), fd);
  } finally {
    closeFd(fd);
  }
  if (r < 0) throw new BunkerError("cannot send the terminal to the console socket", { errno: -r, path: socketPath, fix: "give --console-socket the AF_UNIX socket its caller listens on (conmon, containerd-shim), created first" });
}

/** connects to the unix socket SOCKET_PATH and sends DATA with FD (SCM_RIGHTS) on one connection: 0 or -errno */
export function sendFdWith(socketPath: string, fd: number, data: Uint8Array): number {
  return shim().bk_send_fd_with(cstr(socketPath), fd, ptr(data), data.byteLength);
}

/** become a child subreaper: orphans of our children come to us */
export function becomeSubreaper(): void {
  const r = shim().bk_subreaper();
  if (r < 0) throw new BunkerError("cannot become a child subreaper", { errno: -r });
}

/** waits up to TIMEOUT_MS for PID to exit (any process); true if it did */
export function waitPidExit(pid: number, timeoutMs: number): boolean {
  const out = new Int32Array(1);
  const r = shim().bk_pidfd_wait(pid, timeoutMs, ptr(out));
  if (r < 0) throw new BunkerError(`cannot wait for process ${pid}`, { errno: -r });
  return out[0] === 1;
}

/** our child PID's exit status once it has exited (reaped then), undefined while it runs; never blocks */
export function tryReap(pid: number): ExitStatus | undefined {
  const out = new Int32Array(3);
  const r = shim().bk_try_reap(pid, ptr(out));
  if (r < 0) throw new BunkerError(`cannot wait for process ${pid}`, { errno: -r });
  return out[0] ? { code: out[1]!, signal: out[2]! } : undefined;
}

/** a new pipe, both ends close-on-exec */
export function makePipe(): { read: number; write: number } {
  const out = new Int32Array(2);
  const r = shim().bk_pipe(ptr(out));
  if (r < 0) throw new BunkerError("cannot make a pipe", { errno: -r });
  return { read: out[0]!, write: out[1]! };
}

/** makes terminal FD raw (cfmakeraw); what restoreTerminal puts back */
export function makeRaw(fd: number): Uint8Array {
  const saved = new Uint8Array(256);
  const r = shim().bk_tty_raw(fd, ptr(saved), saved.length);
  if (r < 0) throw new BunkerError("cannot put the terminal in raw mode", { errno: -r, fix: "attach from a terminal, or give --no-stdin" });
  return saved;
}

/** terminal FD's settings as makeRaw found them */
export function restoreTerminal(fd: number, saved: Uint8Array): void {
  shim().bk_tty_restore(fd, ptr(saved), saved.length);
}

/** the window size of the terminal whose master is FD */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  const r = shim().bk_set_winsize(fd, rows, cols);
  if (r < 0) throw new BunkerError("cannot resize the terminal", { errno: -r });
}
