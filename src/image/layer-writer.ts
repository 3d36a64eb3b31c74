// A container's writable layer (an overlay upper dir) as an OCI layer: what
// `bunker commit` and `bunker build` store for each change of the filesystem.
//
//  1. The host's GNU tar reads the upper dir as root of a user namespace with
//     the container's id maps (rootless, files of subordinate ids are only
//     readable there; export.ts's approach): the owners it records are the
//     container's ids, every xattr is kept, entries are sorted by name.
//  2. That archive is rewritten entry by entry into the OCI layer format
//     (ociLayerEntries): overlay whiteouts (a 0/0 character device, or a file
//     with user.overlay.whiteout) become `.wh.NAME`, an opaque directory
//     (user.overlay.opaque=y) gets `.wh..wh..opq`, overlay's and the store's
//     own xattrs are dropped, mtimes are whole seconds (clamped to
//     SOURCE_DATE_EPOCH when it is set), only the fields below are written:
//     the same tree gives the same bytes, so the same diffId.
//  3. It is compressed (gzip, or zstd), digested, stored as a blob, and
//     unpacked into the store by the store's own unpack (Store.ensureLayer):
//     the layer dir a later overlay uses as a lower is made from the blob, in
//     the store's format and with the store's owners (subordinate ids and
//     override records rootless), exactly as a pulled layer's would be.
//     Moving the upper in instead would keep the container's on-disk owners
//     and its whiteout forms, which the store's readers and the copy driver
//     do not all read.
import { createReadStream, rmSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import type { HostIds, IdMaps } from "../sys/idmap.ts";
import { hostTar, runUnshared } from "../sys/unshare.ts";
import { chainIds, Hasher } from "./digest.ts";
import type { LayerLimits } from "./limits.ts";
import { Store } from "./store.ts";
import { TarReader, type TarEntry } from "./tar.ts";
import { padding, tarHeader, TAR_END, type TarHeaderInput } from "./tarwriter.ts";
import { MT } from "./types.ts";
import { OPAQUE_XATTR, TRUSTED_OPAQUE_XATTR, WH_OPAQUE, WH_PREFIX } from "./whiteout.ts";
import { OVERRIDE_XATTR } from "./unpack.ts";

/** what writeLayer needs of the engine's RuntimeContext */
export interface LayerContext {
  readonly dataRoot: string;
  readonly ids: HostIds;
  /** SOURCE_DATE_EPOCH, when set, clamps every mtime */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** where a layer read while its container wrote to it is said (without one that is an error) */
  readonly log?: { note(msg: string): void };
}

export interface WriteLayerOptions {
  /** the id maps of the container that wrote the upper dir: its files' owners on the host */
  maps: IdMaps;
  /** the diffIds of the layers below it (the base image's, then earlier layers of a build), bottom first */
  parentDiffIds: string[];
  /** "gzip" (default) or "zstd" */
  compression?: "gzip" | "zstd";
  /** what the unpacked layer may expand to (the store's default reserve when absent) */
  limits?: LayerLimits;
  /** absolute paths left out with what is below them: the container's mount points (the upper holds only the dirs and files made for them) */
  exclude?: string[];
}

export interface LayerResult {
  /** the compressed blob's digest (the manifest's layer digest) */
  digest: string;
  /** the uncompressed tar's digest (the config's rootfs.diff_ids entry) */
  diffId: string;
  /** the blob's size in bytes */
  size: number;
  mediaType: string;
  /** the layer's chain id and its unpacked dir in the store (a lower for the next overlay) */
  chainId: string;
  dir: string;
}

const OVERLAY_XATTRS = ["user.overlay.", "trusted.overlay."];
const WHITEOUT_XATTRS = ["user.overlay.whiteout", "trusted.overlay.whiteout"];
/** overlay features whose upper entries stand for lower content a tar of the upper lacks */
const UNSUPPORTED_XATTRS = ["redirect", "metacopy"];

/** The upper dir UPPER as a layer: stored as a blob and unpacked in the store (see above). */
export async function writeLayer(ctx: LayerContext, upper: string, opts: WriteLayerOptions): Promise<LayerResult> {
  const store = Store.open(ctx.dataRoot, opts.limits);
  const compression = opts.compression ?? "gzip";
  const plain = store.tempPath("layer.tar");
  try {
    const diffId = await withUpperTar(ctx, upper, opts.maps, opts.exclude ?? [], (raw) => rewriteAsLayer(raw, plain, { sourceDateEpoch: sourceDateEpoch(ctx.env), oneIdMap: isOneIdMap(opts.maps) }));
    const { digest, size } = await compressInto(store, createReadStream(plain, { highWaterMark: 1 << 20 }), compression);
    const chains = chainIds([...opts.parentDiffIds, diffId]);
    const chainId = chains[chains.length - 1]!;
    const lowers = chains.slice(0, -1).map((c) => store.layerDir(c)).reverse();
    const info = await store.ensureLayer(chainId, diffId, digest, lowers);
    return { digest, diffId, size, mediaType: compression === "zstd" ? MT.ociLayerZstd : MT.ociLayerGzip, chainId, dir: info.dir };
  } finally {
    rmSync(plain, { force: true });
  }
}

/** FN given a GNU tar of the upper dir UPPER but the paths EXCLUDE (see tarUpper), in the store's tmp dir, removed after */
export async function withUpperTar<T>(ctx: LayerContext, upper: string, maps: IdMaps, exclude: string[], fn: (raw: string) => Promise<T>): Promise<T> {
  const raw = Store.open(ctx.dataRoot).tempPath("upper.tar");
  try {
    await tarUpper(ctx, upper, maps, exclude, raw);
    return await fn(raw);
  } finally {
    rmSync(raw, { force: true });
  }
}

/** what an upper dir's entry E (NAME: relName's) is to overlay, from its xattrs and type */
export interface OverlayEntry {
  /** a whiteout (a 0/0 character device, or a file with the whiteout xattr): NAME is deleted */
  whiteout: boolean;
  /** a directory that hides what lower layers have in it */
  opaque: boolean;
  /** the entry's other xattrs, sorted by name (overlay's and the store's owner record dropped) */
  xattrs: Record<string, Uint8Array>;
}

export function overlayEntry(e: TarEntry, name: string): OverlayEntry {
  const xattrs: Record<string, Uint8Array> = {};
  let opaque = false, xattrWhiteout = false;
  for (const [k, v] of [...e.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (startsWithAny(k, OVERLAY_XATTRS)) {
      const feature = k.slice(k.indexOf(".overlay.") + ".overlay.".length);
      if (UNSUPPORTED_XATTRS.includes(feature))
        throw new BunkerError(`the writable layer has an overlay ${feature} entry (${name}): its content is in a lower layer the upper dir does not hold`, { errno: "EOPNOTSUPP", fix: "mount overlay without redirect_dir and metacopy (bunker does not turn them on)" });
      if ((k === OPAQUE_XATTR || k === TRUSTED_OPAQUE_XATTR) && dec.decode(v) === "y") opaque = true;
      if (WHITEOUT_XATTRS.includes(k)) xattrWhiteout = true;
      continue;
    }
    if (k === OVERRIDE_XATTR) continue; // the store's owner record, copied up with the file
    xattrs[k] = v;
  }
  const whiteout = (e.type === "char" && e.devmajor === 0 && e.devminor === 0) || (e.type === "file" && e.size === 0 && xattrWhiteout);
  return { whiteout, opaque: opaque && e.type === "dir", xattrs };
}

/** SOURCE_DATE_EPOCH as seconds (undefined when unset); anything but a decimal number is an error */
export function sourceDateEpoch(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new BunkerError(`SOURCE_DATE_EPOCH="${v}" is not a number of seconds`, { errno: "EINVAL", fix: "set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it" });
  return Number(v);
}

const isOneIdMap = (m: IdMaps) => m.uid.length === 1 && m.uid[0]!.size === 1;
const isIdentity = (m: IdMaps) => [...m.uid, ...m.gid].every((x) => x.containerID === x.hostID);

/**
 * GNU tar of UPPER into OUT but the absolute paths EXCLUDE (and what is below
 * them), run as root of a user namespace with MAPS (host root with the
 * identity map: as it is)
 */
async function tarUpper(ctx: LayerContext, upper: string, maps: IdMaps, exclude: string[], out: string): Promise<void> {
  const tar = hostTar("commit");
  const skip = exclude.map((p) => `--exclude=.${p.startsWith("/") ? "" : "/"}${p}`);
  const args = [tar, "--numeric-owner", "--xattrs", "--xattrs-include=*", "--format=posix", "--sort=name", "--anchored", "--no-wildcards", ...skip, "-C", upper, "-cf", out, "."];
  const st = await runUnshared(args, ["PATH=/usr/bin:/bin", "LC_ALL=C"], maps, ctx.ids.uid === 0 && isIdentity(maps));
  // 1: a file changed while it was read (a running container not frozen); the archive is whole
  if (st.code === 1 && !st.signal && ctx.log) return ctx.log.note(`${upper}: a file changed while the layer was read (tar's message above): the layer has it as it was read`);
  if (st.code !== 0 || st.signal)
    throw new BunkerError(`cannot read the container's writable layer: tar ended with ${st.signal ? `signal ${st.signal}` : `status ${st.code}`}${st.code === 1 ? " (a file changed while it was read)" : ""}`, {
      errno: "EIO",
      path: upper,
      fix: st.code === 1 ? "stop or pause the container while its layer is read" : "see tar's message above",
    });
}

export interface RewriteOptions {
  /** mtimes later than this (seconds) become it */
  sourceDateEpoch?: number;
  /** the container had one id: the owners the store recorded (user.containers.override_stat) of copied-up files are theirs */
  oneIdMap?: boolean;
}

/** the tar RAW (GNU tar of an upper dir) rewritten as an OCI layer into OUT; its digest (the diffId) */
export async function rewriteAsLayer(raw: string, out: string, opts: RewriteOptions): Promise<string> {
  const h = new Hasher();
  const w = Bun.file(out).writer({ highWaterMark: 1 << 20 });
  const emit = (b: Uint8Array) => {
    if (!b.length) return;
    h.update(b);
    w.write(b);
  };
  const reader = new TarReader(ociLayerEntries(emit, opts));
  for await (const c of Bun.file(raw).stream()) {
    reader.push(c);
    await w.flush();
  }
  reader.end();
  emit(TAR_END);
  await w.end();
  return h.digest();
}

const dec = new TextDecoder();
const startsWithAny = (name: string, prefixes: string[]) => prefixes.some((p) => name.startsWith(p));

/**
 * The TarReader handler that turns an upper dir's entries into an OCI layer's,
 * written to EMIT in order (see the file's comment).  Exported for tests.
 */
export function ociLayerEntries(emit: (b: Uint8Array) => void, opts: RewriteOptions): { entry(e: TarEntry): void; data(c: Uint8Array): void; entryEnd(e: TarEntry): void } {
  const whiteouts = new Set<string>();
  let body = false;
  const mtime = (t: number) => {
    const s = Math.floor(t);
    return opts.sourceDateEpoch !== undefined && s > opts.sourceDateEpoch ? opts.sourceDateEpoch : s;
  };
  const header = (h: TarHeaderInput) => emit(tarHeader(h));
  const marker = (name: string, e: TarEntry) => header({ name, type: "file", mode: e.mode & 0o777, uid: e.uid, gid: e.gid, mtime: mtime(e.mtime), size: 0 });
  return {
    entry(e) {
      body = false;
      const name = relName(e.name);
      if (name === "") return; // the upper dir itself: a layer has no entry for the root
      const { whiteout, opaque, xattrs } = overlayEntry(e, name);
      const slash = name.lastIndexOf("/");
      const whiteoutName = `${name.slice(0, slash + 1)}${WH_PREFIX}${name.slice(slash + 1)}`;
      if (whiteout || isLinkedWhiteout(e, whiteouts)) {
        whiteouts.add(name);
        return marker(whiteoutName, e);
      }
      const { uid, gid } = opts.oneIdMap ? recordedOwner(e) : e;
      header({
        name,
        type: e.type,
        mode: e.mode,
        uid,
        gid,
        mtime: mtime(e.mtime),
        size: e.type === "file" ? e.size : 0,
        linkname: e.type === "hardlink" ? relName(e.linkname) : e.type === "symlink" ? e.linkname : undefined,
        devmajor: e.devmajor,
        devminor: e.devminor,
        xattrs,
      });
      body = e.type === "file";
      if (opaque) marker(`${name}/${WH_OPAQUE}`, e);
    },
    data(c) {
      if (body) emit(c);
    },
    entryEnd(e) {
      if (body) emit(padding(e.size));
      body = false;
    },
  };
}

/** E is a hardlink to one of WHITEOUTS (names seen so far): overlay links whiteouts to one inode */
export function isLinkedWhiteout(e: TarEntry, whiteouts: ReadonlySet<string>): boolean {
  return e.type === "hardlink" && whiteouts.has(relName(e.linkname));
}

/** a name of GNU tar's `-C DIR .` without its "./" (and a directory's trailing "/"): "" for DIR itself */
export function relName(n: string): string {
  return n.replace(/^\.\/?/, "").replace(/\/+$/, "");
}

/** the owner the store recorded for a copied-up file (UID:GID:0MODE:TYPE), else the entry's */
function recordedOwner(e: TarEntry): { uid: number; gid: number } {
  const rec = e.xattrs.get(OVERRIDE_XATTR);
  const m = rec && /^(\d+):(\d+):/.exec(dec.decode(rec));
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : e;
}

/** the tar stream PLAIN compressed into a blob of the store (push --compression-format uses it too): its digest and size */
export async function compressInto(store: Store, plain: AsyncIterable<Uint8Array>, compression: "gzip" | "zstd"): Promise<{ digest: string; size: number }> {
  const zlib = await import("node:zlib");
  const z = compression === "zstd" ? zlib.createZstdCompress() : zlib.createGzip();
  const tmp = store.tempPath("blob");
  const h = new Hasher();
  const w = Bun.file(tmp).writer({ highWaterMark: 1 << 20 });
  try {
    const feed = (async () => {
      for await (const c of plain) {
        if (!z.write(c)) await new Promise<void>((res) => z.once("drain", res));
      }
      z.end();
    })();
    for await (const c of z as AsyncIterable<Uint8Array>) {
      h.update(c);
      w.write(c);
    }
    await feed;
    await w.end();
    const digest = h.digest();
    if (store.hasBlob(digest)) rmSync(tmp, { force: true });
    else store.commitBlob(tmp, digest);
    return { digest, size: h.bytes };
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
