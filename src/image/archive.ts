// `bunker load` and `bunker save`: image archives in and out of the store.
//
// Input: a docker-archive (`docker save`: manifest.json, in the pre-25 layout
// with <id>/layer.tar or the 25+ OCI-layout form with blobs/sha256/...),
// an oci-archive (a tar of an OCI image layout) or an OCI layout directory;
// a tar may itself be gzip/zstd-compressed.  The files of a compressed tar
// are hashed as they are copied into the store's tmp/.  Those of a plain tar
// (what docker save and skopeo write) are read in place: small ones are
// copied, a large one (a layer) is only located, skipped over, and read once,
// by the unpacker, which hashes it and copies it into the store on the way
// (store.ts BlobRange): no copy, read and hash of it before the unpack.
// Every blob named by digest must match before it is stored.
// Output: a docker-archive (pre-25 layout: <diffid>/layer.tar, <id>.json,
// manifest.json, repositories) that `docker load` and `podman load` accept.
import { closeSync, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { BunkerError, fromSysError } from "../errors.ts";
import { type Compression, decompress, detectCompression } from "./compress.ts";
import { chainIds, digestHex, digestMismatch, Hasher, sha256 } from "./digest.ts";
import { prewarmInflaters } from "./inflate.ts";
import { choosePlatform, hostPlatform } from "./platform.ts";
import { formatReference, parseReference, repoName, shortName } from "./reference.ts";
import type { BlobRange, Store } from "./store.ts";
import { TarReader, type TarEntry } from "./tar.ts";
import { padding, TAR_END, tarHeader } from "./tarwriter.ts";
import { checkJsonSize } from "../json.ts";
import { type DockerManifestEntry, parseDockerManifest, parseImageConfig, parseLayoutIndex, parseManifest } from "./documents.ts";
import { MT, type Descriptor, type ImageConfigFile, type Manifest, type Platform } from "./types.ts";

interface FileRef {
  /** where the bytes are now */
  path: string;
  /** a file of a plain tar read in place: SIZE bytes at OFFSET in PATH (the archive) */
  offset?: number;
  /** (of a file read in place: hashed when first asked for) */
  readonly digest: string;
  size: number;
  /** a temp file we may rename into the store (else it is copied) */
  owned: boolean;
}

/** a plain tar's files from this size on are read in place (layers); smaller ones are copied out */
const IN_PLACE = 1 << 20;

/** SIZE bytes at OFFSET of PATH, piece by piece (at most 1 MiB each, in one buffer) */
function eachPiece(r: BlobRange, fn: (piece: Uint8Array) => void): void {
  const fd = openSync(r.path, "r");
  try {
    const buf = new Uint8Array(Math.min(r.size, 1 << 20));
    for (let at = 0; at < r.size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, r.size - at), r.offset + at);
      if (n <= 0) throw new BunkerError("the image archive is truncated", { errno: "EINVAL", path: r.path, fix: "copy or save the archive again" });
      fn(buf.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** R's bytes as a stream (to store them) */
const rangeStream = (r: BlobRange) => Bun.file(r.path).slice(r.offset, r.offset + r.size).stream();

/** SIZE bytes at OFFSET of the archive PATH, hashed only when the digest is asked for */
class InPlace implements FileRef, BlobRange {
  owned = false;
  private hashed = "";
  constructor(readonly path: string, readonly offset: number, readonly size: number) {}
  get digest(): string {
    if (!this.hashed) {
      const h = new Hasher();
      eachPiece(this, (p) => h.update(p));
      this.hashed = h.digest();
    }
    return this.hashed;
  }
}

/** the bytes of REF (a small file: JSON), NAME in the archive */
function readRef(ref: FileRef, name: string): Uint8Array {
  checkJsonSize(ref.size, name, "image"); // before it is read: an archive's manifest.json may claim any size
  if (!(ref instanceof InPlace)) return readFileSync(ref.path);
  const out = new Uint8Array(ref.size);
  let at = 0;
  eachPiece(ref, (p) => {
    out.set(p, at);
    at += p.length;
  });
  return out;
}

/** The files of an archive or layout directory, by normalized relative path. */
interface Source {
  file(path: string): FileRef | undefined;
  cleanup(): void;
}

export interface Loaded {
  manifestDigest: string;
  names: string[];
  /** what unpacking could not represent (device nodes rootless, ...) */
  notes?: string[];
}

function norm(p: string): string {
  return posix.normalize(p.replace(/^(\.\/)+/, "")).replace(/^\/+/, "");
}

/** FILE is a regular file holding an uncompressed tar (its files can be read in place) */
function isPlainFile(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    if (!fstatSync(fd).isFile()) return false;
    const head = new Uint8Array(4);
    return readSync(fd, head, 0, 4, 0) === 4 && detectCompression(head) === "none";
  } finally {
    closeSync(fd);
  }
}

/** pushes the plain tar FILE into READER, seeking over the bodies it skips */
function readInPlace(file: string, reader: TarReader): void {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    // copied by the handler (small files) before the next read reuses it
    const buf = new Uint8Array(1 << 20);
    let at = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n <= 0) break;
      reader.push(buf.subarray(0, n));
      at += n + reader.skipAhead();
    }
    if (at > size) throw new BunkerError("the image archive is truncated (a file ends past its end)", { errno: "EINVAL", path: file, fix: "copy or save the archive again" });
  } finally {
    closeSync(fd);
  }
}

