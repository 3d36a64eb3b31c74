// node:fs's synchronous calls that the start-up paths of `run` and `create`
// make, with node's names, arguments and errors, on fs-core's libc bindings.
// node:fs is JavaScript evaluated at every start that imports it (its
// validators, streams, promises...): ~0.6 ms of a 2.4 ms empty program.
//
// Errors are node's: an Error with a string `code` ("ENOENT"), a negative
// `errno`, `syscall` and `path` (`dest` for rename), and node's message
// ("ENOENT: no such file or directory, open '/x'"), so errnoCode and
// fromSysError (src/errors.ts) read them as they read node:fs's.
//
// Only what those paths use: image, build and API code stays on node:fs.
import { errnoMessage, errnoName } from "./errno.ts";
import { AT_FDCWD, bindLibc, cstr, eachDirent, errno, exists, FFI_TYPES, libc, readToEnd, utf8 } from "./fs-core.ts";

const { i32, u32, i64, u64, ptr } = FFI_TYPES;
type Native = (...args: unknown[]) => number | bigint;
let more: Record<"pread" | "write" | "renameat" | "fchownat" | "faccessat", Native> | undefined;
/**
 * the calls fs-core does not bind, bound at the first that is made (each
 * symbol bound costs ~5 us: `state`, `start` and `delete` make none of them)
 */
const sys = () =>
  (more ??= bindLibc({
    pread: { args: [i32, ptr, u64, i64], returns: i64 },
    write: { args: [i32, ptr, u64], returns: i64 },
    renameat: { args: [i32, ptr, i32, ptr], returns: i32 },
    fchownat: { args: [i32, ptr, u32, u32, i32], returns: i32 },
    faccessat: { args: [i32, ptr, i32, i32], returns: i32 },
  }));

/** node:fs's error for a failed system call (same fields and message) */
export class SysCallError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
  readonly dest?: string;
  constructor(errnum: number, syscall: string, path?: string, dest?: string) {
    const code = errnoName(errnum);
    super(`${code}: ${uvMessage(errnum, code)}, ${syscall}${path === undefined ? "" : ` '${path}'`}${dest === undefined ? "" : ` -> '${dest}'`}`);
    this.code = code;
    this.errno = -errnum;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (dest !== undefined) this.dest = dest;
  }
}

// libuv's wording (what node and Bun put in the message) where it is not strerror's lowercased
const UV: Record<string, string> = {
  EEXIST: "file already exists",
  EISDIR: "illegal operation on a directory",
  EBUSY: "resource busy or locked",
  ELOOP: "too many symbolic links encountered",
  EXDEV: "cross-device link not permitted",
  ENAMETOOLONG: "name too long",
  EIO: "i/o error",
  ETXTBSY: "text file is busy",
  ENOMEM: "not enough memory",
  EFAULT: "bad address in system call argument",
  EMFILE: "too many open files",
};

function uvMessage(errnum: number, code: string): string {
  const m = UV[code];
  if (m !== undefined) return m;
  const s = errnoMessage(errnum);
  return s ? s[0]!.toLowerCase() + s.slice(1) : "unknown error";
}

const fail = (call: string, path?: string, dest?: string): never => {
  throw new SysCallError(errno(), call, path, dest);
};

const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000, O_APPEND = 0o2000, O_CLOEXEC = 0o2000000;
const EINTR = 4, ENOENT = 2, EEXIST = 17, EISDIR = 21;
const AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;

/** node:fs's constants that these paths use */
export const constants = { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4 } as const;

type Flag = "r" | "r+" | "w" | "wx" | "w+" | "a" | "ax" | "a+" | number;

/** node's open flags as open(2)'s */
function openFlags(flag: Flag): number {
  if (typeof flag === "number") return flag;
  switch (flag) {
    case "r":
      return O_RDONLY;
    case "r+":
      return O_RDWR;
    case "w":
      return O_WRONLY | O_CREAT | O_TRUNC;
    case "wx":
      return O_WRONLY | O_CREAT | O_TRUNC | O_EXCL;
    case "w+":
      return O_RDWR | O_CREAT | O_TRUNC;
    case "a":
      return O_WRONLY | O_CREAT | O_APPEND;
    case "ax":
      return O_WRONLY | O_CREAT | O_APPEND | O_EXCL;
    case "a+":
      return O_RDWR | O_CREAT | O_APPEND;
  }
  throw new TypeError(`unknown file open flag: ${String(flag)}`);
}

