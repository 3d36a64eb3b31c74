// Safe application of layer tars onto a directory.
//
// Every entry's parent directory is opened with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS) relative to the root fd, and the entry is created with
// an *at() call on that fd (O_NOFOLLOW/O_EXCL), so no symlink planted by the
// layer can redirect a write outside the root.  When BENEATH refuses a path
// (EXDEV), the path is walked to tell the two cases apart: an absolute symlink
// inside the image (`lib -> /usr/lib`, legitimate: resolved with
// RESOLVE_IN_ROOT, as a chroot would) or a symlink whose `..` climbs above the
// root (rejected).  Entry names with `..` components or absolute names are
// rejected before anything is touched.  Callers unpack into a fresh temp dir
// and rename it into place on success, so a malicious layer changes nothing.
//
// The directory is one overlayfs lower layer (the store's): `.wh.NAME`
// becomes an overlay whiteout (a 0/0 character device, which the kernel lets
// unprivileged users create), `.wh..wh..opq` sets user.overlay.opaque=y (the
// container mounts overlay with `userxattr`).  Hardlinks to files of earlier
// layers are linked (or copied) from the lower layer dirs.  The copy driver
// merges such dirs (the shim's copy-layers op), so whiteouts are applied in
// one place.
//
// Ownership: as root, entries are chowned to the tar's uid/gid.  Unprivileged,
// files stay owned by the caller (= root in a one-id user namespace) and the
// image's owner and mode are kept in `user.containers.override_stat`
// ("UID:GID:0MODE:TYPE", the fuse-overlayfs / containers-storage format).
import { readlinkSync, lstatSync, readSync, rmSync, realpathSync } from "node:fs";
import { BunkerError, FsError, fromSysError, oneLine } from "../errors.ts";
import * as fs from "../sys/fsat.ts";
import { TarReader, type TarEntry } from "./tar.ts";
import { OPAQUE_XATTR, TRUSTED_OPAQUE_XATTR, isOverlayWhiteout, whiteoutOf, type Whiteout } from "./whiteout.ts";
import { processIds } from "../sys/idmap.ts";

export interface UnpackOptions {
  /** lower layer dirs, topmost first: where hardlinks to earlier layers' files are found */
  lowerDirs?: string[];
  /** default: effective uid is not 0 */
  rootless?: boolean;
}

export interface UnpackStats {
  entries: number;
  bytes: number;
  /** things that could not be represented (device nodes rootless, privileged xattrs) */
  notes: string[];
  /** rootless: entries whose owner was recorded in OVERRIDE_XATTR (none: nothing to chown) */
  recorded: number;
}

export const OVERRIDE_XATTR = "user.containers.override_stat";
const enc = new TextEncoder();

interface DeferredDir {
  path: string;
  mode: number;
  mtime: number;
}

interface Parent {
  fd: number;
  /** path of the directory relative to the root, symlinks resolved ("" = root) */
  real: string;
}

/** Validates a tar name and returns its components (empty for the root itself). */
export function entryComponents(name: string, what = "entry"): string[] {
  if (name.startsWith("/")) throw escape(`${what} has an absolute path`, name);
  if (name.includes("\0")) throw escape(`${what} contains a NUL byte`, name);
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw escape(`${what} contains '..'`, name);
    parts.push(p);
  }
  return parts;
}

function escape(what: string, path: string): BunkerError {
  return new BunkerError(`unsafe layer: ${what}`, { errno: "EPERM", path, fix: "the image is malicious or broken; nothing was unpacked" });
}

function overrideValue(e: TarEntry): string {
  const type = { file: "file", hardlink: "file", dir: "dir", symlink: "symlink", fifo: "pipe", char: `char-${e.devmajor}-${e.devminor}`, block: `block-${e.devmajor}-${e.devminor}` }[e.type];
  return `${e.uid}:${e.gid}:0${e.mode.toString(8)}:${type}`;
}

/**
 * The mode a file is created with: its own permission bits when they let the
 * owner read and write (setting user.* xattrs needs write permission), else
 * 0600; meta() fixes the rest with fchmod.
 */
function fileCreationMode(e: TarEntry): number {
  const perm = e.mode & 0o777;
  return (perm & 0o600) === 0o600 ? perm : 0o600;
}

