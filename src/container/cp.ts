// docker cp's engine (`bunker cp`, the Engine API's archive endpoints): a
// container's files archived out of it and archives extracted into it, never
// outside its root.
//
// Where each piece runs, and why there:
// - Paths are resolved inside the container's root with openat2
//   (RESOLVE_IN_ROOT): here, component by component, for the stat and for
//   docker cp's rules (resolveInRoot), and again by the helper that uses the
//   path (the shim's chdir-in-root and copy-into ops, c/archive.c).  A symlink
//   to the host's /etc, or ../.., ends at the container's own root; a tree
//   the container changes between the two still leads nowhere else.  In C
//   for the helper, not through bun:ffi alone: the helper must be a process
//   in the container's user namespace, where Bun (multi-threaded) cannot go.
// - The helper is in the container's user namespace (joined while it runs;
//   when it is stopped, that of the holder its kept layer is mounted for,
//   or one made with its maps): rootless, the files of its other
//   users belong to subordinate ids that only root of that namespace may
//   read, write and give.
// - Out: the host's tar archives names relative to the directory the helper
//   entered so (tar follows no symlink it archives); the entries are renamed
//   here as docker's daemon names them.
// - In: the archive's names are checked here (none absolute, none with ..),
//   the host's tar extracts it into a fresh staging directory with the
//   container's owners (as root of its namespace), and the shim's copy-into
//   op merges that tree into the container, each entry opened or made under
//   a directory fd without following symlinks.  Not tar straight into the
//   container: tar follows a symlink to a directory that is already there
//   (one to /home/USER would be written through, as the user).
import { existsSync, mkdirSync, mkdtempSync, chownSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { BunkerError, FsError, fromSysError } from "../errors.ts";
import { rebaseTar, type Rebase } from "../image/tar-rebase.ts";
import type { Op, Plan } from "../plan/types.ts";
import { CLONE_NEWNS, CLONE_NEWUSER, MS_PRIVATE } from "../plan/types.ts";
import { Store } from "../image/store.ts";
import { imageGone, imageOf } from "./image-use.ts";
import * as fs from "../sys/fsat.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { launch, runStorePlan } from "../sys/launch.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import { supervise } from "../sys/shim.ts";
import { hostTar } from "../sys/unshare.ts";
import type { RuntimeContext } from "./context.ts";
import { splitDirEntry } from "./copy-rules.ts";
import { containerStatus, UPPER_DIR } from "./state.ts";
import { parseMapText } from "./userns.ts";

/** what docker's X-Docker-Container-Path-Stat carries (mode: Go's os.FileMode bits) */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** a container's root as the helper reaches it */
interface Reach {
  id: string;
  /** its state dir */
  dir: string;
  /** the host path of its root: /proc/PID/root while it runs, its rootfs when stopped */
  root: string;
  /** the helper joins this user namespace (a running container's) ... */
  joinUserns?: string;
  /** ... or makes one with these maps (a stopped container's other users) */
  newUserns?: IdMaps;
  /** the container's id maps */
  maps: IdMaps;
  /** ends what reach started for it (a stopped container's overlay holder) */
  release(): void;
  /** a running container's process: its mounts are the container's (a holder's are the host's) */
  pid?: number;
}

const mapsOf = (pid: number): IdMaps => ({
  uid: parseMapText(readFileSync(`/proc/${pid}/uid_map`, "utf8")),
  gid: parseMapText(readFileSync(`/proc/${pid}/gid_map`, "utf8")),
});

const nothing = () => {};

/** a process's root and user namespace, as a helper reaches them (the helper joins the namespace when it is not bunker's) */
function reachProcess(ctx: RuntimeContext, id: string, dir: string, pid: number, path: string, release: () => void): Reach {
  const ns = (p: number | "self") => readlinkSync(`/proc/${p}/ns/user`);
  const maps = mapsOf(pid);
  // host root keeps its power over every id in a namespace that maps only one (root's default single map):
  // joining it would only lose the others (a file of the container's uid 1000 could not be read)
  const join = ns(pid) !== ns("self") && (ctx.ids.uid !== 0 || maps.uid.some((m) => m.size > 1));
  return { id, dir, root: `/proc/${pid}/root${path}`, joinUserns: join ? `/proc/${pid}/ns/user` : undefined, maps, release };
}

/**
 * A stopped image container's root: its kept writable layer (the upper
 * src/container/run.ts keeps for run -d and create) mounted on its image's
 * layers again, in the mount namespace of a holder process of its own
 * (sleep, as root of a user namespace of the container's maps), so that
 * bunker and the helpers reach it through /proc/HOLDER/root until release
 * ends the holder (by its pid; it would end by itself in 10 minutes).
 */
async function mountKept(ctx: RuntimeContext, id: string, dir: string, imageId: string, maps: IdMaps, userns: boolean): Promise<Reach> {
  const store = Store.open(ctx.dataRoot);
  const image = store.find(imageId);
  if (!image) throw imageGone("cp", id, imageId);
  const lowers = (await store.ensureLayers(image.digest)).map((l) => l.dir).reverse();
  const data = `lowerdir=${lowers.join(":")},upperdir=${dir}/${UPPER_DIR},workdir=${dir}/work,userxattr`;
  const sleep = ["/usr/bin/sleep", "/bin/sleep"].find((s) => existsSync(s)) ?? "/usr/bin/sleep";
  const plan: Plan = {
    cloneFlags: CLONE_NEWNS | (userns ? CLONE_NEWUSER : 0),
    ops: [
      { op: "rootfs", path: `${dir}/rootfs`, mount: { fstype: "overlay", data }, propagation: MS_PRIVATE },
      { op: "nondumpable" },
      { op: "close-fds", preserve: 0 },
      { op: "exec", file: sleep, args: [sleep, "600"], env: [] },
    ],
  };
  const { pid } = await launch(plan, { maps: userns ? maps : undefined });
  const release = () => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* it has ended */
    }
    supervise(pid, -1, false);
  };
  return reachProcess(ctx, id, dir, pid, `${dir}/rootfs`, release);
}