/** open(2) of PATH with node's FLAGS ("r", "w", "wx", "a", or open(2)'s) and MODE (0o666), close-on-exec as node's */
export function openSync(path: string, flags: Flag = "r", mode = 0o666): number {
  for (;;) {
    const fd = libc.openat(AT_FDCWD, cstr(path), openFlags(flags) | O_CLOEXEC, mode | 0) as number;
    if (fd >= 0) return fd;
    if (errno() !== EINTR) fail("open", path);
  }
}

export function closeSync(fd: number): void {
  if ((libc.close(fd | 0) as number) < 0) fail("close");
}

/** read(2) (POSITION null) or pread(2) of up to LENGTH bytes into BUF at OFFSET: the count read */
export function readSync(fd: number, buf: Uint8Array, offset = 0, length = buf.length - offset, position: number | null = null): number {
  if (offset < 0 || length < 0 || offset + length > buf.length) throw new RangeError(`readSync: offset ${offset} and length ${length} outside a buffer of ${buf.length}`);
  const into = offset === 0 && length === buf.length ? buf : buf.subarray(offset, offset + length);
  for (;;) {
    const r = Number(position === null || position < 0 ? libc.read(fd | 0, into, length) : sys().pread(fd | 0, into, length, position));
    if (r >= 0) return r;
    if (errno() !== EINTR) fail("read");
  }
}

const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === "string" ? utf8(data) : data);

/** one write(2) of DATA (a string: its UTF-8) to FD: the count written, as node's */
export function writeSync(fd: number, data: string | Uint8Array): number {
  const b = bytesOf(data);
  for (;;) {
    const r = Number(sys().write(fd | 0, b, b.length));
    if (r >= 0) return r;
    if (errno() !== EINTR) fail("write");
  }
}

/** all of B to FD (write(2) until done) */
function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) {
    const r = Number(sys().write(fd | 0, off ? b.subarray(off) : b, b.length - off));
    if (r < 0) {
      if (errno() === EINTR) continue;
      fail("write");
    }
    off += r;
  }
}

export interface WriteOptions {
  mode?: number;
  flag?: Flag;
}

/** PATH's content made DATA (FLAG "w": created or truncated; "a": appended; "wx": created, EEXIST when it exists), a new file with MODE (0o666) */
export function writeFileSync(path: string, data: string | Uint8Array, options?: WriteOptions): void {
  const fd = openSync(path, options?.flag ?? "w", options?.mode ?? 0o666);
  try {
    writeAll(fd, bytesOf(data));
  } finally {
    libc.close(fd | 0);
  }
}

/** DATA appended to PATH (created with MODE, 0o666) */
export function appendFileSync(path: string, data: string | Uint8Array, options?: WriteOptions): void {
  writeFileSync(path, data, { mode: options?.mode, flag: options?.flag ?? "a" });
}

/** the bytes of FD's file to its end (fs-core's readToEnd), node's error for a failed read */
function readAll(fd: number): Uint8Array {
  const bytes = readToEnd(fd);
  if (typeof bytes === "number") throw new SysCallError(bytes, "read");
  return bytes;
}

/** BYTES as latin1 text: each byte one character (TextDecoder's "latin1" is windows-1252) */
function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  return s;
}

/** PATH's content: text (ENCODING "utf8" or "latin1"), or its bytes */
export function readFileSync(path: string, encoding: "utf8" | "utf-8" | "latin1"): string;
export function readFileSync(path: string): Uint8Array;
export function readFileSync(path: string, encoding?: "utf8" | "utf-8" | "latin1"): string | Uint8Array {
  const fd = openSync(path, "r");
  let bytes: Uint8Array;
  try {
    bytes = readAll(fd);
  } finally {
    libc.close(fd | 0);
  }
  if (encoding === undefined) return bytes;
  return encoding === "latin1" ? latin1(bytes) : new TextDecoder().decode(bytes);
}

/** whether PATH exists (symlinks followed): any error is "no", as node's (fs-core's exists) */
export const existsSync = exists;

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000;

/** the fields of node's Stats that callers read */
export class Stats {
  constructor(
    readonly dev: number,
    readonly ino: number,
    readonly mode: number,
    readonly nlink: number,
    readonly uid: number,
    readonly gid: number,
    readonly rdev: number,
    readonly size: number,
    readonly mtimeMs: number,
  ) {}
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
}