/** Applies one or more layer tars to ROOT; call finish() after the last one. */
export class Unpacker {
  private readonly rootfd: number;
  private readonly root: string;
  private readonly rootless: boolean;
  private readonly umask: number;
  private parents = new Map<string, Parent>();
  private deferred: DeferredDir[] = [];
  private file: { fd: number; e: TarEntry; path: string } | undefined;
  readonly stats: UnpackStats = { entries: 0, bytes: 0, notes: [], recorded: 0 };
  private noted = new Set<string>();

  constructor(root: string, private readonly opts: UnpackOptions = {}) {
    this.root = realpathSync(root);
    this.rootfd = fs.openat(fs.AT_FDCWD, this.root, fs.O_PATH | fs.O_DIRECTORY);
    this.rootless = opts.rootless ?? processIds().euid !== 0;
    this.umask = process.umask();
  }

  /** Applies the tar stream of one layer (already decompressed). */
  async apply(tar: AsyncIterable<Uint8Array>): Promise<void> {
    const reader = new TarReader({
      entry: (e) => this.entry(e),
      data: (c) => this.data(c),
      entryEnd: (e) => this.entryEnd(e),
    });
    try {
      for await (const chunk of tar) reader.push(chunk);
      reader.end();
    } finally {
      if (this.file) {
        fs.close(this.file.fd);
        this.file = undefined;
      }
    }
    for (const s of reader.skipped) this.note(`skipped unsupported tar entry ${s}`);
  }

  /** Applies the deferred directory modes and mtimes, releases fds. */
  finish(): UnpackStats {
    for (let i = this.deferred.length - 1; i >= 0; i--) {
      const d = this.deferred[i]!;
      let fd: number;
      try {
        // NO_SYMLINKS: the dir may have been replaced by a symlink since
        fd = d.path === "" ? fs.openat(this.rootfd, ".", fs.O_RDONLY | fs.O_DIRECTORY)
          : fs.openat2(this.rootfd, d.path, fs.O_RDONLY | fs.O_DIRECTORY | fs.O_NOFOLLOW, 0, fs.RESOLVE_BENEATH | fs.RESOLVE_NO_SYMLINKS);
      } catch {
        continue;
      }
      try {
        fs.fchmod(fd, d.mode, d.path);
        fs.utimensat(fd, "", d.mtime, fs.AT_EMPTY_PATH);
      } catch (e) {
        throw fromSysError("cannot set the mode of a directory", e, { path: d.path });
      } finally {
        fs.close(fd);
      }
    }
    this.deferred = [];
    this.dropParents();
    fs.close(this.rootfd);
    return this.stats;
  }

  /** Closes fds after a failure (the caller removes the directory). */
  abort(): void {
    if (this.file) fs.close(this.file.fd);
    this.dropParents();
    fs.close(this.rootfd);
  }

  /** MSG may quote the layer's own names: printed later as one line each, so its control characters are escaped here */
  private note(msg: string): void {
    if (this.noted.has(msg)) return;
    this.noted.add(msg);
    this.stats.notes.push(oneLine(msg));
  }

  /** Forgets cached parent fds (all but KEEP, which stays open and cached). */
  private dropParents(keep?: Parent): void {
    for (const [k, p] of this.parents) {
      if (p === keep) continue;
      if (p.fd !== this.rootfd) fs.close(p.fd);
      this.parents.delete(k);
    }
  }

  // ---- path resolution ------------------------------------------------------

  /** Opens directory PARTS (creating missing ones) under the root, never escaping it. */
  private parent(parts: string[], name: string): Parent {
    const key = parts.join("/");
    if (key === "") return { fd: this.rootfd, real: "" };
    const hit = this.parents.get(key);
    if (hit) return hit;
    let fd: number;
    let real = key;
    try {
      // the common case: no symlink on the way, so KEY is the real path
      fd = fs.openat2(this.rootfd, key, fs.O_PATH | fs.O_DIRECTORY, 0, fs.RESOLVE_BENEATH | fs.RESOLVE_NO_SYMLINKS);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      fd = this.openParent(parts, key, name);
      try {
        const link = readlinkSync(`/proc/self/fd/${fd}`);
        real = link === this.root ? "" : link.startsWith(this.root + "/") ? link.slice(this.root.length + 1) : key;
      } catch {}
    }
    if (this.parents.size >= 256) {
      // evict the oldest (tar archives walk one directory at a time)
      const [k, old] = this.parents.entries().next().value!;
      if (old.fd !== this.rootfd) fs.close(old.fd);
      this.parents.delete(k);
    }
    const p = { fd, real };
    this.parents.set(key, p);
    return p;
  }

