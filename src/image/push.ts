// `bunker push`: an image of the store to a distribution (v2) registry.
// Each blob (config, layers) is first asked for with HEAD and skipped when the
// repository has it; else mounted from another repository of the same
// registry the store knows it is in (src/image/blob-sources.ts), else
// uploaded: small blobs in one PUT, large ones in PATCH chunks with
// Content-Range and a closing PUT.  Then the manifest is PUT with its own
// media type and its stored bytes, so its digest is the one the store has.
// An image pulled from an index whose every platform the store holds is
// pushed as that index (each platform's manifest by digest, then the index
// under the tag), byte for byte.  A push that stopped half-way is run again:
// what got there is skipped.
import { BunkerError } from "../errors.ts";
import { blobSources, recordBlobSource } from "./blob-sources.ts";
import { digestMismatch, sha256 } from "./digest.ts";
import { parseManifest } from "./documents.ts";
import { formatPlatform } from "./platform.ts";
import { formatReference, parseReference, repoName, type Reference } from "./reference.ts";
import { Registry, registryErrorText, type RegistryOptions } from "./registry.ts";
import { DEFAULT_REGISTRIES_CONF, loadRegistriesConf } from "./registries-conf.ts";
import type { ImageRecord, Store } from "./store.ts";
import { isShortName, localCandidates } from "./shortnames.ts";
import { MT, type Descriptor, type Manifest } from "./types.ts";

export type PushState = "waiting" | "uploading" | "exists" | "mounted" | "pushed";

export interface PushEvents {
  /** a blob's state: bytes sent of total; FROM: the repository a mounted blob came from */
  layer(digest: string, state: PushState, done?: number, total?: number, from?: string): void;
}

export interface PushOptions extends RegistryOptions {
  events?: PushEvents;
  /** parallel blob uploads (default 3) */
  concurrency?: number;
  /** blobs larger than this go in PATCH chunks of this size (default 16 MiB) */
  chunkSize?: number;
  /** --compression-format: layers in another compression are recompressed (a new manifest, so a new digest) */
  compression?: "gzip" | "zstd";
}

export interface Pushed {
  /** the full name pushed to (registry/repository:tag) */
  name: string;
  /** the digest of the manifest (or index) under the tag, and its size */
  digest: string;
  size: number;
  /** how many platform images went (1, or an index's count) */
  platforms: number;
  blobs: Record<"pushed" | "exists" | "mounted", number>;
  notes: string[];
}

export const DEFAULT_CHUNK_SIZE = 16 << 20;

interface Doc {
  digest: string;
  bytes: Uint8Array;
  mediaType: string;
}

interface PushPlan {
  /** the image manifests, each with its blobs */
  manifests: (Doc & { manifest: Manifest })[];
  /** the index under the tag, when a whole one goes */
  index?: Doc;
  notes: string[];
}

const noEvents: PushEvents = { layer() {} };

/** SRC (a name or ID in STORE) pushed to DEST (default: SRC's name) */
export async function pushImage(store: Store, src: string, dest: string | undefined, opts: PushOptions = {}): Promise<Pushed> {
  const conf = opts.conf ?? (opts.env ? loadRegistriesConf(opts.env) : DEFAULT_REGISTRIES_CONF);
  const rec = store.get(src, conf.search);
  const target = destination(rec, src, dest, conf.search);
  const plan = opts.compression ? await recompressed(store, planPush(store, rec), opts.compression) : planPush(store, rec);
  const reg = new Registry(target.registry, { ...opts, conf }, repoName(target));
  const events = opts.events ?? noEvents;
  const blobs = new Map<string, Descriptor>();
  for (const m of plan.manifests) for (const d of [m.manifest.config, ...m.manifest.layers]) blobs.set(d.digest, d);
  for (const d of blobs.values()) events.layer(d.digest, "waiting", 0, d.size);
  const counts = { pushed: 0, exists: 0, mounted: 0 };
  await reg.authorize(`repository:${target.repository}:pull,push`);
  const queue = [...blobs.values()];
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) counts[await pushBlob(store, reg, target, d, opts.chunkSize ?? DEFAULT_CHUNK_SIZE, events)]++;
  };
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 3, queue.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  const top = plan.index ?? plan.manifests[0]!;
  if (plan.index) for (const m of plan.manifests) await putManifest(reg, target, m.digest, m);
  await putManifest(reg, target, target.tag!, top);
  return { name: formatReference(target), digest: top.digest, size: top.bytes.length, platforms: plan.manifests.length, blobs: counts, notes: plan.notes };
}

