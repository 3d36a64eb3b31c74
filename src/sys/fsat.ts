// libc bindings (Bun's native FFI object, as fs-core.ts's) of the *at() file syscalls the image unpacker needs.
// Every path is relative to a directory fd; the parent of each tar entry is
// opened with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) (or RESOLVE_BENEATH)
// so no entry can reach outside the layer directory, whatever symlinks the
// layer planted before it.  Functions return the result or throw FsError
// (errno + syscall + path) — callers turn that into a BunkerError.  The
// calls a command reading a few files needs are fs-core.ts's.
import { FsError } from "../errors.ts";
import { bindLibrary, check, cstr, errno, FFI_TYPES, flock, LOCK_EX, LOCK_NB, statAt, type StatAt } from "./fs-core.ts";

export { AT_FDCWD, close, openat, readlinkat, type StatAt } from "./fs-core.ts";

const SYS_openat2 = 437;

export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

const { i32, u32, u64, i64, ptr } = FFI_TYPES;
// bindLibrary makes the i32 and u32 arguments int32s; pointers are typed arrays
const libc = bindLibrary("libc.so.6", {
  syscall: { args: [i64, i32, ptr, ptr, u64], returns: i64 },
  mkdirat: { args: [i32, ptr, u32], returns: i32 },
  mknodat: { args: [i32, ptr, u32, u64], returns: i32 },
  symlinkat: { args: [ptr, i32, ptr], returns: i32 },
  linkat: { args: [i32, ptr, i32, ptr, i32], returns: i32 },
  unlinkat: { args: [i32, ptr, i32], returns: i32 },
  renameat: { args: [i32, ptr, i32, ptr], returns: i32 },
  fchownat: { args: [i32, ptr, u32, u32, i32], returns: i32 },
  fchmod: { args: [i32, u32], returns: i32 },
  fchmodat: { args: [i32, ptr, u32, i32], returns: i32 },
  fchown: { args: [i32, u32, u32], returns: i32 },
  utimensat: { args: [i32, ptr, ptr, i32], returns: i32 },
  futimens: { args: [i32, ptr], returns: i32 },
  fsetxattr: { args: [i32, ptr, ptr, u64, i32], returns: i32 },
  lsetxattr: { args: [ptr, ptr, ptr, u64, i32], returns: i32 },
  lgetxattr: { args: [ptr, ptr, ptr, u64], returns: i64 },
  write: { args: [i32, ptr, u64], returns: i64 },
  pipe2: { args: [ptr, i32], returns: i32 },
});

const howBuf = new BigUint64Array(3);
const tsBuf = new BigInt64Array(4);

/** openat2(2): how = {flags, mode, resolve}. */
export function openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
  howBuf[0] = BigInt(flags | O_CLOEXEC);
  howBuf[1] = BigInt(mode);
  howBuf[2] = BigInt(resolve);
  const r = libc.syscall(SYS_openat2, dirfd, cstr(path), howBuf, 24);
  return check(r, "openat2", path);
}

export function mkdirat(dirfd: number, path: string, mode: number): void {
  check(libc.mkdirat(dirfd, cstr(path), mode), "mkdirat", path);
}

export function mknodat(dirfd: number, path: string, mode: number, dev: number): void {
  check(libc.mknodat(dirfd, cstr(path), mode, dev), "mknodat", path);
}

export function symlinkat(target: string, dirfd: number, path: string): void {
  check(libc.symlinkat(cstr(target, 1), dirfd, cstr(path)), "symlinkat", path);
}

export function linkat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags = 0): void {
  check(libc.linkat(olddirfd, cstr(oldpath, 1), newdirfd, cstr(newpath), flags), "linkat", newpath);
}

export function unlinkat(dirfd: number, path: string, flags = 0): void {
  check(libc.unlinkat(dirfd, cstr(path), flags), "unlinkat", path);
}

export function renameat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string): void {
  check(libc.renameat(olddirfd, cstr(oldpath, 1), newdirfd, cstr(newpath)), "renameat", newpath);
}

export function fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
  check(libc.fchownat(dirfd, cstr(path), uid >>> 0, gid >>> 0, flags), "fchownat", path);
}

export function fchmod(fd: number, mode: number, path = ""): void {
  check(libc.fchmod(fd, mode), "fchmod", path);
}

/** fchmodat(2) (follows a final symlink: call it only on names just created as non-symlinks). */
export function fchmodat(dirfd: number, path: string, mode: number): void {
  check(libc.fchmodat(dirfd, cstr(path), mode, 0), "fchmodat", path);
}

export function fchown(fd: number, uid: number, gid: number, path = ""): void {
  check(libc.fchown(fd, uid >>> 0, gid >>> 0), "fchown", path);
}

/** utimensat(2) with atime = mtime = SECONDS (fractional); PATH "" = DIRFD itself (futimens). */
export function utimensat(dirfd: number, path: string, seconds: number, flags: number): void {
  const s = Math.floor(seconds);
  const ns = Math.round((seconds - s) * 1e9);
  tsBuf[0] = tsBuf[2] = BigInt(s);
  tsBuf[1] = tsBuf[3] = BigInt(ns);
  if (path === "") check(libc.futimens(dirfd, tsBuf), "futimens", path);
  else check(libc.utimensat(dirfd, cstr(path), tsBuf, flags), "utimensat", path);
}

export function fsetxattr(fd: number, name: string, value: Uint8Array, path = ""): void {
  check(libc.fsetxattr(fd, cstr(name, 1), value.byteLength ? value : null, value.byteLength, 0), "fsetxattr", path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  check(libc.lsetxattr(cstr(path), cstr(name, 1), value.byteLength ? value : null, value.byteLength, 0), "lsetxattr", path);
}

/** The value of xattr NAME on PATH (not following a final symlink), or undefined when absent. */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const buf = new Uint8Array(65536);
  const r = Number(libc.lgetxattr(cstr(path), cstr(name, 1), buf, buf.byteLength));
  if (r < 0) {
    const e = errno();
    if (e === 61 /* ENODATA */ || e === 95 /* EOPNOTSUPP */) return undefined;
    throw new FsError(e, "lgetxattr", path);
  }
  return buf.slice(0, r);
}

/** fstatat(2) with AT_SYMLINK_NOFOLLOW (PATH "": DIRFD itself, an O_PATH fd too); undefined when the name does not exist. */
export function lstatat(dirfd: number, path: string): StatAt | undefined {
  return statAt(dirfd, path, AT_SYMLINK_NOFOLLOW | (path === "" ? AT_EMPTY_PATH : 0));
}

/** write(2) all of DATA to FD. */
export function writeAll(fd: number, data: Uint8Array, path = ""): void {
  let off = 0;
  while (off < data.byteLength) {
    const n = Number(libc.write(fd, off === 0 ? data : data.subarray(off), data.byteLength - off));
    if (n < 0) {
      const e = errno();
      if (e === 4 /* EINTR */) continue;
      throw new FsError(e, "write", path);
    }
    off += n;
  }
}

/** pipe2(2) with O_CLOEXEC: [read end, write end] (a helper gets an end as its stdin or stdout through a dup op) */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check(libc.pipe2(fds, O_CLOEXEC), "pipe2", "");
  return [fds[0]!, fds[1]!];
}

/** flock(2) LOCK_EX|LOCK_NB: true when taken, false when another holder has it. */
export function tryLockExclusive(fd: number, path = ""): boolean {
  const r = flock(fd, LOCK_EX | LOCK_NB);
  if (r === 0) return true;
  if (r === -11 /* EWOULDBLOCK */ || r === -4 /* EINTR */) return false;
  throw new FsError(-r, "flock", path);
}
