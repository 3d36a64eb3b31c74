// The image store, content-addressed under $XDG_DATA_HOME/bunker (or --data-root):
//
//   blobs/sha256/<hex>        manifests, configs and layer blobs as fetched, verified
//   layers/<chainid-hex>/     one layer unpacked (overlay lower dir format, see unpack.ts)
//   layers/<chainid-hex>.json written after the dir is complete: its presence = done
//   images.json               names/tags -> image (config digest) and manifest digest
//   tmp/                      downloads and unpacks in progress (same filesystem: rename)
//   locks/                    flock(2) files: images.json and each layer
//
// Every write goes to tmp/ first and is renamed into place after its digest is
// checked; images.json and each layer are updated under an exclusive flock, so
// concurrent pulls (of one image or of images sharing layers) never corrupt it.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BunkerError, fromSysError, errnoCode } from "../errors.ts";
import { parseJson } from "../json.ts";
import * as fs from "../sys/fsat.ts";
import { chainIds, digestHex, digestMismatch, Hasher, sha256 } from "./digest.ts";
import { InflatedBlob } from "./inflate.ts";
import { formatReference, parseReference, repoName } from "./reference.ts";
import { isShortName, localCandidates } from "./shortnames.ts";
import type { ImageConfigFile, Manifest } from "./types.ts";
import { Unpacker, type UnpackStats } from "./unpack.ts";
import { LayerGuard, type LayerLimits } from "./limits.ts";
import { chownToImageOwners, imageOwnerMaps, layerOwners, type LayerOwners } from "./owners.ts";
import { imagesFile } from "./data-root.ts";
import { dropLaunchRecords } from "./launch-cache.ts";
import { pruneBlobSources } from "./blob-sources.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import { singleMaps, processIds } from "../sys/idmap.ts";

export interface ImageRecord {
  /** image ID = config digest */
  id: string;
  /** digest of the stored manifest */
  digest: string;
  /** full names: docker.io/library/busybox:latest */
  names: string[];
  /** repo@digest names this image was pulled by */
  repoDigests?: string[];
  /** when it entered the store */
  added: string;
}

interface ImagesFile {
  version: 1;
  images: ImageRecord[];
}

export interface LayerInfo {
  chainId: string;
  diffId: string;
  blob: string;
  dir: string;
  notes: string[];
  /** who owns the files on disk (absent in layers of older versions: the unpacker's default, "caller" or "tar") */
  owners?: LayerOwners;
}


/**
 * Removes TREE (unpacked by this user) with whatever it holds: files of
 * subordinate ids (layers chowned to the image's owners, MAPS: the ids they
 * were given) and directories without write permission; an error when it will not go.
 */