/** the container ID's root and how to be its root user there; a stopped one while its files are kept; release() when done */
async function reach(ctx: RuntimeContext, id: string): Promise<Reach> {
  const { state, status, dir } = containerStatus(ctx.stateRoot, id);
  if (!state) throw new BunkerError(`cp: container "${id}" is being created`, { errno: "EBUSY", fix: "try again when bunker ps lists it" });
  if (status !== "stopped") return { ...reachProcess(ctx, id, dir, state.pid, "", nothing), pid: state.pid };
  const maps = state.run?.maps ?? { uid: [{ containerID: 0, hostID: ctx.ids.uid, size: 1 }], gid: [{ containerID: 0, hostID: ctx.ids.gid, size: 1 }] };
  // the caller's own files (a one-id map of the caller, root's identity map) need no namespace
  const own = maps.uid.every((m) => m.hostID === ctx.ids.uid + m.containerID && (m.size === 1 || ctx.ids.uid === 0));
  const imageId = imageOf(dir);
  if (imageId && existsSync(`${dir}/${UPPER_DIR}`)) return mountKept(ctx, id, dir, imageId, maps, ctx.ids.uid !== 0 || !own);
  const root = state.rootfs;
  // an image's root whose writable layer went with it (--rm, a foreground run), the host sandbox's tmpfs
  if (!existsSync(root) || (root.startsWith(`${dir}/`) && readdirSync(root).length === 0))
    throw new BunkerError(`cp: container "${id}" is stopped and its root went with it (a foreground or --rm run's writable layer, the host sandbox's tmpfs)`, {
      errno: "ESRCH",
      fix: `copy while it runs (bunker start ${id})`,
    });
  return { id, dir, root, newUserns: own ? undefined : maps, maps, release: nothing };
}

const isDir = (mode: number) => (mode & fs.S_IFMT) === fs.S_IFDIR;
const isLink = (mode: number) => (mode & fs.S_IFMT) === fs.S_IFLNK;

