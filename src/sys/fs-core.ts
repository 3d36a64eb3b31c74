// The few libc file calls that commands reading a handful of files need
// (`state`: a state file, /proc/PID/stat, owners; `start` and `delete`: the
// lock, exec.fifo, a flat state dir), bound on their own: fsat.ts's two dozen
// are not paid for here.  Synchronous on purpose: Bun's async file API starts
// its thread pool on first use (three threads, ~1 ms of an 8 ms command),
// node:fs costs ~150 page faults (0.6-0.8 ms) to load.  Functions throw
// FsError (errno, call, path) or return undefined where "it is not there" is
// an answer.
//
// Bound through Bun's native FFI object (what bun:ffi itself wraps), not
// bun:ffi: that module is JavaScript, and its dlopen builds a wrapper per
// symbol with `new Function` (compiled at run time, no bytecode): ~0.12 ms of
// the 0.17 ms a bun:ffi dlopen of these symbols takes in a compiled bunker.
// The native symbols take their arguments as they are: an i32 must be an
// int32 (`| 0` below), a pointer a typed array (its data) or a pointer number.
import { FsError } from "../errors.ts";

type Native = (...args: unknown[]) => number | bigint;
interface NativeFfi {
  dlopen(path: string, symbols: Record<string, { args: number[]; returns: number }>): Error | { symbols: Record<string, Native> };
  read: { i32(ptr: number, offset: number): number };
}
/** Bun's FFI type codes (bun:ffi's FFIType) */
const i32 = 5, u32 = 6, i64 = 7, u64 = 8, ptr = 12;

/** SYMBOLS of libc.so.6, bound natively (see above): the callers pass int32s */
export function bindLibc<K extends string>(symbols: Record<K, { args: number[]; returns: number }>): Record<K, Native> {
  const lib = (Bun as unknown as { FFI: NativeFfi }).FFI.dlopen("libc.so.6", symbols);
  if (lib instanceof Error) throw lib;
  return lib.symbols as Record<K, Native>;
}
export const FFI_TYPES = { i32, u32, i64, u64, ptr } as const;

/**
 * SYMBOLS of the library at PATH, bound natively, each wrapped so that its
 * i32 and u32 arguments are made int32s (`| 0`, as bun:ffi's wrappers do: a
 * u32 above 2^31 reaches C as its bits); a dlopen failure throws
 */
export function bindLibrary<K extends string>(path: string, symbols: Record<K, { args: number[]; returns: number }>): Record<K, Native> {
  const lib = (Bun as unknown as { FFI: NativeFfi }).FFI.dlopen(path, symbols);
  if (lib instanceof Error) throw lib;
  const out = {} as Record<K, Native>;
  for (const name in symbols) out[name] = intArgs(lib.symbols[name]!, symbols[name].args);
  return out;
}

/** FN with its i32 and u32 arguments (by TYPES) made int32s; fixed arities, as bun:ffi's wrappers (the unpacker calls these per file) */
function intArgs(fn: Native, types: number[]): Native {
  const m: boolean[] = [];
  let any = false;
  for (let k = 0; k < types.length; k++) any = (m[k] = types[k] === i32 || types[k] === u32) || any;
  if (!any) return fn;
  const v = (k: number, x: unknown) => (m[k] ? (x as number) | 0 : x);
  switch (types.length) {
    case 1:
      return (a) => fn(v(0, a));
    case 2:
      return (a, b) => fn(v(0, a), v(1, b));
    case 3:
      return (a, b, c) => fn(v(0, a), v(1, b), v(2, c));
    case 4:
      return (a, b, c, d) => fn(v(0, a), v(1, b), v(2, c), v(3, d));
    case 5:
      return (a, b, c, d, e) => fn(v(0, a), v(1, b), v(2, c), v(3, d), v(4, e));
    default:
      return (...a: unknown[]) => {
        for (let k = 0; k < a.length; k++) a[k] = v(k, a[k]);
        return fn(...a);
      };
  }
}

