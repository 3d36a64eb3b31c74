// The few libc file calls that commands reading a handful of files need
// (`state`: a state file, /proc/PID/stat, owners), bound on their own:
// bun:ffi compiles a trampoline per symbol, so fsat.ts's two dozen are not
// paid for here.  Synchronous on purpose: Bun's async file API starts its
// thread pool on first use (three threads, ~1 ms of an 8 ms command), node:fs
// costs ~150 page faults to load.  Functions throw FsError (errno, call,
// path) or return undefined where "it is not there" is an answer.
import { dlopen, FFIType, read as peek, type Pointer } from "bun:ffi";
import { FsError } from "../errors.ts";

const { i32, u32, u64, i64, ptr } = FFIType;
const libc = dlopen("libc.so.6", {
  openat: { args: [i32, ptr, i32, u32], returns: i32 },
  read: { args: [i32, ptr, u64], returns: i64 },
  close: { args: [i32], returns: i32 },
  fstatat: { args: [i32, ptr, ptr, i32], returns: i32 },
  readlinkat: { args: [i32, ptr, ptr, u64], returns: i64 },
  flock: { args: [i32, i32], returns: i32 },
  poll: { args: [ptr, u64, i32], returns: i32 },
  __errno_location: { args: [], returns: ptr },
}).symbols;

const errnoPtr = libc.__errno_location() as Pointer;
export const errno = (): number => peek.i32(errnoPtr, 0);

export const AT_FDCWD = -100;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2, EINTR = 4;

const enc = new TextEncoder();
export const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

/** flock(2) with OP (LOCK_SH, LOCK_EX, either | LOCK_NB): 0 or -errno */
export function flock(fd: number, op: number): number {
  return libc.flock(fd, op) < 0 ? -errno() : 0;
}

/** read(2) once into BUF: the byte count (0: end of file), or -errno (-EAGAIN on an empty non-blocking pipe) */
export function readFd(fd: number, buf: Uint8Array): number {
  const r = Number(libc.read(fd, buf, buf.length));
  return r < 0 ? -errno() : r;
}

const pollBuf = new Int32Array(2);
/**
 * poll(2) FD for input for up to MS milliseconds: true when it is readable or
 * hung up (its writers gone), false on timeout or a signal
 */
export function waitReadable(fd: number, ms: number): boolean {
  pollBuf[0] = fd;
  pollBuf[1] = 1; // events = POLLIN, revents = 0
  return libc.poll(pollBuf, 1, ms) > 0;
}

// Scratch buffers reused by every call (the unpacker makes several calls per
// file: fresh allocations each time showed up as GC and page-fault time).
// Two path buffers because some calls take two paths; a call uses them only
// until it returns, and JS is single-threaded.
const PATH_MAX = 4096;
const scratch = [new Uint8Array(PATH_MAX * 3 + 1), new Uint8Array(PATH_MAX * 3 + 1)];

/** NUL-terminated bytes of S (paths are passed as C strings) in scratch buffer SLOT. */
export function cstr(s: string, slot = 0): Uint8Array {
  const b = s.length * 3 + 1 <= scratch[slot]!.length ? scratch[slot]! : new Uint8Array(s.length * 3 + 1);
  const { written } = enc.encodeInto(s, b.subarray(0, b.length - 1));
  b[written] = 0;
  return b;
}

/** R, or FsError(errno, CALL, PATH) when it is negative */
export function check(r: number | bigint, call: string, path: string): number {
  const n = Number(r);
  if (n < 0) throw new FsError(errno(), call, path);
  return n;
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return check(libc.openat(dirfd, cstr(path), flags | O_CLOEXEC, mode), "openat", path);
}

export function close(fd: number): void {
  libc.close(fd);
}

/** PATH's whole content as text (a /proc file too: read to the end, not to a size); FsError when it cannot be opened or read */
export function readText(path: string): string {
  const fd = openat(AT_FDCWD, path, 0);
  try {
    let buf = new Uint8Array(16384), n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const r = Number(libc.read(fd, buf.subarray(n), buf.length - n));
      if (r === 0) break;
      if (r < 0) {
        if (errno() === EINTR) continue;
        throw new FsError(errno(), "read", path);
      }
      n += r;
    }
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    libc.close(fd);
  }
}

/** the target of the symlink PATH (relative to DIRFD) */
export function readlinkat(dirfd: number, path: string): string {
  const buf = new Uint8Array(4096);
  const n = check(libc.readlinkat(dirfd, cstr(path), buf, buf.byteLength), "readlinkat", path);
  return new TextDecoder().decode(buf.subarray(0, n));
}

export interface StatAt {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  rdev: number;
  /** seconds since the epoch, with the nanoseconds as a fraction */
  mtime: number;
}

const statBuf = new Uint8Array(144);
const statView = new DataView(statBuf.buffer);

/** fstatat(2) with FLAGS (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH: PATH "" is DIRFD itself); undefined when the name does not exist */
export function statAt(dirfd: number, path: string, flags: number): StatAt | undefined {
  if (libc.fstatat(dirfd, cstr(path), statBuf, flags) < 0) {
    const e = errno();
    if (e === ENOENT) return undefined;
    throw new FsError(e, "fstatat", path);
  }
  const v = statView;
  // struct stat on x86_64: st_nlink@16 (u64), st_mode@24, st_uid@28, st_gid@32, st_rdev@40 (u64), st_size@48
  return {
    rdev: Number(v.getBigUint64(40, true)),
    nlink: Number(v.getBigUint64(16, true)),
    mode: v.getUint32(24, true),
    uid: v.getUint32(28, true),
    gid: v.getUint32(32, true),
    size: Number(v.getBigInt64(48, true)),
    // st_mtim@88 (s, ns)
    mtime: Number(v.getBigInt64(88, true)) + Number(v.getBigInt64(96, true)) / 1e9,
  };
}

/** stat(2) of PATH (symlinks followed); undefined when it does not exist */
export const statPath = (path: string): StatAt | undefined => statAt(AT_FDCWD, path, 0);