const statBuf = new Uint8Array(144);
const statView = new DataView(statBuf.buffer);

function statOf(dirfd: number, path: string, flags: number, call: string, shown?: string): Stats {
  if ((libc.fstatat(dirfd | 0, cstr(path), statBuf, flags) as number) < 0) fail(call, shown);
  const v = statView;
  // struct stat on x86_64: st_dev@0, st_ino@8, st_nlink@16 (u64), st_mode@24, st_uid@28, st_gid@32, st_rdev@40 (u64), st_size@48, st_mtim@88 (s, ns)
  return new Stats(
    Number(v.getBigUint64(0, true)),
    Number(v.getBigUint64(8, true)),
    v.getUint32(24, true),
    Number(v.getBigUint64(16, true)),
    v.getUint32(28, true),
    v.getUint32(32, true),
    Number(v.getBigUint64(40, true)),
    Number(v.getBigInt64(48, true)),
    Number(v.getBigInt64(88, true)) * 1000 + Number(v.getBigInt64(96, true)) / 1e6,
  );
}

export const statSync = (path: string): Stats => statOf(AT_FDCWD, path, 0, "stat", path);
export const lstatSync = (path: string): Stats => statOf(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, "lstat", path);
export const fstatSync = (fd: number): Stats => statOf(fd, "", AT_EMPTY_PATH, "fstat");

export interface MkdirOptions {
  mode?: number;
  recursive?: boolean;
}

/** mkdir(2) of PATH with MODE (0o777); RECURSIVE: its missing parents too, an existing directory is no error */
export function mkdirSync(path: string, options?: MkdirOptions): void {
  const mode = options?.mode ?? 0o777;
  if (!options?.recursive) {
    if ((libc.mkdirat(AT_FDCWD, cstr(path), mode | 0) as number) < 0) fail("mkdir", path);
    return;
  }
  const e = mkdirs(path, mode);
  if (e) throw new SysCallError(e, "mkdir", path); // node names the path asked for, not the parent that failed
}

/** mkdir -p PATH: 0, or the errno that stopped it */
function mkdirs(path: string, mode: number): number {
  if ((libc.mkdirat(AT_FDCWD, cstr(path), mode | 0) as number) === 0) return 0;
  const e = errno();
  if (e === EEXIST) return (libc.fstatat(AT_FDCWD, cstr(path), statBuf, 0) as number) === 0 && (statView.getUint32(24, true) & S_IFMT) === S_IFDIR ? 0 : EEXIST;
  if (e !== ENOENT) return e;
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  const slash = path.lastIndexOf("/", end - 1);
  if (slash <= 0) return e;
  const up = mkdirs(path.slice(0, slash), mode);
  if (up) return up;
  if ((libc.mkdirat(AT_FDCWD, cstr(path), mode | 0) as number) === 0) return 0;
  return errno() === EEXIST ? 0 : errno();
}

/** a directory entry: its name and type (d_type; an unknown one looked up) */
export class Dirent {
  constructor(
    readonly name: string,
    private readonly type: number,
  ) {}
  isDirectory(): boolean {
    return this.type === DT_DIR;
  }
  isFile(): boolean {
    return this.type === DT_REG;
  }
  isSymbolicLink(): boolean {
    return this.type === DT_LNK;
  }
}
const DT_DIR = 4, DT_REG = 8, DT_LNK = 10;
const O_DIRECTORY = 0o200000;