function openRoot(r: Reach): number {
  try {
    return fs.openat(fs.AT_FDCWD, r.root, fs.O_PATH | fs.O_DIRECTORY);
  } catch (e) {
    throw fromSysError(`cp: cannot open the root of container "${r.id}"`, e, { path: r.root });
  }
}

const MAX_LINKS = 40;

/**
 * PATH inside the root ROOTFD as the container resolves it: symlinks
 * (absolute ones from its root), ".." stopping at the root, the last
 * component followed only with FOLLOW.  Every step opens one more component
 * with openat2(RESOLVE_IN_ROOT), so nothing is looked at outside the root.
 * The clean absolute path, and its stat (none: the last component is missing).
 */
export function resolveInRoot(rootfd: number, path: string, follow: boolean): { path: string; stat?: fs.StatAt } {
  const todo = path.split("/").reverse();
  const done: string[] = [];
  let stat = fs.lstatat(rootfd, "");
  let links = 0;
  while (todo.length) {
    const part = todo.pop()!;
    if (!part || part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const at = [...done, part].join("/");
    let fd: number;
    try {
      fd = fs.openat2(rootfd, at, fs.O_PATH | fs.O_NOFOLLOW, 0, fs.RESOLVE_IN_ROOT | fs.RESOLVE_NO_MAGICLINKS);
    } catch (e) {
      const last = todo.every((p) => !p || p === ".");
      if (e instanceof FsError && e.errno === 2 /* ENOENT */ && last) return { path: `/${at}` };
      throw e instanceof FsError ? new FsError(e.errno, e.syscall, `/${at}`) : e;
    }
    try {
      stat = fs.lstatat(fd, "")!;
      const more = todo.some((p) => p && p !== ".");
      if (isLink(stat.mode) && (more || follow)) {
        if (++links > MAX_LINKS) throw new FsError(40 /* ELOOP */, "readlinkat", `/${at}`);
        const target = fs.readlinkat(fd, "");
        if (target.startsWith("/")) done.length = 0;
        todo.push(...target.split("/").reverse());
        continue;
      }
      if (more && !isDir(stat.mode)) throw new FsError(20 /* ENOTDIR */, "openat2", `/${at}`);
      done.push(part);
    } finally {
      fs.close(fd);
    }
  }
  return { path: `/${done.join("/")}`, stat };
}

const GO_MODE_DIR = 2 ** 31, GO_MODE_SYMLINK = 2 ** 27, GO_MODE_DEVICE = 2 ** 26, GO_MODE_PIPE = 2 ** 25, GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23, GO_MODE_SETGID = 2 ** 22, GO_MODE_CHAR = 2 ** 21, GO_MODE_STICKY = 2 ** 20;

/** a stat's st_mode as Go's os.FileMode (what docker's path stat header carries) */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  if (mode & 0o4000) m += GO_MODE_SETUID;
  if (mode & 0o2000) m += GO_MODE_SETGID;
  if (mode & 0o1000) m += GO_MODE_STICKY;
  switch (mode & fs.S_IFMT) {
    case fs.S_IFDIR: return m + GO_MODE_DIR;
    case fs.S_IFLNK: return m + GO_MODE_SYMLINK;
    case fs.S_IFCHR: return m + GO_MODE_DEVICE + GO_MODE_CHAR;
    case fs.S_IFBLK: return m + GO_MODE_DEVICE;
    case fs.S_IFIFO: return m + GO_MODE_PIPE;
    case 0o140000: return m + GO_MODE_SOCKET;
  }
  return m;
}

function missing(id: string, path: string): BunkerError {
  return new BunkerError(`cp: no such file or directory in container "${id}"`, { errno: "ENOENT", path, fix: `bunker exec ${id} ls ${splitDirEntry(path)[0]} lists what is there` });
}

function inRootError(r: Reach, e: unknown, path: string): BunkerError {
  if (e instanceof BunkerError) return e;
  if (e instanceof FsError && e.errno === 2 /* ENOENT */) return missing(r.id, path);
  // bunker resolves the path as itself: rootless, a directory of the container's other users (0700 of a subordinate id) is shut to it
  const shut = e instanceof FsError && e.errno === 13 /* EACCES */;
  return fromSysError(`cp: cannot resolve ${path} in container "${r.id}"`, e, { path, fix: shut ? "a directory on the way is closed to you (another user of the container owns it): copy the directory above it, or chmod it in the container" : undefined });
}