  /** Opens (or creates) the directory KEY = PARTS that goes through symlinks or does not exist yet. */
  private openParent(parts: string[], key: string, name: string): number {
    try {
      return fs.openat2(this.rootfd, key, fs.O_PATH | fs.O_DIRECTORY, 0, fs.RESOLVE_BENEATH | fs.RESOLVE_NO_MAGICLINKS);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      if (e.errno === 2 /* ENOENT */) return this.mkdirs(parts, name);
      if (e.errno === 18 /* EXDEV */) return this.openInRoot(parts, name);
      if (e.errno === 20 /* ENOTDIR */) throw new BunkerError("layer entry's parent is not a directory", { errno: "ENOTDIR", path: name });
      throw fromSysError("cannot open the parent directory of a layer entry", e, { path: name });
    }
  }

  /** mkdir -p of PARTS inside the root, each step resolved in the root. */
  private mkdirs(parts: string[], name: string): number {
    let fd = this.rootfd;
    for (let i = 0; i < parts.length; i++) {
      const prefix = parts.slice(0, i + 1).join("/");
      let next: number;
      try {
        next = fs.openat2(this.rootfd, prefix, fs.O_PATH | fs.O_DIRECTORY, 0, fs.RESOLVE_BENEATH | fs.RESOLVE_NO_MAGICLINKS);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        if (e.errno === 18) next = this.openInRoot(parts.slice(0, i + 1), name);
        else if (e.errno === 2) {
          try {
            fs.mkdirat(fd, parts[i]!, 0o755);
            next = fs.openat(fd, parts[i]!, fs.O_PATH | fs.O_DIRECTORY | fs.O_NOFOLLOW);
          } catch (e2) {
            throw fromSysError("cannot create a directory for a layer entry", e2, { path: prefix });
          }
        } else throw fromSysError("cannot open the parent directory of a layer entry", e, { path: name });
      }
      if (fd !== this.rootfd) fs.close(fd);
      fd = next;
    }
    return fd;
  }

  /** BENEATH refused PARTS: allowed only if no symlink on the way climbs above the root. */
  private openInRoot(parts: string[], name: string): number {
    const why = this.escapeVia(parts);
    if (why) throw escape(`entry goes through symlink ${why} that points outside the root`, name);
    try {
      return fs.openat2(this.rootfd, parts.join("/"), fs.O_PATH | fs.O_DIRECTORY, 0, fs.RESOLVE_IN_ROOT | fs.RESOLVE_NO_MAGICLINKS);
    } catch (e) {
      if (e instanceof FsError && e.errno === 2) {
        // the symlink's target does not exist yet: create it (in the root) like tar would
        return this.mkdirs(this.resolveLexically(parts), name);
      }
      throw fromSysError("cannot open the parent directory of a layer entry", e, { path: name });
    }
  }

  /** Follows symlinks in PARTS (inside the root); returns "link -> target" when one climbs out. */
  private escapeVia(parts: string[]): string | undefined {
    try {
      this.resolveLexically(parts);
      return undefined;
    } catch (e) {
      if (typeof e === "string") return e;
      throw e;
    }
  }