/** where REC goes: DEST, else the name SRC found it by (an ID needs DEST) */
function destination(rec: ImageRecord, src: string, dest: string | undefined, search: readonly string[]): Reference {
  let name = dest;
  if (name === undefined) {
    try {
      const asName = isShortName(src) ? localCandidates(src, search) : [formatReference(parseReference(src))];
      name = asName.find((n) => rec.names.includes(n));
    } catch {
      // an ID: no name to push to
    }
  }
  if (name === undefined) throw new BunkerError(`push: ${src} is not a name to push to`, { errno: "EINVAL", fix: `give the destination: bunker push ${src} REGISTRY/REPOSITORY[:TAG]` });
  const r = parseReference(name);
  if (r.digest) throw new BunkerError(`push: the destination ${name} has a digest; a push names a tag`, { errno: "EINVAL", fix: "give REGISTRY/REPOSITORY[:TAG]: the digest is printed when the push is done" });
  return r;
}

/** a stored manifest or index, re-verified */
function storedDoc(store: Store, digest: string): Uint8Array {
  const bytes = store.readBlob(digest);
  const got = sha256(bytes);
  if (got !== digest) throw digestMismatch("stored manifest", digest, got, store.blobPath(digest));
  return bytes;
}

function imageManifest(store: Store, digest: string): Doc & { manifest: Manifest } {
  const bytes = storedDoc(store, digest);
  const doc = parseManifest(bytes, `stored manifest ${digest}`);
  if (!doc.manifest) throw new BunkerError(`stored manifest ${digest} is an index, not an image`, { errno: "EINVAL", path: store.blobPath(digest) });
  return { digest, bytes, mediaType: doc.manifest.mediaType ?? MT.ociManifest, manifest: doc.manifest };
}

/** the store has manifest DIGEST and every blob it names */
function complete(store: Store, digest: string): boolean {
  if (!store.hasBlob(digest)) return false;
  try {
    const { manifest } = imageManifest(store, digest);
    return [manifest.config, ...manifest.layers].every((d) => store.hasBlob(d.digest));
  } catch {
    return false;
  }
}

/** REC's manifest, or the index it was pulled from when the store holds all of that index's images */
function planPush(store: Store, rec: ImageRecord): PushPlan {
  const own = imageManifest(store, rec.digest);
  const notes: string[] = [];
  for (const rd of rec.repoDigests ?? []) {
    const digest = rd.slice(rd.lastIndexOf("@") + 1);
    if (digest === rec.digest || !store.hasBlob(digest)) continue;
    const bytes = storedDoc(store, digest);
    const { index } = parseManifest(bytes, `stored index ${digest}`);
    if (!index || !index.manifests.some((m) => m.digest === rec.digest)) continue;
    const have = index.manifests.filter((m) => complete(store, m.digest));
    if (have.length < index.manifests.length) {
      const missing = index.manifests.filter((m) => !have.includes(m)).map((m) => (m.platform ? formatPlatform(m.platform) : m.digest));
      notes.push(`${rd.slice(0, rd.lastIndexOf("@"))}'s index ${digest} has ${index.manifests.length} platforms and the store holds ${have.length}: pushing this image only (missing: ${missing.join(", ")}; pull them with --platform to push the whole index)`);
      continue;
    }
    return { manifests: index.manifests.map((m) => imageManifest(store, m.digest)), index: { digest, bytes, mediaType: index.mediaType ?? MT.ociIndex }, notes };
  }
  return { manifests: [own], notes };
}