/** PATH resolved in R's root (docker's: all but the last component, which also when the path asserts a directory) with its stat */
function locate(r: Reach, path: string, follow: boolean): { rootfd: number; path: string; stat: fs.StatAt } {
  if (!path.startsWith("/")) throw new BunkerError(`cp: the path in the container must be absolute (got "${path}")`, { errno: "EINVAL", fix: `write it from the container's root: /${path}` });
  const rootfd = openRoot(r);
  try {
    const found = resolveInRoot(rootfd, path, follow || path.endsWith("/") || path.endsWith("/."));
    if (!found.stat) throw missing(r.id, path);
    if ((path.endsWith("/") || path.endsWith("/.")) && !isDir(found.stat.mode))
      throw new BunkerError(`cp: ${path} is not a directory in container "${r.id}"`, { errno: "ENOTDIR", path, fix: "drop the trailing / (or /.)" });
    return { rootfd, ...found, stat: found.stat };
  } catch (e) {
    fs.close(rootfd);
    throw inRootError(r, e, path);
  }
}

/** docker's stat of PATH in the container (HEAD /containers/ID/archive): its last component not followed; a symlink's fully resolved target */
export async function statPath(ctx: RuntimeContext, id: string, path: string): Promise<PathStat> {
  const r = await reach(ctx, id);
  try {
    return statIn(r, path);
  } finally {
    r.release();
  }
}

function statIn(r: Reach, path: string): PathStat {
  const at = locate(r, path, false);
  try {
    let linkTarget = "";
    if (isLink(at.stat.mode)) linkTarget = resolveInRoot(at.rootfd, at.path, true).path;
    const name = splitDirEntry(path)[1];
    return { name: name === "." && path === "/" ? "/" : name, size: at.stat.size, mode: goFileMode(at.stat.mode), mtime: new Date(at.stat.mtime * 1000).toISOString(), linkTarget };
  } catch (e) {
    throw inRootError(r, e, path);
  } finally {
    fs.close(at.rootfd);
  }
}

/** a started tar: its pid, bunker's end of the pipe it reads or writes, what it says on stderr (when it ended) */
interface Tar {
  pid: number;
  fd: number;
  errors: Promise<string>;
}

/**
 * starts the host's tar with ARGS as root of R's user namespace, in the
 * directory OPS leave it in; its stdin (PIPED "stdin": it extracts) or stdout
 * ("stdout": it archives) is a pipe of bunker's, its stderr another
 */
async function startTar(r: Reach, ops: Op[], args: string[], piped: "stdin" | "stdout"): Promise<Tar> {
  const [pr, pw] = fs.pipe();
  const [errR, errW] = fs.pipe();
  const [theirs, ours] = piped === "stdin" ? [pr, pw] : [pw, pr];
  try {
    const pid = await launchTar(r, ops, args, [{ op: "dup", fd: theirs, to: piped === "stdin" ? 0 : 1 }, { op: "dup", fd: errW, to: 2 }]);
    return { pid, fd: ours, errors: readErrors(errR) };
  } catch (e) {
    fs.close(ours);
    fs.close(errR);
    throw e;
  } finally {
    fs.close(theirs);
    fs.close(errW);
  }
}

async function launchTar(r: Reach, ops: Op[], args: string[], dups: Op[]): Promise<number> {
  const tar = hostTar("cp");
  const plan: Plan = {
    cloneFlags: r.newUserns ? CLONE_NEWUSER : 0,
    joinUserns: r.joinUserns,
    ops: [
      { op: "nondumpable" },
      // a joined namespace's root (its files are made as it; host root is not mapped there)
      ...(r.joinUserns ? [{ op: "user", uid: 0, gid: 0, groups: [] } as Op] : []),
      ...dups,
      ...ops,
      { op: "close-fds", preserve: 0 },
      { op: "exec", file: tar, args: [tar, ...args], env: ["PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"] },
    ],
  };
  return (await launch(plan, { maps: r.newUserns })).pid;
}