/**
 * The tar archive FILE's regular files: a plain tar's large files located in
 * place (InPlace), the others unpacked into the store's tmp/, hashed on the way.
 */
async function archiveSource(store: Store, file: string): Promise<Source> {
  const files = new Map<string, FileRef>();
  const links = new Map<string, string>();
  let cur: { e: TarEntry; h: Hasher; w: ReturnType<ReturnType<typeof Bun.file>["writer"]>; ref: { path: string; digest: string; size: number; owned: boolean } } | undefined;
  const pending: Promise<unknown>[] = [];
  const plain = isPlainFile(file);
  const reader = new TarReader({
    entry: (e) => {
      const name = norm(e.name);
      if (e.type === "symlink") links.set(name, norm(posix.join(posix.dirname(name), e.linkname)));
      else if (e.type === "hardlink") links.set(name, norm(e.linkname));
      else if (e.type === "file" && plain && e.size >= IN_PLACE) {
        files.set(name, new InPlace(file, reader.dataOffset, e.size));
        return true; // not delivered: skipped over
      } else if (e.type === "file") {
        const path = store.tempPath("load");
        cur = { e, h: new Hasher(), w: Bun.file(path).writer({ highWaterMark: 1 << 20 }), ref: { path, digest: "", size: e.size, owned: true } };
        files.set(name, cur.ref);
      }
    },
    data: (c) => {
      cur!.h.update(c);
      // readInPlace reads the next piece into the same buffer
      cur!.w.write(plain ? c.slice() : c);
    },
    entryEnd: (e) => {
      if (!cur || cur.e !== e) return;
      cur.ref.digest = cur.h.digest();
      pending.push(Promise.resolve(cur.w.end()));
      cur = undefined;
    },
  });
  // the temp copies only: a file read in place is the caller's archive
  const cleanup = () => {
    for (const f of files.values()) if (f.owned) rmSync(f.path, { force: true });
  };
  try {
    if (plain) readInPlace(file, reader);
    else for await (const c of decompress(Bun.file(file).stream())) reader.push(c);
    reader.end();
    if (cur) pending.push(Promise.resolve(cur.w.end()));
    await Promise.all(pending);
  } catch (e) {
    await Promise.allSettled(pending);
    cleanup();
    throw e;
  }
  return {
    file(path) {
      let p = norm(path);
      for (let i = 0; i < 16 && links.has(p); i++) p = links.get(p)!;
      return files.get(p);
    },
    cleanup,
  };
}

/**
 * An OCI layout directory: files are hashed when asked for and copied, never
 * moved; a large one (a layer) is read in place, as a plain tar's (not read
 * into memory whole to be hashed: the unpacker hashes it as it reads it).
 */
function dirSource(dir: string): Source {
  const cache = new Map<string, FileRef>();
  return {
    file(path) {
      const p = norm(path);
      if (p.startsWith("..")) return undefined;
      const hit = cache.get(p);
      if (hit) return hit;
      const full = join(dir, p);
      if (!existsSync(full)) return undefined;
      const st = statSync(full);
      if (!st.isFile()) return undefined;
      let ref: FileRef;
      if (st.size >= IN_PLACE) ref = new InPlace(full, 0, st.size);
      else {
        const bytes = readFileSync(full);
        ref = { path: full, digest: sha256(bytes), size: bytes.length, owned: false };
      }
      cache.set(p, ref);
      return ref;
    },
    cleanup() {},
  };
}