/** the names in directory PATH (not . and ..), in the directory's order (as Bun's); WITHFILETYPES: as Dirents */
export function readdirSync(path: string): string[];
export function readdirSync(path: string, options: { withFileTypes: true }): Dirent[];
export function readdirSync(path: string, options?: { withFileTypes: true }): string[] | Dirent[] {
  const types = options?.withFileTypes === true;
  const fd = libc.openat(AT_FDCWD, cstr(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) as number;
  if (fd < 0) fail("scandir", path);
  const names: string[] = [];
  const ents: Dirent[] = [];
  try {
    const e = eachDirent(fd, (name, type) => {
      if (!types) return void names.push(name);
      if (type === 0 && (libc.fstatat(fd | 0, cstr(name), statBuf, AT_SYMLINK_NOFOLLOW) as number) === 0) type = typeOfMode(statView.getUint32(24, true));
      ents.push(new Dirent(name, type));
    });
    if (e) throw new SysCallError(e, "scandir", path);
    return types ? ents : names;
  } finally {
    libc.close(fd | 0);
  }
}

const typeOfMode = (mode: number): number => ((mode & S_IFMT) === S_IFDIR ? DT_DIR : (mode & S_IFMT) === S_IFREG ? DT_REG : (mode & S_IFMT) === S_IFLNK ? DT_LNK : 0);

export function renameSync(from: string, to: string): void {
  if ((sys().renameat(AT_FDCWD, cstr(from, 0), AT_FDCWD, cstr(to, 1)) as number) < 0) fail("rename", from, to);
}

export function rmdirSync(path: string): void {
  if ((libc.unlinkat(AT_FDCWD, cstr(path), AT_REMOVEDIR) as number) < 0) fail("rmdir", path);
}

export interface RmOptions {
  force?: boolean;
  recursive?: boolean;
}

/**
 * removes PATH (a symlink itself, not its target); RECURSIVE: a directory
 * with all it holds; FORCE: a missing PATH is no error
 */
export function rmSync(path: string, options?: RmOptions): void {
  if ((libc.unlinkat(AT_FDCWD, cstr(path), 0) as number) === 0) return;
  const e = errno();
  if (e === ENOENT) {
    if (options?.force) return;
    throw new SysCallError(e, "lstat", path); // node looks first
  }
  if (e !== EISDIR) throw new SysCallError(e, "rm", path);
  if (!options?.recursive) throw Object.assign(new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`), { code: "ERR_FS_EISDIR", errno: EISDIR, syscall: "rm", path });
  removeTree(path);
}

/** directory DIR and all in it, depth first */
function removeTree(dir: string): void {
  let ents: Dirent[];
  try {
    ents = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e instanceof SysCallError && e.code === "ENOENT") return;
    throw e;
  }
  for (const d of ents) {
    const p = `${dir}/${d.name}`;
    if (d.isDirectory()) removeTree(p);
    else if ((libc.unlinkat(AT_FDCWD, cstr(p), 0) as number) < 0) {
      const e = errno();
      if (e === EISDIR) removeTree(p);
      else if (e !== ENOENT) throw new SysCallError(e, "unlink", p);
    }
  }
  if ((libc.unlinkat(AT_FDCWD, cstr(dir), AT_REMOVEDIR) as number) < 0 && errno() !== ENOENT) fail("rmdir", dir);
}

export function chmodSync(path: string, mode: number): void {
  if ((libc.fchmodat(AT_FDCWD, cstr(path), mode | 0, 0) as number) < 0) fail("chmod", path);
}

export function chownSync(path: string, uid: number, gid: number): void {
  if ((sys().fchownat(AT_FDCWD, cstr(path), uid | 0, gid | 0, 0) as number) < 0) fail("chown", path);
}

/** access(2) of PATH for MODE (constants.F_OK, R_OK, W_OK, X_OK); throws when denied */
export function accessSync(path: string, mode = 0): void {
  if ((sys().faccessat(AT_FDCWD, cstr(path), mode | 0, 0) as number) < 0) fail("access", path);
}

const linkBuf = new Uint8Array(4096);

/** the target of the symlink PATH */
export function readlinkSync(path: string): string {
  const n = Number(libc.readlinkat(AT_FDCWD, cstr(path), linkBuf, linkBuf.length));
  if (n < 0) fail("readlink", path);
  return new TextDecoder().decode(linkBuf.subarray(0, n));
}


/**
 * the bytes of PATH, a file embedded in the executable (`import p from F with
 * { type: "file" }`: /$bunfs/... when compiled) or a plain file (run from the
 * sources).  An embedded file is a Blob in memory: its bytes() promise is
 * fulfilled at once and read with Bun.peek, without node:fs or a thread.
 */
export function readEmbeddedFile(path: string): Uint8Array {
  if (!path.startsWith("/$bunfs/")) return readFileSync(path);
  const p = Bun.file(path).bytes();
  const v = Bun.peek(p);
  if (v instanceof Uint8Array) return v;
  p.catch(() => {}); // not at hand at once (never seen): node:fs reads it, as before
  return (process.getBuiltinModule("node:fs") as typeof import("node:fs")).readFileSync(path);
}