/** a layer's compression, by its media type */
function compressionOf(mediaType: string): "gzip" | "zstd" | "none" {
  return /zstd/.test(mediaType) ? "zstd" : /gzip/.test(mediaType) ? "gzip" : "none";
}

const encodeJson = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

/**
 * PLAN with every layer not in COMPRESSION decompressed and compressed again
 * into a blob of the store (deterministic: a push run again makes the same
 * digests and skips them), each manifest rewritten (Docker schema 2 becomes
 * OCI for zstd, which it cannot name), an index rewritten to name them.
 */
async function recompressed(store: Store, plan: PushPlan, compression: "gzip" | "zstd"): Promise<PushPlan> {
  const { compressInto } = await import("./layer-writer.ts");
  const { decompress } = await import("./compress.ts");
  const done = new Map<string, Descriptor>();
  const manifests: PushPlan["manifests"] = [];
  for (const m of plan.manifests) {
    const docker = m.mediaType === MT.dockerManifest;
    const toOci = docker && compression === "zstd";
    const layerType = compression === "zstd" ? MT.ociLayerZstd : docker ? MT.dockerLayerGzip : MT.ociLayerGzip;
    const layers: Descriptor[] = [];
    for (const l of m.manifest.layers) {
      if (compressionOf(l.mediaType) === compression) {
        layers.push(toOci ? { ...l, mediaType: MT.ociLayerZstd } : l);
        continue;
      }
      let out = done.get(l.digest);
      if (!out) {
        const { digest, size } = await compressInto(store, decompress(Bun.file(store.blobPath(l.digest)).stream() as unknown as AsyncIterable<Uint8Array>), compression);
        out = { mediaType: layerType, digest, size };
        done.set(l.digest, out);
      }
      const { mediaType: _, digest: _d, size: _s, ...rest } = l;
      layers.push({ ...rest, ...out });
    }
    const manifest: Manifest = toOci
      ? { ...m.manifest, mediaType: MT.ociManifest, config: { ...m.manifest.config, mediaType: MT.ociConfig }, layers }
      : { ...m.manifest, layers };
    const bytes = encodeJson(manifest);
    manifests.push({ digest: sha256(bytes), bytes, mediaType: toOci ? MT.ociManifest : m.mediaType, manifest });
  }
  let index = plan.index;
  if (index) {
    const doc = parseManifest(index.bytes, `stored index ${index.digest}`).index!;
    const byOld = new Map(plan.manifests.map((m, i) => [m.digest, manifests[i]!]));
    const rewritten = { ...doc, manifests: doc.manifests.map((d) => ({ ...d, mediaType: byOld.get(d.digest)!.mediaType, digest: byOld.get(d.digest)!.digest, size: byOld.get(d.digest)!.bytes.length })) };
    const ociTypes = manifests.some((m) => m.mediaType === MT.ociManifest) && rewritten.mediaType === MT.dockerList;
    const final = ociTypes ? { ...rewritten, mediaType: MT.ociIndex } : rewritten;
    const bytes = encodeJson(final);
    index = { digest: sha256(bytes), bytes, mediaType: final.mediaType ?? MT.ociIndex };
  }
  return { manifests, index, notes: plan.notes };
}

/** the registry's refusal of WHAT as one line with its error code and message */
async function refused(reg: Registry, what: string, res: Response): Promise<BunkerError> {
  const errno = res.status === 401 || res.status === 403 ? "EACCES" : res.status === 404 ? "ENOENT" : "EPROTO";
  return new BunkerError(`registry ${reg.host} refused ${what}: ${await registryErrorText(res)}`, { errno, fix: errno === "EACCES" ? `check the credentials (bunker login ${reg.registry}) and your push rights` : undefined });
}

const withDigest = (location: string, digest: string) => {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return u.toString();
};