async function commit(store: Store, ref: FileRef, expected?: string): Promise<string> {
  if (ref instanceof InPlace) {
    // verified as it is copied in (a blob already stored is the content EXPECTED names)
    const digest = expected ?? ref.digest;
    return store.hasBlob(digest) ? digest : store.putBlobStream(rangeStream(ref), { digest, size: ref.size });
  }
  if (expected && ref.digest !== expected) throw digestMismatch(`archive file ${ref.path}`, expected, ref.digest);
  if (store.hasBlob(ref.digest)) return ref.digest;
  if (ref.owned) {
    store.commitBlob(ref.path, ref.digest);
    // the store's blob now: a later use of the same file (a layer two images share) reads it there
    ref.path = store.blobPath(ref.digest);
    ref.owned = false;
    return ref.digest;
  }
  return store.putBlobStream(Bun.file(ref.path).stream(), { digest: ref.digest, size: ref.size });
}

/**
 * A layer blob: one read in place goes to PENDING, for the unpacker to hash,
 * verify and store as it unpacks it (one read of it in all).  Its digest is
 * EXPECTED (named by the archive), else an uncompressed layer's DIFF_ID, else
 * hashed now.
 */
async function commitLayer(store: Store, ref: FileRef, expected: string | undefined, diffId: string | undefined, pending: Map<string, BlobRange>): Promise<string> {
  if (!(ref instanceof InPlace)) return commit(store, ref, expected);
  const digest = expected ?? (diffId && compressionOf(ref) === "none" ? diffId : ref.digest);
  if (!store.hasBlob(digest)) pending.set(digest, { path: ref.path, offset: ref.offset, size: ref.size });
  return digest;
}

function need(src: Source, path: string, what: string): FileRef {
  const f = src.file(path);
  if (!f) throw new BunkerError(`the archive has no ${what}`, { errno: "ENOENT", path, fix: "is it a docker save / OCI archive?" });
  return f;
}

function compressionOf(ref: FileRef): Compression {
  const head = new Uint8Array(4);
  const fd = openSync(ref.path, "r");
  try {
    readSync(fd, head, 0, 4, ref.offset ?? 0);
  } finally {
    closeSync(fd);
  }
  return detectCompression(head);
}

function layerMediaType(ref: FileRef, oci: boolean): string {
  const c = compressionOf(ref);
  if (c === "zstd") return MT.ociLayerZstd;
  if (oci) return c === "gzip" ? MT.ociLayerGzip : MT.ociLayer;
  return c === "gzip" ? MT.dockerLayerGzip : MT.dockerLayer;
}

async function loadDocker(store: Store, src: Source, entries: DockerManifestEntry[], pending: Map<string, BlobRange>): Promise<Loaded[]> {
  const out: Loaded[] = [];
  for (const ent of entries) {
    const cfgRef = need(src, ent.Config, `config ${ent.Config}`);
    const config = parseImageConfig(readRef(cfgRef, norm(ent.Config)), norm(ent.Config));
    const configDigest = await commit(store, cfgRef);
    const zstd = ent.Layers.some((l) => layerMediaType(need(src, l, `layer ${l}`), false) === MT.ociLayerZstd);
    const layers: Descriptor[] = [];
    for (const [i, l] of ent.Layers.entries()) {
      const ref = need(src, l, `layer ${l}`);
      const mediaType = layerMediaType(ref, zstd);
      const m = /(?:^|\/)blobs\/sha256\/([a-f0-9]{64})$/.exec(norm(l));
      layers.push({ mediaType, digest: await commitLayer(store, ref, m ? `sha256:${m[1]}` : undefined, config.rootfs?.diff_ids?.[i], pending), size: ref.size });
    }
    if (layers.length !== config.rootfs?.diff_ids?.length) throw new BunkerError(`archive image ${ent.Config}: ${layers.length} layers but ${config.rootfs?.diff_ids?.length ?? 0} diff_ids`, { errno: "EINVAL" });
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: zstd ? MT.ociManifest : MT.dockerManifest,
      config: { mediaType: zstd ? MT.ociConfig : MT.dockerConfig, digest: configDigest, size: cfgRef.size },
      layers,
    };
    const manifestDigest = store.putBlob(JSON.stringify(manifest));
    out.push({ manifestDigest, names: (ent.RepoTags ?? []).map((t) => formatReference(parseReference(t))) });
  }
  return out;
}