/** the first 8 KiB tar writes on FD (its stderr), the fd closed at its end */
async function readErrors(fd: number): Promise<string> {
  let text = "";
  try {
    for await (const c of Bun.file(fd).stream()) if (text.length < 8192) text += new TextDecoder().decode(c);
  } finally {
    fs.close(fd);
  }
  return text;
}

/** tar's end as one error (its first complaint), or nothing when it succeeded */
function tarOutcome(pid: number, errors: string, what: string, path: string): void {
  const st = supervise(pid, -1, false);
  if (st.code === 0 && !st.signal) return;
  const why = errors.split("\n").map((l) => l.replace(/^\/\S*tar: /, "")).find((l) => l && !l.startsWith("Exiting with failure")) ?? (st.signal ? `signal ${st.signal}` : `status ${st.code}`);
  throw new BunkerError(`cp: cannot ${what}: ${why}`, { errno: /Permission denied/.test(why) ? "EACCES" : /Cannot change ownership/.test(why) ? "EPERM" : "EIO", path });
}

/** pseudo file systems under the container's PATH: their contents are not its files (docker copies none of them) */
function pseudoMounts(r: Reach, path: string): string[] {
  if (!r.pid) return [];
  const out: string[] = [];
  for (const line of readFileSync(`/proc/${r.pid}/mountinfo`, "utf8").split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0) continue;
    const point = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const type = f[sep + 1]!;
    if (!["proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"].includes(type) && point !== "/dev") continue;
    if (point !== path && point.startsWith(path === "/" ? "/" : `${path}/`)) out.push(point);
  }
  return out;
}

const wildcardEscape = (s: string) => s.replace(/[*?[\\]/g, "\\$&");

/**
 * The archive of PATH in the container (GET /containers/ID/archive): its
 * stat, and a tar whose top entry is named as PATH's last component ("."
 * for "DIR/." and "/": the directory's contents), or TOPNAME (cp -L: a
 * link's target archived under the link's name).
 */
export async function archivePath(ctx: RuntimeContext, id: string, path: string, topName?: string, opts: ArchiveOptions = {}): Promise<{ stat: PathStat; tar: AsyncGenerator<Uint8Array> }> {
  const r = await reach(ctx, id);
  try {
    return await archiveIn(r, path, topName, opts);
  } catch (e) {
    r.release();
    throw e;
  }
}

export interface ArchiveOptions {
  /** tar's --one-file-system: what is mounted under PATH (volumes, binds, tmpfs) is left out, as export does */
  oneFileSystem?: boolean;
}

/** archivePath in R, released when the archive has been read */
async function archiveIn(r: Reach, path: string, topName: string | undefined, opts: ArchiveOptions): Promise<{ stat: PathStat; tar: AsyncGenerator<Uint8Array> }> {
  const { id } = r;
  const stat = statIn(r, path);
  const at = locate(r, path, false);
  fs.close(at.rootfd);
  const want = topName ?? splitDirEntry(path)[1];
  // the resolved path's directory and entry: "." archives a directory's contents
  const contents = want === "." || at.path === "/";
  const [dir, base] = contents ? [at.path, "."] : splitDirEntry(at.path);
  const member = contents ? "." : `./${base}`;
  const excludes = pseudoMounts(r, at.path).map((m) => `--exclude=${wildcardEscape(member + m.slice(at.path === "/" ? 0 : at.path.length))}/*`);
  const { pid, fd: outR, errors } = await startTar(r, [{ op: "chdir-in-root", root: r.root, path: dir }], ["--numeric-owner", "--anchored", ...(opts.oneFileSystem ? ["--one-file-system"] : []), ...excludes, "-cf", "-", member], "stdout");
  async function* raw(): AsyncGenerator<Uint8Array> {
    let ended = false;
    try {
      for await (const c of Bun.file(outR).stream()) yield c;
      ended = true;
    } finally {
      fs.close(outR);
      if (!ended) {
        // the reader went away (a client that hung up): the helper is ours, by pid
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* it has exited */
        }
        supervise(pid, -1, false);
      }
    }
    try {
      tarOutcome(pid, await errors, `archive ${path} of container "${id}"`, path);
    } finally {
      r.release();
    }
  }
  const rebase: Rebase = { from: contents ? "." : base, to: contents ? "." : want };
  return { stat, tar: rebaseTar(raw(), rebase) };
}