/** one blob into TARGET's repository: skipped, mounted or uploaded */
async function pushBlob(store: Store, reg: Registry, target: Reference, desc: Descriptor, chunkSize: number, events: PushEvents): Promise<"exists" | "mounted" | "pushed"> {
  const repo = target.repository;
  const scope = `repository:${repo}:pull,push`;
  const d = desc.digest;
  const done = (how: "exists" | "mounted" | "pushed", from?: string) => {
    recordBlobSource(store.root, d, repoName(target));
    events.layer(d, how, desc.size, desc.size, from);
    return how;
  };
  const head = await reg.request(`/v2/${repo}/blobs/${d}`, scope, {}, "HEAD");
  await head.body?.cancel();
  if (head.ok) return done("exists");
  if (head.status !== 404) throw await refused(reg, `HEAD of blob ${d}`, head);
  const file = Bun.file(store.blobPath(d));
  const size = file.size;
  if (!store.hasBlob(d)) throw new BunkerError(`the image store lost blob ${d}`, { errno: "ENOENT", path: store.blobPath(d), fix: "pull or load the image again" });
  if (size !== desc.size) throw new BunkerError(`stored blob ${d} has ${size} bytes, its manifest says ${desc.size}`, { errno: "EINVAL", path: store.blobPath(d), fix: "bunker image check" });
  // a repository of the same registry that has it: mount instead of upload
  const from = blobSources(store.root, d).reverse().map((s) => parseReference(s)).find((s) => s.registry === target.registry && s.repository !== repo);
  const mountScope = from && `${scope} repository:${from.repository}:pull`;
  if (mountScope) await reg.authorize(mountScope);
  const start = mountScope
    ? await reg.request(`/v2/${repo}/blobs/uploads/?mount=${d}&from=${encodeURIComponent(from.repository)}`, mountScope, { "Content-Length": "0" }, "POST")
    : await reg.request(`/v2/${repo}/blobs/uploads/`, scope, { "Content-Length": "0" }, "POST");
  if (from && start.status === 201) {
    await start.body?.cancel();
    return done("mounted", from.repository);
  }
  if (start.status !== 202 || !start.headers.get("location")) throw await refused(reg, `starting the upload of blob ${d}`, start);
  await start.body?.cancel();
  let location = reg.absolute(start.headers.get("location")!);
  const octets = { "Content-Type": "application/octet-stream" };
  events.layer(d, "uploading", 0, size);
  if (size <= chunkSize) {
    const put = await reg.request(withDigest(location, d), scope, { ...octets, "Content-Length": String(size) }, "PUT", file);
    if (put.status !== 201) throw await refused(reg, `the upload of blob ${d}`, put);
    await put.body?.cancel();
    return done("pushed");
  }
  for (let off = 0; off < size; off += chunkSize) {
    const end = Math.min(size, off + chunkSize);
    const patch = await reg.request(location, scope, { ...octets, "Content-Range": `${off}-${end - 1}`, "Content-Length": String(end - off) }, "PATCH", file.slice(off, end));
    if (patch.status !== 202) throw await refused(reg, `bytes ${off}-${end - 1} of blob ${d}`, patch);
    await patch.body?.cancel();
    location = reg.absolute(patch.headers.get("location") ?? location);
    events.layer(d, "uploading", end, size);
  }
  const put = await reg.request(withDigest(location, d), scope, { "Content-Length": "0" }, "PUT");
  if (put.status !== 201) throw await refused(reg, `the end of the upload of blob ${d}`, put);
  await put.body?.cancel();
  return done("pushed");
}

/** DOC as the manifest REF (a tag or its digest) of TARGET's repository, checked to keep its digest */
async function putManifest(reg: Registry, target: Reference, ref: string, doc: Doc): Promise<void> {
  const res = await reg.request(`/v2/${target.repository}/manifests/${ref}`, `repository:${target.repository}:pull,push`, { "Content-Type": doc.mediaType }, "PUT", doc.bytes);
  if (res.status !== 201 && res.status !== 200) throw await refused(reg, `manifest ${ref === doc.digest ? doc.digest : `${repoName(target)}:${ref}`}`, res);
  await res.body?.cancel();
  const said = res.headers.get("docker-content-digest");
  if (said && said !== doc.digest) throw digestMismatch(`manifest pushed to ${formatReference(target)}`, doc.digest, said);
}