export async function removeTree(tree: string, maps = imageOwnerMaps()): Promise<void> {
  await removeOwnedTree(tree, maps ?? singleMaps(processIds().uid, processIds().gid));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a blob that is not in the store yet: SIZE bytes at OFFSET of the file PATH (an archive being loaded) */
export interface BlobRange {
  path: string;
  offset: number;
  size: number;
}

export class Store {
  readonly blobs: string;
  readonly layers: string;
  readonly tmp: string;
  readonly locks: string;
  readonly indexPath: string;

  /** LIMITS: what one layer may expand to (src/image/limits.ts; the default reserve when empty) */
  constructor(readonly root: string, readonly limits: LayerLimits = {}) {
    this.blobs = join(root, "blobs/sha256");
    this.layers = join(root, "layers");
    this.tmp = join(root, "tmp");
    this.locks = join(root, "locks");
    this.indexPath = imagesFile(root);
    try {
      for (const d of [this.blobs, this.layers, this.tmp, this.locks]) mkdirSync(d, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw fromSysError("cannot create the image store", e, { path: root, fix: "check --data-root / $XDG_DATA_HOME and its permissions" });
    }
  }

  static open(dataRoot: string, limits?: LayerLimits): Store {
    return new Store(dataRoot, limits);
  }

  // ---- locks and temp files ------------------------------------------------------

  /** Runs FN holding the exclusive flock NAME (released on exit, even a crash). */
  async withLock<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const path = join(this.locks, `${name}.lock`);
    const fd = fs.openat(fs.AT_FDCWD, path, fs.O_WRONLY | fs.O_CREAT, 0o600);
    try {
      for (let wait = 5; !fs.tryLockExclusive(fd, path); wait = Math.min(wait * 2, 100)) await sleep(wait);
      return await fn();
    } finally {
      fs.close(fd); // closing the last fd releases the flock
    }
  }

  tempPath(what: string): string {
    return join(this.tmp, `${what}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`);
  }

  // ---- blobs -----------------------------------------------------------------------

  blobPath(digest: string): string {
    return join(this.blobs, digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Moves the finished temp file TMP to the blob DIGEST (after the caller verified it). */
  commitBlob(tmp: string, digest: string): void {
    renameSync(tmp, this.blobPath(digest));
  }

  /** Stores BYTES; when EXPECTED is given the content must match it. */
  putBlob(bytes: Uint8Array | string, expected?: string): string {
    const digest = sha256(bytes);
    if (expected && expected !== digest) throw digestMismatch("blob", expected, digest);
    const path = this.blobPath(digest);
    if (!existsSync(path)) {
      const tmp = this.tempPath("blob");
      writeFileSync(tmp, bytes, { mode: 0o600 });
      renameSync(tmp, path);
    }
    return digest;
  }

  /** Streams SRC into the store, verifying EXPECTED (digest, and size when known). */
  async putBlobStream(src: AsyncIterable<Uint8Array>, expected?: { digest: string; size?: number }): Promise<string> {
    const tmp = this.tempPath("blob");
    const h = new Hasher();
    const w = Bun.file(tmp).writer({ highWaterMark: 1 << 20 });
    try {
      for await (const c of src) {
        h.update(c);
        w.write(c);
      }
      await w.end();
      const got = h.digest();
      if (expected && got !== expected.digest) throw digestMismatch("blob", expected.digest, got);
      if (expected?.size !== undefined && h.bytes !== expected.size) throw new BunkerError(`blob ${expected.digest}: size ${h.bytes}, expected ${expected.size}`, { errno: "EINVAL" });
      this.commitBlob(tmp, got);
      return got;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  readBlob(digest: string): Uint8Array {
    const path = this.blobPath(digest);
    try {
      return readFileSync(path);
    } catch (e) {
      throw fromSysError(`the image store lost blob ${digest}`, e, { path, fix: "pull or load the image again" });
    }
  }

  /** A stored JSON blob, re-verified (a store that lost or changed a file is reported, not crashed on). */
  readJson<T>(digest: string): T {
    const bytes = this.readBlob(digest);
    const got = sha256(bytes);
    if (got !== digest) throw digestMismatch("stored blob", digest, got, this.blobPath(digest));
    // checked by shape when it entered the store (documents.ts); bounded all the same
    return parseJson(bytes, this.blobPath(digest), "image") as T;
  }

  // ---- images.json -------------------------------------------------------------------

  listImages(): ImageRecord[] {
    try {
      return (JSON.parse(readFileSync(this.indexPath, "utf8")) as ImagesFile).images;
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return [];
      throw fromSysError("cannot read the image list", e, { path: this.indexPath, fix: "restore or remove images.json" });
    }
  }

  /** Changes images.json under its lock (read, FN, write to temp, rename). */
  async updateImages<T>(fn: (images: ImageRecord[]) => T): Promise<T> {
    return this.withLock("images", () => {
      const images = this.listImages();
      const out = fn(images);
      const tmp = this.tempPath("images.json");
      writeFileSync(tmp, JSON.stringify({ version: 1, images } satisfies ImagesFile, null, 1));
      renameSync(tmp, this.indexPath);
      return out;
    });
  }

  /** Records an image (manifest MANIFEST_DIGEST) under NAMES; a name moves from any other image. */
  async addImage(manifestDigest: string, names: string[], repoDigests: string[] = []): Promise<ImageRecord> {
    const manifest = this.readJson<Manifest>(manifestDigest);
    const id = manifest.config.digest;
    return this.updateImages((images) => {
      for (const other of images) other.names = other.names.filter((n) => !names.includes(n));
      let rec = images.find((i) => i.id === id && i.digest === manifestDigest) ?? images.find((i) => i.id === id);
      if (!rec) {
        rec = { id, digest: manifestDigest, names: [], added: new Date().toISOString() };
        images.push(rec);
      }
      rec.digest = manifestDigest;
      for (const n of names) if (!rec.names.includes(n)) rec.names.push(n);
      for (const d of repoDigests) if (!(rec.repoDigests ??= []).includes(d)) rec.repoDigests.push(d);
      return { ...rec };
    });
  }

  /**
   * Finds an image by name (normalized), repo@digest, full or short ID; a
   * short name also as localhost/NAME and in the registries SEARCH lists
   * (registries.conf's unqualified-search-registries; src/image/shortnames.ts).
   */
  find(ref: string, search: readonly string[] = []): ImageRecord | undefined {
    const images = this.listImages();
    const id = /^(?:sha256:)?([a-f0-9]{3,64})$/.exec(ref);
    if (id) {
      const hits = images.filter((i) => digestHex(i.id).startsWith(id[1]!));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw new BunkerError(`image ID prefix "${ref}" is ambiguous`, { errno: "EINVAL", fix: "give more digits" });
    }
    let r;
    try {
      r = parseReference(ref);
    } catch (e) {
      if (id) return undefined;
      throw e;
    }
    if (r.digest) {
      const repo = repoName(r);
      return images.find((i) => i.digest === r.digest && (i.names.some((n) => n.startsWith(repo + ":")) || i.repoDigests?.includes(`${repo}@${r.digest}`)))
        ?? images.find((i) => i.digest === r.digest);
    }
    const names = isShortName(ref) ? localCandidates(ref, search) : [formatReference(r)];
    for (const full of names) {
      const hit = images.find((i) => i.names.includes(full));
      if (hit) return hit;
    }
    return undefined;
  }

  /** find, or an error saying where a short name was looked for */
  get(ref: string, search: readonly string[] = []): ImageRecord {
    const rec = this.find(ref, search);
    if (!rec) throw new BunkerError(`no such image: ${ref}${lookedFor(ref, search)}`, { errno: "ENOENT", fix: `pull it first: bunker pull ${ref}` });
    return rec;
  }

  manifestOf(rec: ImageRecord): Manifest {
    return this.readJson<Manifest>(rec.digest);
  }

  configOf(rec: ImageRecord): ImageConfigFile {
    return this.readJson<ImageConfigFile>(this.manifestOf(rec).config.digest);
  }

  // ---- layers -------------------------------------------------------------------------

  layerDir(chainId: string): string {
    return join(this.layers, digestHex(chainId));
  }

  /**
   * Unpacks (once) every layer of the image MANIFEST_DIGEST; returns them bottom first.
   * READY(i), when given, is awaited before layer i is touched (its blob may still be downloading).
   */
  async ensureLayers(manifestDigest: string, onLayer?: (i: number, info: LayerInfo) => void, ready?: (i: number) => Promise<void>, pending?: ReadonlyMap<string, BlobRange>): Promise<LayerInfo[]> {
    const manifest = this.readJson<Manifest>(manifestDigest);
    const config = this.readJson<ImageConfigFile>(manifest.config.digest);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new BunkerError(`image ${manifestDigest}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`, { errno: "EINVAL", fix: "the image is broken" });
    }
    const chains = chainIds(diffIds);
    const out: LayerInfo[] = [];
    for (let i = 0; i < chains.length; i++) {
      await ready?.(i);
      const info = await this.ensureLayer(chains[i]!, diffIds[i]!, manifest.layers[i]!.digest, out.map((l) => l.dir).reverse(), pending?.get(manifest.layers[i]!.digest));
      out.push(info);
      onLayer?.(i, info);
    }
    return out;
  }

  /**
   * A layer's directory, unpacked from BLOB (verified against DIFF_ID) if not
   * done yet.  A blob not in the store yet may come from RANGE (bunker load's
   * archive): it is verified and stored as it is unpacked.
   */
  async ensureLayer(chainId: string, diffId: string, blob: string, lowerDirs: string[], range?: BlobRange): Promise<LayerInfo> {
    const hex = digestHex(chainId);
    const dir = this.layerDir(chainId);
    const meta = `${dir}.json`;
    const done = (): LayerInfo | undefined => {
      if (!existsSync(meta)) return undefined;
      if (!existsSync(dir)) throw new BunkerError(`the image store lost layer ${chainId}`, { errno: "ENOENT", path: dir, fix: `remove ${meta} and pull or load the image again` });
      return { ...(JSON.parse(readFileSync(meta, "utf8")) as LayerInfo), dir };
    };
    const ready = done();
    if (ready) return ready;
    return this.withLock(`layer-${hex}`, async () => {
      const again = done();
      if (again) return again;
      const stored = this.hasBlob(blob);
      const from = stored ? undefined : range;
      if (!stored && !from) throw new BunkerError(`the image store lost layer blob ${blob}`, { errno: "ENOENT", path: this.blobPath(blob), fix: "pull or load the image again" });
      const tmp = this.tempPath(`layer-${hex.slice(0, 12)}`);
      mkdirSync(tmp, { mode: 0o755 });
      const maps = imageOwnerMaps();
      const blobTmp = from && this.tempPath("blob");
      let stats: UnpackStats;
      try {
        const guard = new LayerGuard(this.limits, this.root, `layer ${blob}`);
        stats = await unpackBlob(from ? from.path : this.blobPath(blob), tmp, diffId, lowerDirs, from && { ...from, digest: blob, copyTo: blobTmp! }, guard);
        // before the rename: a failure leaves the store as it was
        // (a layer whose files all belong to root, as most do, has no records: nothing to walk)
        if (maps && stats.recorded > 0) await chownToImageOwners(tmp, maps);
        if (blobTmp) this.commitBlob(blobTmp, blob);
        await removeTree(dir, maps); // a leftover without its .json (crash between the renames)
        renameSync(tmp, dir);
      } catch (e) {
        if (blobTmp) rmSync(blobTmp, { force: true });
        await removeTree(tmp, maps);
        throw e;
      }
      const info: LayerInfo = { chainId, diffId, blob, dir, notes: stats.notes, owners: layerOwners(processIds().uid, maps) };
      const tmpMeta = this.tempPath("layer.json");
      writeFileSync(tmpMeta, JSON.stringify(info));
      renameSync(tmpMeta, meta);
      return info;
    });
  }

  /** the recorded owners of layer HEX's files (undefined: no metadata, or an older version's) */
  private layerOwnersOf(hex: string): LayerOwners | undefined {
    try {
      return (JSON.parse(readFileSync(join(this.layers, `${hex}.json`), "utf8")) as LayerInfo).owners;
    } catch {
      return undefined;
    }
  }

  /**
   * Marks the blobs DIGESTS and layers CHAINS as needed by a pull or load in progress
   * (gc keeps them while this process lives); call the returned function when done.
   */
  inflight(digests: string[], chains: string[]): () => void {
    const path = join(this.tmp, `inflight-${process.pid}-${crypto.randomUUID().slice(0, 8)}.json`);
    writeFileSync(path, JSON.stringify({ pid: process.pid, blobs: digests.map((d) => digestHex(d)), layers: chains.map((c) => digestHex(c)) }));
    return () => rmSync(path, { force: true });
  }

  /** What live pulls and loads have marked as needed. */
  private inflightSets(): { blobs: Set<string>; layers: Set<string> } {
    const blobs = new Set<string>(), layers = new Set<string>();
    for (const f of readdirSync(this.tmp)) {
      if (!f.startsWith("inflight-")) continue;
      try {
        const x = JSON.parse(readFileSync(join(this.tmp, f), "utf8")) as { pid: number; blobs: string[]; layers: string[] };
        process.kill(x.pid, 0); // throws when the process is gone: its marks are stale
        for (const b of x.blobs) blobs.add(b);
        for (const l of x.layers) layers.add(l);
      } catch {
        rmSync(join(this.tmp, f), { force: true });
      }
    }
    return { blobs, layers };
  }

  // ---- removal ------------------------------------------------------------------------

  /**
   * `rmi REF`: a name is untagged (the image goes when its last name does);
   * an ID removes the image, which needs FORCE when it still has several names.
   * IN_USE(imageId) names a container using the image: deleting it then needs FORCE.
   * Returns the untagged names and whether the image itself was deleted.
   */
  async removeImage(ref: string, force: boolean, inUse?: (id: string) => string | undefined): Promise<{ untagged: string[]; deleted?: string }> {
    const rec = this.get(ref);
    const user = force ? undefined : inUse?.(rec.id);
    if (user && rec.names.length <= 1) {
      throw new BunkerError(`image ${ref} is used by container ${user}`, { errno: "EBUSY", fix: `remove the container first, or use rmi -f` });
    }
    const named = (() => {
      try { return (isShortName(ref) ? localCandidates(ref, []) : [formatReference(parseReference(ref))]).find((n) => rec.names.includes(n)); } catch { return undefined; }
    })();
    const byName = !rec.names.length || !!named;
    return this.updateImages((images) => {
      const i = images.findIndex((x) => x.id === rec.id && x.digest === rec.digest);
      const cur = images[i]!;
      if (byName && cur.names.length > 0) {
        const name = named!;
        cur.names = cur.names.filter((n) => n !== name);
        if (cur.names.length) return { untagged: [name] };
        images.splice(i, 1);
        return { untagged: [name], deleted: cur.id };
      }
      if (cur.names.length > 1 && !force) {
        throw new BunkerError(`image ${ref} is referenced by ${cur.names.length} names (${cur.names.join(", ")})`, { errno: "EBUSY", fix: "remove it by name, or use -f" });
      }
      images.splice(i, 1);
      return { untagged: cur.names, deleted: cur.id };
    });
  }

  /**
   * Removes the images without names (dangling), or with ALL every image, but
   * those IN_USE says a container uses.  Returns their IDs.
   */
  async prune(opts: { all?: boolean; inUse?: (id: string) => boolean } = {}): Promise<string[]> {
    return this.updateImages((images) => {
      const gone = images.filter((i) => (opts.all || !i.names.length) && !opts.inUse?.(i.id));
      images.splice(0, images.length, ...images.filter((i) => !gone.includes(i)));
      return gone.map((i) => i.id);
    });
  }

  /**
   * Checks that every image's manifest, config, layer blobs and unpacked layers are
   * present and intact (blob digests recomputed).  Returns one line per problem.
   */
  async verify(): Promise<string[]> {
    const problems: string[] = [];
    const checked = new Set<string>();
    const blobOk = async (digest: string, what: string) => {
      if (checked.has(digest)) return;
      checked.add(digest);
      const path = this.blobPath(digest);
      if (!existsSync(path)) return void problems.push(`${what} ${digest}: missing (${path})`);
      const h = new Hasher();
      for await (const c of Bun.file(path).stream()) h.update(c);
      if (h.digest() !== digest) problems.push(`${what} ${digest}: content changed (digest ${h.digest()})`);
    };
    for (const rec of this.listImages()) {
      const name = rec.names[0] ?? rec.id;
      await blobOk(rec.digest, `image ${name}: manifest`);
      const read = <T>(digest: string): T | undefined => {
        try {
          return this.readJson<T>(digest);
        } catch (e) {
          problems.push(`image ${name}: ${e instanceof BunkerError ? e.message : String(e)}`);
          return undefined;
        }
      };
      const m = read<Manifest>(rec.digest);
      if (!m) continue;
      for (const l of m.layers) await blobOk(l.digest, `image ${name}: layer blob`);
      const c = read<ImageConfigFile>(m.config.digest);
      if (!c) continue;
      for (const ch of chainIds(c.rootfs.diff_ids)) {
        const dir = this.layerDir(ch);
        if (!existsSync(`${dir}.json`) || !existsSync(dir)) problems.push(`image ${name}: unpacked layer ${ch} missing (${dir})`);
      }
    }
    return problems;
  }

  /** Deletes blobs and layers no image refers to. Returns how many were removed. */
  async gc(): Promise<number> {
    return this.withLock("images", async () => {
      const { blobs: keepBlobs, layers: keepLayers } = this.inflightSets();
      for (const rec of this.listImages()) {
        keepBlobs.add(digestHex(rec.digest));
        // the index a platform's image was pulled from (pushed again as a whole: src/image/push.ts)
        for (const rd of rec.repoDigests ?? []) keepBlobs.add(digestHex(rd.slice(rd.lastIndexOf("@") + 1)));
        try {
          const m = this.readJson<Manifest>(rec.digest);
          keepBlobs.add(digestHex(m.config.digest));
          for (const l of m.layers) keepBlobs.add(digestHex(l.digest));
          const c = this.readJson<ImageConfigFile>(m.config.digest);
          for (const ch of chainIds(c.rootfs.diff_ids)) keepLayers.add(digestHex(ch));
        } catch {
          // a broken image keeps what it still names; `bunker rmi` removes it
        }
      }
      let removed = 0;
      // leftovers of crashed unpacks and loads (partial downloads stay for resuming, a week)
      const now = Date.now();
      for (const t of readdirSync(this.tmp)) {
        const p = join(this.tmp, t);
        const age = now - lstatSync(p).mtimeMs;
        if (age > (t.startsWith("partial-") ? 7 * 86400e3 : 86400e3)) await removeTree(p), removed++;
      }
      for (const b of readdirSync(this.blobs)) if (!keepBlobs.has(b)) rmSync(join(this.blobs, b), { force: true }), removed++;
      for (const l of readdirSync(this.layers)) {
        const hex = l.replace(/\.json$/, "");
        if (keepLayers.has(hex)) continue;
        await this.withLock(`layer-${hex}`, async () => {
          const owners = this.layerOwnersOf(hex);
          rmSync(join(this.layers, `${hex}.json`), { force: true });
          await removeTree(join(this.layers, hex), owners?.kind === "subuid" ? owners.maps : undefined);
        });
        if (!l.endsWith(".json")) removed++;
      }
      pruneBlobSources(this.root, keepBlobs);
      dropLaunchRecords(this.root);
      return removed;
    });
  }
}

/** ` (looked for NAME, NAME)` for a short REF: the names the store was searched for */
export function lookedFor(ref: string, search: readonly string[]): string {
  try {
    return isShortName(ref) && !/^(?:sha256:)?[a-f0-9]{3,64}$/.test(ref) ? ` (looked for ${localCandidates(ref, search).join(", ")})` : "";
  } catch {
    return "";
  }
}

/**
 * Unpacks the layer blob at PATH into DIR; its content must hash to DIFF_ID.
 * With RANGE, the blob is RANGE.size bytes at RANGE.offset of PATH, must hash
 * to RANGE.digest, and is copied to RANGE.copyTo on the way.  GUARD sees
 * every decompressed chunk before it is written and stops the unpack past the
 * store's limits.
 */
export async function unpackBlob(path: string, dir: string, diffId: string, lowerDirs: string[], range?: BlobRange & { digest: string; copyTo: string }, guard?: LayerGuard): Promise<UnpackStats> {
  const u = new Unpacker(dir, { lowerDirs });
  const content = new InflatedBlob(path, range);
  async function* guarded(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of src) {
      guard!.add(c.length);
      yield c;
    }
  }
  try {
    await u.apply(guard ? guarded(content) : content);
  } catch (e) {
    u.abort();
    throw e;
  }
  const stats = u.finish();
  if (range && (content.rawDigest !== range.digest || content.rawBytes !== range.size)) throw digestMismatch("layer blob", range.digest, content.rawDigest, path);
  if (content.digest !== diffId) throw digestMismatch("layer content (diff_id)", diffId, content.digest, path);
  return stats;
}