/** Resolves DESC (index or manifest) to the manifest for PLATFORM, storing what it reads. */
async function ociManifest(store: Store, src: Source, desc: Descriptor, platform: Platform, pending: Map<string, BlobRange>, depth = 0): Promise<string> {
  const ref = need(src, `blobs/sha256/${digestHex(desc.digest)}`, `blob ${desc.digest}`);
  if (ref.digest !== desc.digest) throw digestMismatch(`archive blob`, desc.digest, ref.digest);
  const name = `blobs/sha256/${digestHex(desc.digest)}`;
  const { index, manifest: doc } = parseManifest(readRef(ref, name), name, desc.mediaType);
  if (index) {
    if (depth > 4) throw new BunkerError("OCI index nesting too deep", { errno: "ELOOP" });
    return ociManifest(store, src, choosePlatform(index.manifests, platform, `index ${desc.digest}`), platform, pending, depth + 1);
  }
  const blob = (d: Descriptor) => need(src, `blobs/sha256/${digestHex(d.digest)}`, `blob ${d.digest}`);
  const cfgRef = blob(doc.config);
  const cfgName = `blobs/sha256/${digestHex(doc.config.digest)}`;
  parseImageConfig(readRef(cfgRef, cfgName), cfgName);
  await commit(store, cfgRef, doc.config.digest);
  for (const d of doc.layers) await commitLayer(store, blob(d), d.digest, undefined, pending);
  return commit(store, ref, desc.digest);
}

async function loadOci(store: Store, src: Source, platform: Platform, pending: Map<string, BlobRange>): Promise<Loaded[]> {
  const index = parseLayoutIndex(readRef(need(src, "index.json", "index.json"), "index.json"), "index.json");
  const out: Loaded[] = [];
  for (const desc of index.manifests) {
    const manifestDigest = await ociManifest(store, src, desc, platform, pending);
    const names: string[] = [];
    const full = desc.annotations?.["io.containerd.image.name"];
    const refName = desc.annotations?.["org.opencontainers.image.ref.name"];
    if (full) names.push(formatReference(parseReference(full)));
    else if (refName && /[/:]/.test(refName)) names.push(formatReference(parseReference(refName)));
    else if (refName) names.push(formatReference(parseReference(`localhost/oci-archive:${refName}`)));
    out.push({ manifestDigest, names });
  }
  return out;
}

/**
 * containers/image's `dir` transport (`podman save --format docker-dir|oci-dir`,
 * `skopeo copy … dir:D`): a registry manifest as manifest.json, a `version`
 * file, each blob as a file named by its digest's hex.  One image, unnamed.
 */
function isDirTransport(src: Source): boolean {
  const v = src.file("version");
  return !!v && new TextDecoder().decode(readRef(v, "version")).startsWith("Directory Transport Version");
}

async function loadDirTransport(store: Store, src: Source, pending: Map<string, BlobRange>): Promise<Loaded[]> {
  const mref = need(src, "manifest.json", "manifest.json");
  const { index, manifest } = parseManifest(readRef(mref, "manifest.json"), "manifest.json");
  if (index) throw new BunkerError("a dir-transport image with a manifest list is not supported", { errno: "EOPNOTSUPP", path: "manifest.json", fix: "save one platform's image (podman save --format docker-dir IMAGE)" });
  // commit and commitLayer check each blob against its digest
  const blob = (d: Descriptor) => need(src, digestHex(d.digest), `blob ${d.digest}`);
  const cfgRef = blob(manifest.config);
  parseImageConfig(readRef(cfgRef, digestHex(manifest.config.digest)), digestHex(manifest.config.digest));
  await commit(store, cfgRef, manifest.config.digest);
  for (const d of manifest.layers) await commitLayer(store, blob(d), d.digest, undefined, pending);
  return [{ manifestDigest: await commit(store, mref), names: [] }];
}

/** Loads FILE (archive or layout dir) into STORE; unpacks the layers; returns what was loaded. */
export async function loadArchive(store: Store, file: string, platform = hostPlatform()): Promise<Loaded[]> {
  let isDir: boolean;
  try {
    isDir = lstatSync(file).isDirectory();
  } catch (e) {
    throw fromSysError("cannot open the image archive", e, { path: file });
  }
  prewarmInflaters(); // the layers' threads start while the archive's index is read
  const src = isDir ? dirSource(file) : await archiveSource(store, file);
  let loaded: Loaded[];
  // layer blobs read in place, stored by the unpacker (or below, for a layer already unpacked)
  const pending = new Map<string, BlobRange>();
  try {
    const dockerManifest = src.file("manifest.json");
    if (isDir && isDirTransport(src)) loaded = await loadDirTransport(store, src, pending);
    else if (dockerManifest) loaded = await loadDocker(store, src, parseDockerManifest(readRef(dockerManifest, "manifest.json"), "manifest.json"), pending);
    else if (src.file("index.json")) loaded = await loadOci(store, src, platform, pending);
    else throw new BunkerError("not an image archive: neither manifest.json nor index.json found", { errno: "EINVAL", path: file, fix: "use a docker save, oci-archive or OCI layout" });
  } finally {
    src.cleanup();
  }
  for (const l of loaded) {
    const m = store.readJson<Manifest>(l.manifestDigest);
    const diffIds = store.readJson<ImageConfigFile>(m.config.digest).rootfs?.diff_ids ?? [];
    const release = store.inflight([l.manifestDigest, m.config.digest, ...m.layers.map((x) => x.digest)], chainIds(diffIds));
    try {
      const layers = await store.ensureLayers(l.manifestDigest, undefined, undefined, pending);
      for (const { digest } of m.layers) {
        const r = pending.get(digest);
        if (r && !store.hasBlob(digest)) await store.putBlobStream(rangeStream(r), { digest, size: r.size });
      }
      l.notes = [...new Set(layers.flatMap((x) => x.notes))];
      await store.addImage(l.manifestDigest, l.names, [], "load");
    } finally {
      release();
    }
  }
  return loaded;
}