export interface ExtractOptions {
  /** a directory may replace a non-directory and the reverse (the API's noOverwriteDirNonDir=false) */
  overwriteDirNonDir: boolean;
  /** the archive's owners are kept (cp -a, copyUIDGID); else every file is the container root's */
  copyUIDGID: boolean;
}

/** where the archive is staged: the container's state dir as root (whose container root may be a subordinate id), else the data root (disk, not a tmpfs) */
function stagingDir(ctx: RuntimeContext, r: Reach): string {
  const base = ctx.ids.uid === 0 ? r.dir : `${ctx.dataRoot}/tmp`;
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(`${base}/cp-`);
  const root = { uid: r.maps.uid.find((m) => m.containerID === 0)?.hostID, gid: r.maps.gid.find((m) => m.containerID === 0)?.hostID };
  if (ctx.ids.uid === 0 && root.uid !== undefined && root.gid !== undefined && (root.uid !== 0 || root.gid !== 0)) chownSync(dir, root.uid, root.gid);
  return dir;
}

/**
 * Extracts TAR into the directory PATH of the container (PUT
 * /containers/ID/archive, cp SRC ID:DEST): entries merged into what is
 * there, owned by the container's root unless copyUIDGID; an entry whose
 * name leaves PATH fails the whole copy before anything is written there.
 */
export async function extractArchive(ctx: RuntimeContext, id: string, path: string, tar: AsyncIterable<Uint8Array>, opts: ExtractOptions, rebase: Rebase = { from: "", to: "" }): Promise<void> {
  const r = await reach(ctx, id);
  try {
    await extractIn(ctx, r, path, tar, opts, rebase);
  } finally {
    r.release();
  }
}

async function extractIn(ctx: RuntimeContext, r: Reach, path: string, tar: AsyncIterable<Uint8Array>, opts: ExtractOptions, rebase: Rebase): Promise<void> {
  const { id } = r;
  const at = locate(r, path, true);
  fs.close(at.rootfd);
  if (!isDir(at.stat.mode)) throw new BunkerError(`cp: the extraction point ${path} is not a directory in container "${id}"`, { errno: "ENOTDIR", path, fix: "name a directory of the container" });
  const stage = stagingDir(ctx, r);
  try {
    const { pid, fd: inW, errors } = await startTar(r, [], ["--numeric-owner", "-p", opts.copyUIDGID ? "--same-owner" : "--no-same-owner", "-C", stage, "-xf", "-"], "stdin");
    const w = Bun.file(inW).writer({ highWaterMark: 1 << 20 });
    let failure: unknown;
    try {
      for await (const c of rebaseTar(tar, rebase, true)) {
        w.write(c);
        await w.flush();
      }
    } catch (e) {
      failure = e;
    } finally {
      try {
        await w.end();
      } catch {
        /* tar went first: its status says why */
      }
      fs.close(inW);
    }
    if (failure instanceof BunkerError) {
      // a refused entry: tar gets a cut archive and fails; the refusal is the error
      supervise(pid, -1, false);
      throw failure;
    }
    tarOutcome(pid, await errors, `extract the archive for ${path} of container "${id}"`, path);
    if (failure) throw fromSysError("cp: cannot pass the archive to tar", failure, { path });
    const plan: Plan = {
      cloneFlags: r.newUserns ? CLONE_NEWUSER : 0,
      joinUserns: r.joinUserns,
      ops: [{ op: "copy-into", from: stage, root: r.root, path: at.path, overwriteDirNonDir: opts.overwriteDirNonDir }],
    };
    await runStorePlan(plan, r.newUserns);
  } finally {
    await removeOwnedTree(stage, r.maps);
  }
}