/** the libc calls of this module, and those of fs-sync.ts (node:fs's synchronous calls for the start-up paths) that `state`, `start` and `delete` make too */
export const libc = bindLibc({
  openat: { args: [i32, ptr, i32, u32], returns: i32 },
  // counts as i32 (a read of at most a buffer, < 2 GiB; -1): an i64 comes back as a BigInt, one per call
  read: { args: [i32, ptr, u64], returns: i32 },
  close: { args: [i32], returns: i32 },
  fstatat: { args: [i32, ptr, ptr, i32], returns: i32 },
  readlinkat: { args: [i32, ptr, ptr, u64], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  poll: { args: [ptr, u64, i32], returns: i32 },
  unlinkat: { args: [i32, ptr, i32], returns: i32 },
  mkdirat: { args: [i32, ptr, u32], returns: i32 },
  fchmodat: { args: [i32, ptr, u32, i32], returns: i32 },
  getdents64: { args: [i32, ptr, u64], returns: i32 },
  getrandom: { args: [ptr, u64, u32], returns: i32 },
  __errno_location: { args: [], returns: ptr },
});

const errnoPtr = libc.__errno_location() as number;
const peekI32 = (Bun as unknown as { FFI: NativeFfi }).FFI.read.i32;
export const errno = (): number => peekI32(errnoPtr, 0);

export const AT_FDCWD = -100;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2, EINTR = 4;

const enc = new TextEncoder();
const dec = new TextDecoder();
export const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

/** flock(2) with OP (LOCK_SH, LOCK_EX, either | LOCK_NB): 0 or -errno */
export function flock(fd: number, op: number): number {
  return (libc.flock(fd | 0, op | 0) as number) < 0 ? -errno() : 0;
}

/** read(2) once into BUF: the byte count (0: end of file), or -errno (-EAGAIN on an empty non-blocking pipe) */
export function readFd(fd: number, buf: Uint8Array): number {
  const r = Number(libc.read(fd | 0, buf, buf.length));
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
  return (libc.poll(pollBuf, 1, ms | 0) as number) > 0;
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
  return check(libc.openat(dirfd | 0, cstr(path), flags | O_CLOEXEC, mode | 0), "openat", path);
}

export function close(fd: number): void {
  libc.close(fd | 0);
}

/** FD's bytes to its end (a /proc file too: read to the end, not to a size), or the errno of the read that failed */
export function readToEnd(fd: number): Uint8Array | number {
  let buf = new Uint8Array(16384), n = 0;
  for (;;) {
    if (n === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const r = Number(libc.read(fd | 0, buf.subarray(n), buf.length - n));
    if (r === 0) return buf.subarray(0, n);
    if (r < 0) {
      const e = errno();
      if (e === EINTR) continue;
      return e;
    }
    n += r;
  }
}

/** PATH's whole content as text (readToEnd); FsError when it cannot be opened or read */
export function readText(path: string): string {
  const fd = openat(AT_FDCWD, path, 0);
  try {
    const bytes = readToEnd(fd);
    if (typeof bytes === "number") throw new FsError(bytes, "read", path);
    return dec.decode(bytes);
  } finally {
    libc.close(fd | 0);
  }
}

/** the target of the symlink PATH (relative to DIRFD) */
export function readlinkat(dirfd: number, path: string): string {
  const buf = new Uint8Array(4096);
  const n = check(libc.readlinkat(dirfd | 0, cstr(path), buf, buf.byteLength), "readlinkat", path);
  return dec.decode(buf.subarray(0, n));
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
  if ((libc.fstatat(dirfd | 0, cstr(path), statBuf, flags | 0) as number) < 0) {
    const e = errno();
    if (e === ENOENT) return undefined;
    throw new FsError(e, "fstatat", path);
  }
  const v = statView;
  // the 64-bit fields as two 32-bit halves (exact below 2^53), no BigInt per field
  const unsigned = (o: number) => v.getUint32(o + 4, true) * 2 ** 32 + v.getUint32(o, true);
  const signed = (o: number) => v.getInt32(o + 4, true) * 2 ** 32 + v.getUint32(o, true);
  // struct stat on x86_64: st_nlink@16 (u64), st_mode@24, st_uid@28, st_gid@32, st_rdev@40 (u64), st_size@48
  return {
    rdev: unsigned(40),
    nlink: unsigned(16),
    mode: v.getUint32(24, true),
    uid: v.getUint32(28, true),
    gid: v.getUint32(32, true),
    size: signed(48),
    // st_mtim@88 (s, ns)
    mtime: signed(88) + signed(96) / 1e9,
  };
}

/** stat(2) of PATH (symlinks followed); undefined when it does not exist */
export const statPath = (path: string): StatAt | undefined => statAt(AT_FDCWD, path, 0);

/** whether PATH exists (symlinks followed), as node's existsSync: any error is "no" */
export function exists(path: string): boolean {
  return (libc.fstatat(AT_FDCWD, cstr(path), statBuf, 0) as number) === 0;
}

const AT_REMOVEDIR = 0x200;

/** unlink(2) of PATH (RMDIR: rmdir(2)); false when it did not exist */
export function unlink(path: string, rmdir = false): boolean {
  if ((libc.unlinkat(AT_FDCWD, cstr(path), rmdir ? AT_REMOVEDIR : 0) as number) === 0) return true;
  const e = errno();
  if (e === ENOENT) return false;
  throw new FsError(e, rmdir ? "rmdir" : "unlink", path);
}

const EEXIST = 17;

/** mkdir(2) of PATH with MODE; false when it existed already */
export function mkdir(path: string, mode: number): boolean {
  if ((libc.mkdirat(AT_FDCWD, cstr(path), mode | 0) as number) === 0) return true;
  const e = errno();
  if (e === EEXIST) return false;
  throw new FsError(e, "mkdir", path);
}

/** chmod(2) of PATH */
export function chmod(path: string, mode: number): void {
  check(libc.fchmodat(AT_FDCWD, cstr(path), mode | 0, 0), "chmod", path);
}

const O_RDONLY = 0, O_DIRECTORY = 0o200000;
const DT_DIR = 4;

/**
 * the names in directory PATH (not . and ..), each with whether it is a
 * directory (d_type; DT_UNKNOWN counts as one: the caller treats it as a tree)
 */
export function readDir(path: string): { name: string; dir: boolean }[] {
  const fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
  const out: { name: string; dir: boolean }[] = [];
  try {
    const e = eachDirent(fd, (name, type) => out.push({ name, dir: type === DT_DIR || type === 0 }));
    if (e) throw new FsError(e, "getdents64", path);
    return out;
  } finally {
    libc.close(fd | 0);
  }
}

/** each entry of directory FD (not . and ..) with its d_type (0: unknown), in the directory's order; 0, or the errno of a failed getdents64 */
export function eachDirent(fd: number, f: (name: string, type: number) => void): number {
  const buf = new Uint8Array(8192);
  const view = new DataView(buf.buffer);
  for (;;) {
    const n = Number(libc.getdents64(fd | 0, buf, buf.length));
    if (n < 0) return errno();
    if (n === 0) return 0;
    // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name (NUL-terminated)
    for (let off = 0; off < n; ) {
      const reclen = view.getUint16(off + 16, true), type = buf[off + 18]!;
      let end = off + 19;
      while (buf[end] !== 0) end++;
      const name = dec.decode(buf.subarray(off + 19, end));
      if (name !== "." && name !== "..") f(name, type);
      off += reclen;
    }
  }
}

/**
 * removes directory DIR whose entries are all files (a container's state
 * dir): true when it is gone (or was not there), false when it holds a
 * directory, which is left for a tree remover
 */
export function removeFlatDir(dir: string): boolean {
  let entries: { name: string; dir: boolean }[];
  try {
    entries = readDir(dir);
  } catch (e) {
    if (e instanceof FsError && e.errno === ENOENT) return true;
    throw e;
  }
  // plain loops: Array.prototype.some is a builtin written in JavaScript, its first call costs
  for (const e of entries) if (e.dir) return false;
  for (const e of entries) unlink(`${dir}/${e.name}`);
  unlink(dir, true);
  return true;
}

/** mkdir -p PATH: each missing directory made with MODE (an existing PATH is left as it is) */
export function mkdirAll(path: string, mode: number): void {
  try {
    mkdir(path, mode);
  } catch (e) {
    if (!(e instanceof FsError && e.errno === ENOENT)) throw e;
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (!parent || parent === path) throw e;
    mkdirAll(parent, mode);
    mkdir(path, mode);
  }
}

/** S as UTF-8 bytes: this module's TextEncoder (Buffer's first use costs ~0.2 ms of a start) */
export const utf8 = (s: string): Uint8Array => enc.encode(s);

/**
 * N random bytes from getrandom(2) (crypto.getRandomValues' first call costs
 * ~0.13 ms of a start); an interrupted or short call is retried, a failing one throws
 */
export function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let got = 0; got < n; ) {
    const r = Number(libc.getrandom(b.subarray(got), n - got, 0));
    if (r < 0 && errno() !== EINTR) throw new FsError(errno(), "getrandom", "");
    if (r > 0) got += r;
  }
  return b;
}