// ---- save ---------------------------------------------------------------------------

/** Writes the images REFS as a docker-archive to OUT (temp + rename). */
export async function saveArchive(store: Store, refs: string[], out: string): Promise<void> {
  const tmp = `${out}.tmp-${process.pid}`;
  const w = Bun.file(tmp).writer({ highWaterMark: 1 << 20 });
  const written = new Set<string>();
  const manifest: DockerManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const mtime = Math.floor(Date.now() / 1000);
  const put = async (name: string, size: number, body: AsyncIterable<Uint8Array> | Uint8Array) => {
    w.write(tarHeader({ name, size, mtime, mode: 0o644 }));
    if (body instanceof Uint8Array) w.write(body);
    else for await (const c of body) w.write(c);
    w.write(padding(size));
    await w.flush();
  };
  try {
    for (const ref of refs) {
      const rec = store.get(ref);
      const m = store.manifestOf(rec);
      const config = store.readJson<ImageConfigFile>(m.config.digest);
      const cfgName = `${digestHex(m.config.digest)}.json`;
      if (!written.has(cfgName)) {
        written.add(cfgName);
        const bytes = store.readBlob(m.config.digest);
        await put(cfgName, bytes.length, bytes);
      }
      const layers: string[] = [];
      for (let i = 0; i < m.layers.length; i++) {
        const diffId = config.rootfs.diff_ids[i]!;
        const name = `${digestHex(diffId)}/layer.tar`;
        layers.push(name);
        if (written.has(name)) continue;
        written.add(name);
        await put(name, ...(await uncompressedLayer(store, m.layers[i]!.digest, diffId)));
      }
      const tags = ref.includes("@") || /^(sha256:)?[a-f0-9]{6,64}$/.test(ref) ? rec.names : [formatReference(parseReference(ref))];
      manifest.push({ Config: cfgName, RepoTags: tags, Layers: layers }); // full names: podman reads short ones as localhost/
      for (const t of tags) {
        const r = parseReference(t);
        (repositories[shortName(repoName(r))] ??= {})[r.tag ?? "latest"] = digestHex(rec.id);
      }
    }
    const mj = new TextEncoder().encode(JSON.stringify(manifest));
    await put("manifest.json", mj.length, mj);
    const rj = new TextEncoder().encode(JSON.stringify(repositories));
    await put("repositories", rj.length, rj);
    w.write(TAR_END);
    await w.end();
    renameSync(tmp, out);
  } catch (e) {
    await Promise.resolve(w.end()).catch(() => {});
    rmSync(tmp, { force: true });
    throw fromSysError("cannot write the image archive", e, { path: out });
  }
}

/** [size, stream] of a layer's uncompressed tar; a compressed blob is decompressed to tmp first. */
async function uncompressedLayer(store: Store, blob: string, diffId: string): Promise<[number, AsyncIterable<Uint8Array>]> {
  const path = store.blobPath(blob);
  if (blob === diffId) return [statSync(path).size, Bun.file(path).stream()];
  const tmp = store.tempPath("save-layer");
  const h = new Hasher();
  const w = Bun.file(tmp).writer({ highWaterMark: 1 << 20 });
  for await (const c of decompress(Bun.file(path).stream())) {
    h.update(c);
    w.write(c);
  }
  await w.end();
  if (h.digest() !== diffId) {
    rmSync(tmp, { force: true });
    throw digestMismatch(`stored layer ${blob}`, diffId, h.digest(), path);
  }
  async function* once() {
    try {
      for await (const c of Bun.file(tmp).stream()) yield c;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return [h.bytes, once()];
}