  /** The real components of PARTS inside the root (absolute symlinks = root-relative); throws "link -> target" on escape. */
  private resolveLexically(parts: string[]): string[] {
    const stack: string[] = [];
    const queue = [...parts];
    let hops = 0;
    while (queue.length) {
      const c = queue.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (!stack.length) throw `(a '..' above the root)`;
        stack.pop();
        continue;
      }
      const p = [...stack, c].join("/");
      let st;
      try {
        st = lstatSync(`${this.root}/${p}`);
      } catch {
        stack.push(c);
        continue;
      }
      if (!st.isSymbolicLink()) {
        stack.push(c);
        continue;
      }
      if (++hops > 40) throw new BunkerError("too many symlinks in a layer entry's path", { errno: "ELOOP", path: parts.join("/") });
      const target = readlinkSync(`${this.root}/${p}`);
      // a relative target is checked against the root: `..` above it is an escape
      let depth = target.startsWith("/") ? 0 : stack.length;
      for (const t of target.split("/")) {
        if (t === "..") {
          if (--depth < 0) throw `${p} -> ${target}`;
        } else if (t !== "" && t !== ".") depth++;
      }
      if (target.startsWith("/")) stack.length = 0;
      queue.unshift(...target.split("/"));
    }
    return stack;
  }

  // ---- entries ----------------------------------------------------------------

  private entry(e: TarEntry): void {
    this.stats.entries++;
    const parts = entryComponents(e.name);
    if (parts.length === 0) {
      if (e.type === "dir") this.deferred.push({ path: "", mode: e.mode, mtime: e.mtime });
      return;
    }
    const base = parts[parts.length - 1]!;
    const dirParts = parts.slice(0, -1);
    const wh = whiteoutOf(base);
    if (wh?.kind === "aufs") return this.note(`skipped aufs metadata entry ${e.name}`);
    if (wh?.kind === "bad") throw escape("bad whiteout name", e.name);
    if (wh) return this.whiteout(dirParts, wh, e.name);
    const par = this.parent(dirParts, e.name);
    const rel = par.real ? `${par.real}/${base}` : base;
    try {
      this.create(par, base, rel, e);
    } catch (err) {
      throw fromSysError(`cannot unpack a layer entry (${e.type})`, err, { path: e.name });
    }
  }

  /** Removes whatever is at PAR/BASE unless E is a directory over a directory. */
  private makeRoom(par: Parent, base: string, e: TarEntry): "dir-exists" | "free" {
    const st = fs.lstatat(par.fd, base);
    if (!st) return "free";
    const isDir = (st.mode & fs.S_IFMT) === fs.S_IFDIR;
    if (isDir && e.type === "dir") return "dir-exists";
    this.remove(par, base, isDir || (st.mode & fs.S_IFMT) === fs.S_IFLNK);
    return "free";
  }

  private remove(par: Parent, base: string, structural: boolean): void {
    const st = fs.lstatat(par.fd, base);
    if (!st) return;
    if ((st.mode & fs.S_IFMT) === fs.S_IFDIR) rmSync(`/proc/self/fd/${par.fd}/${base}`, { recursive: true, force: true });
    else fs.unlinkat(par.fd, base);
    if (structural) this.dropParents(par); // cached fds may point into what went away
  }

  private create(par: Parent, base: string, rel: string, e: TarEntry): void {
    switch (e.type) {
      case "file": {
        const flags = fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW;
        let fd: number;
        try {
          fd = fs.openat(par.fd, base, flags, fileCreationMode(e));
        } catch (err) {
          if (!(err instanceof FsError) || err.errno !== 17) throw err;
          this.makeRoom(par, base, e);
          fd = fs.openat(par.fd, base, flags, fileCreationMode(e));
        }
        this.file = { fd, e, path: rel };
        return; // data and metadata follow
      }
      case "dir": {
        if (this.makeRoom(par, base, e) === "free") fs.mkdirat(par.fd, base, 0o700);
        const fd = fs.openat(par.fd, base, fs.O_RDONLY | fs.O_DIRECTORY | fs.O_NOFOLLOW);
        try {
          this.meta(fd, e, rel, false);
        } finally {
          fs.close(fd);
        }
        this.deferred.push({ path: rel, mode: e.mode, mtime: e.mtime });
        return;
      }
      case "symlink": {
        this.makeRoom(par, base, e);
        fs.symlinkat(e.linkname, par.fd, base);
        if (!this.rootless) fs.fchownat(par.fd, base, e.uid, e.gid, fs.AT_SYMLINK_NOFOLLOW);
        fs.utimensat(par.fd, base, e.mtime, fs.AT_SYMLINK_NOFOLLOW);
        return;
      }
      case "hardlink":
        return this.hardlink(par, base, e);
      case "fifo":
      case "char":
      case "block": {
        if (e.type !== "fifo" && this.rootless) {
          this.note(`device nodes skipped (${e.name} and others): an unprivileged user cannot create them; bind them from the host`);
          return;
        }
        this.makeRoom(par, base, e);
        const t = e.type === "fifo" ? fs.S_IFIFO : e.type === "char" ? fs.S_IFCHR : fs.S_IFBLK;
        const dev = ((e.devmajor & 0xfff) << 8) | (e.devminor & 0xff) | ((e.devminor & ~0xff) << 12);
        fs.mknodat(par.fd, base, t | 0o600, dev);
        // no open(): opening a device or fifo can block or have effects; user.* xattrs are not allowed on them
        if (!this.rootless) fs.fchownat(par.fd, base, e.uid, e.gid, fs.AT_SYMLINK_NOFOLLOW);
        fs.fchmodat(par.fd, base, e.mode);
        fs.utimensat(par.fd, base, e.mtime, fs.AT_SYMLINK_NOFOLLOW);
        return;
      }
    }
  }

  /**
   * A copy of an earlier layer's entry (LP/TBASE, lstat LST) as PAR/BASE, where a
   * hardlink cannot be made (another filesystem; protected_hardlinks): the entry
   * itself, never what a symlink names (a lower's symlink to a host file must not
   * bring that file's content into the image), through fds opened without
   * following symlinks, into a name made new (O_EXCL).
   */
  private copyFromLower(lp: number, tbase: string, lst: fs.StatAt, par: Parent, base: string, e: TarEntry): void {
    const kind = lst.mode & fs.S_IFMT;
    if (kind === fs.S_IFLNK) {
      fs.symlinkat(fs.readlinkat(lp, tbase), par.fd, base);
      if (!this.rootless) fs.fchownat(par.fd, base, lst.uid, lst.gid, fs.AT_SYMLINK_NOFOLLOW);
      return;
    }
    if (kind !== fs.S_IFREG) throw new BunkerError("layer hardlink to a special file of an earlier layer on another filesystem", { errno: "EXDEV", path: `${e.name} -> ${e.linkname}` });
    const src = fs.openat(lp, tbase, fs.O_RDONLY | fs.O_NOFOLLOW | fs.O_CLOEXEC);
    try {
      const dst = fs.openat(par.fd, base, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW | fs.O_CLOEXEC, 0o600);
      try {
        const buf = new Uint8Array(1 << 20);
        for (let n; (n = readSync(src, buf)) > 0; ) fs.writeAll(dst, buf.subarray(0, n), e.name);
        if (!this.rootless) fs.fchown(dst, lst.uid, lst.gid, e.name);
        fs.fchmod(dst, lst.mode & 0o7777, e.name);
      } finally {
        fs.close(dst);
      }
    } finally {
      fs.close(src);
    }
  }

  private hardlink(par: Parent, base: string, e: TarEntry): void {
    const tparts = entryComponents(e.linkname, "hardlink target");
    if (tparts.length === 0) throw escape("hardlink to the root directory", e.name);
    const tbase = tparts[tparts.length - 1]!;
    if (tparts.join("/") === entryComponents(e.name).join("/")) return; // a link to itself
    const tpar = this.parent(tparts.slice(0, -1), e.linkname);
    this.makeRoom(par, base, e);
    const st = fs.lstatat(tpar.fd, tbase);
    if (st && isOverlayWhiteout(st.mode, st.rdev)) {
      throw new BunkerError("layer hardlink points to a file the layer deleted", { errno: "ENOENT", path: `${e.name} -> ${e.linkname}` });
    }
    if (st) {
      if ((st.mode & fs.S_IFMT) === fs.S_IFDIR) throw escape("hardlink to a directory", e.name);
      fs.linkat(tpar.fd, tbase, par.fd, base, 0);
      return;
    }
    // not in this layer: a file of an earlier layer (each layer has its own dir)
    for (const lower of this.opts.lowerDirs ?? []) {
      const lowerRoot = fs.openat(fs.AT_FDCWD, lower, fs.O_PATH | fs.O_DIRECTORY);
      try {
        const lp = fs.openat2(lowerRoot, tparts.slice(0, -1).join("/") || ".", fs.O_PATH | fs.O_DIRECTORY, 0, fs.RESOLVE_IN_ROOT | fs.RESOLVE_NO_MAGICLINKS);
        try {
          const lst = fs.lstatat(lp, tbase);
          if (!lst) continue;
          if (isOverlayWhiteout(lst.mode, lst.rdev)) break; // whited out below
          if ((lst.mode & fs.S_IFMT) === fs.S_IFDIR) throw escape("hardlink to a directory", e.name);
          try {
            fs.linkat(lp, tbase, par.fd, base, 0);
          } catch (err) {
            if (!(err instanceof FsError) || (err.errno !== 18 && err.errno !== 1)) throw err;
            this.copyFromLower(lp, tbase, lst, par, base, e);
          }
          return;
        } finally {
          fs.close(lp);
        }
      } catch (err) {
        if (err instanceof FsError && (err.errno === 2 || err.errno === 20)) continue;
        throw err;
      } finally {
        fs.close(lowerRoot);
      }
    }
    throw new BunkerError("layer hardlink points to a file that does not exist", { errno: "ENOENT", path: `${e.name} -> ${e.linkname}` });
  }

  private whiteout(dirParts: string[], wh: Whiteout, name: string): void {
    const par = this.parent(dirParts, name);
    try {
      if (wh.kind === "opaque") {
        const fd = par.fd === this.rootfd ? fs.openat(this.rootfd, ".", fs.O_RDONLY | fs.O_DIRECTORY)
          : fs.openat(fs.AT_FDCWD, `/proc/self/fd/${par.fd}`, fs.O_RDONLY | fs.O_DIRECTORY);
        try {
          fs.fsetxattr(fd, OPAQUE_XATTR, enc.encode("y"), name);
          if (!this.rootless) fs.fsetxattr(fd, TRUSTED_OPAQUE_XATTR, enc.encode("y"), name);
        } finally {
          fs.close(fd);
        }
        return;
      }
      if (wh.kind !== "delete") return;
      const target = wh.target;
      const st = fs.lstatat(par.fd, target);
      if (st) this.remove(par, target, true);
      fs.mknodat(par.fd, target, fs.S_IFCHR | 0o600, 0);
    } catch (err) {
      throw fromSysError("cannot apply a whiteout", err, { path: name });
    }
  }

  // ---- file data and metadata -------------------------------------------------

  private data(chunk: Uint8Array): void {
    const f = this.file!;
    try {
      fs.writeAll(f.fd, chunk, f.path);
    } catch (err) {
      throw fromSysError("cannot write a layer file", err, { path: f.path });
    }
    this.stats.bytes += chunk.length;
  }

  private entryEnd(e: TarEntry): void {
    const f = this.file;
    if (!f || f.e !== e) return;
    this.file = undefined;
    try {
      this.meta(f.fd, e, f.path, true);
    } catch (err) {
      throw fromSysError("cannot set the owner, mode or times of a layer file", err, { path: f.path });
    } finally {
      fs.close(f.fd);
    }
  }

  /** Owner, xattrs, mode (files) and mtime (files) on an open fd; dirs get mode/mtime later. */
  private meta(fd: number, e: TarEntry, path: string, isFile: boolean): void {
    if (!this.rootless) fs.fchown(fd, e.uid, e.gid, path);
    this.xattrs(fd, e, path);
    if (isFile) {
      // no fchmod when the creation mode stood (root's fchown clears setuid bits: those differ anyway)
      if ((fileCreationMode(e) & ~this.umask) !== e.mode) fs.fchmod(fd, e.mode, path);
      fs.utimensat(fd, "", e.mtime, fs.AT_EMPTY_PATH);
    }
  }

  private xattrs(fd: number, e: TarEntry, path: string): void {
    for (const [name, value] of e.xattrs) {
      // an image must not forge overlay metadata (redirects, opaque dirs) or our ownership record
      if (name.startsWith("user.overlay.") || name.startsWith("trusted.overlay.") || name === OVERRIDE_XATTR) {
        this.note(`ignored xattr ${name} from the image`);
        continue;
      }
      if (name === "security.selinux") continue; // labels come from the host policy
      try {
        fs.fsetxattr(fd, name, value, path);
      } catch (err) {
        if (!(err instanceof FsError) || ![1, 13, 95, 22].includes(err.errno)) throw err;
        this.note(`xattr ${name} not set (${err.errno === 95 ? "not supported by the filesystem" : "not permitted for this user"})`);
      }
    }
    if (this.rootless && (e.uid !== 0 || e.gid !== 0)) {
      try {
        fs.fsetxattr(fd, OVERRIDE_XATTR, enc.encode(overrideValue(e)), path);
        this.stats.recorded++;
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        this.note(`ownership of non-root files not recorded: ${OVERRIDE_XATTR} failed with errno ${err.errno}`);
      }
    }
  }
}
