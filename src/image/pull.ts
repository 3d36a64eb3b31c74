// `bunker pull`: manifest (or index -> the platform's manifest), config and
// layers into the store, every digest verified.  Layers download in parallel
// (a few at a time) into tmp/partial-<hex>, resumed with Range after a broken
// connection (or restarted when the server ignores Range); each layer is
// unpacked as soon as it and the layers below it are in, so unpacking overlaps
// the downloads.
import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BunkerError } from "../errors.ts";
import { chainIds, digestHex, digestMismatch, Hasher } from "./digest.ts";
import { checkJsonSize } from "../json.ts";
import { parseImageConfig, parseManifest } from "./documents.ts";
import { choosePlatform, formatPlatform, hostPlatform } from "./platform.ts";
import { formatReference, parseReference, repoName, type Reference } from "./reference.ts";
import { Registry, type RegistryOptions } from "./registry.ts";
import { DEFAULT_REGISTRIES_CONF, loadRegistriesConf } from "./registries-conf.ts";
import { expandShortName, isShortName } from "./shortnames.ts";
import { recordBlobSource } from "./blob-sources.ts";
import type { Store } from "./store.ts";
import { LayerGuard } from "./limits.ts";
import type { Descriptor, Manifest, Platform } from "./types.ts";

export interface PullEvents {
  /** a layer's state: bytes done of total */
  layer(digest: string, state: "waiting" | "downloading" | "exists" | "verifying" | "downloaded" | "done", done?: number, total?: number): void;
}

export interface PullOptions extends RegistryOptions {
  platform?: Platform;
  events?: PullEvents;
  /** parallel layer downloads (default 3) */
  concurrency?: number;
  /** download attempts per blob before giving up (default 5) */
  attempts?: number;
}

export interface Pulled {
  name?: string;
  manifestDigest: string;
  id: string;
  repoDigest: string;
  /** what unpacking could not represent (device nodes rootless, ...) */
  notes: string[];
}

const noEvents: PullEvents = { layer() {} };

/** errors after which the next registry a short name expands to is tried (the image may be there) */
const TRY_NEXT = new Set(["ENOENT", "EACCES", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPROTO", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Pulls REF.  A short name (src/image/shortnames.ts) is tried in each registry of
 * registries.conf's unqualified-search-registries in order (docker.io without
 * the file); when none has it, the error names every expansion and why it failed.
 */
export async function pullImage(store: Store, ref: string, opts: PullOptions = {}): Promise<Pulled> {
  if (!isShortName(ref)) return pullOne(store, ref, opts);
  const conf = opts.conf ?? (opts.env ? loadRegistriesConf(opts.env) : DEFAULT_REGISTRIES_CONF);
  const names = expandShortName(ref, conf.search);
  const from = `unqualified-search-registries ${conf.file ? `of ${conf.file}` : "(none configured: Docker Hub)"}`;
  if (!names.length) throw new BunkerError(`cannot pull ${ref}: it names no registry and ${from} lists none`, { errno: "ENOENT", path: conf.file, fix: "give the full name (REGISTRY/REPOSITORY[:TAG])" });
  const failures: string[] = [];
  let last: BunkerError | undefined;
  for (const name of names) {
    try {
      return await pullOne(store, name, { ...opts, conf });
    } catch (e) {
      if (!(e instanceof BunkerError) || !TRY_NEXT.has(e.errnoName ?? "")) throw e;
      last = e;
      failures.push(`${name}: ${e.message}${e.errnoName ? ` (${e.errnoName})` : ""}`);
    }
  }
  throw new BunkerError(`cannot pull ${ref}: expanded to ${names.join(", ")} by ${from}; ${failures.join("; ")}`, { errno: last?.errnoName, fix: last?.detail.fix ?? "give the full name (REGISTRY/REPOSITORY[:TAG])" });
}

async function pullOne(store: Store, ref: string, opts: PullOptions): Promise<Pulled> {
  const r = parseReference(ref);
  const repo = r.repository;
  const reg = new Registry(r.registry, opts, repoName(r));
  const top = await reg.manifest(repo, r.digest ?? r.tag!);
  const where = formatReference(r);
  let doc = parseManifest(top.bytes, `${where}: manifest`, top.mediaType);
  const repoDigest = `${repoName(r)}@${top.digest}`;
  let manifestBytes = top.bytes;
  let manifestDigest = top.digest;
  if (doc.index) {
    // kept (the image names it in repoDigests): a push of the platforms the store holds sends it again, byte for byte
    store.putBlob(top.bytes, top.digest);
    const want = opts.platform ?? hostPlatform();
    const desc = choosePlatform(doc.index.manifests, want, where);
    const m = await reg.manifest(repo, desc.digest);
    manifestBytes = m.bytes;
    manifestDigest = m.digest;
    doc = parseManifest(m.bytes, `${where}: manifest ${desc.digest}`, m.mediaType || desc.mediaType);
  }
  if (!doc.manifest) throw new BunkerError(`${where}: an index names another index for ${formatPlatform(opts.platform ?? hostPlatform())}`, { errno: "EOPNOTSUPP", fix: "pull the inner index's digest" });
  const manifest = doc.manifest;

  // the config is read whole: refused before its download when the manifest says it is too large
  checkJsonSize(manifest.config.size, `${where}: config ${manifest.config.digest}`, "image");
  await fetchBlob(store, reg, repo, manifest.config, opts.attempts ?? 5);
  const diffIds = parseImageConfig(store.readBlob(manifest.config.digest), `${where}: config ${manifest.config.digest}`).rootfs.diff_ids;
  const release = store.inflight([manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)], chainIds(diffIds));
  try {
    return await pullLayers(store, reg, repo, r, manifest, manifestBytes, manifestDigest, repoDigest, opts);
  } finally {
    release();
  }
}

async function pullLayers(store: Store, reg: Registry, repo: string, r: Reference, manifest: Manifest, manifestBytes: Uint8Array, manifestDigest: string, repoDigest: string, opts: PullOptions): Promise<Pulled> {
  const events = opts.events ?? noEvents;
  for (const l of manifest.layers) events.layer(l.digest, store.hasBlob(l.digest) ? "exists" : "waiting", 0, l.size);
  // downloads: a small pool; unpacks: in order, each after its blob and the layer below
  const queue = [...manifest.layers];
  const downloaded = new Map<string, Promise<void>>();
  const slots = Math.max(1, opts.concurrency ?? 3);
  let running = 0;
  const waiters: (() => void)[] = [];
  const acquire = async () => {
    while (running >= slots) await new Promise<void>((res) => waiters.push(res));
    running++;
  };
  const release = () => {
    running--;
    waiters.shift()?.();
  };
  for (const l of queue) {
    if (downloaded.has(l.digest)) continue;
    downloaded.set(l.digest, (async () => {
      await acquire();
      try {
        await fetchBlob(store, reg, repo, l, opts.attempts ?? 5, events);
      } finally {
        release();
      }
    })());
  }
  store.putBlob(manifestBytes, manifestDigest);
  let layers;
  try {
    layers = await store.ensureLayers(manifestDigest, (i) => events.layer(manifest.layers[i]!.digest, "done"), (i) => downloaded.get(manifest.layers[i]!.digest)!);
  } finally {
    await Promise.allSettled(downloaded.values()); // no download left running after a failure
  }
  const name = r.tag ? formatReference({ ...r, digest: undefined }) : undefined;
  const rec = await store.addImage(manifestDigest, name ? [name] : [], [repoDigest]);
  for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) recordBlobSource(store.root, d, repoName(r));
  return { name, manifestDigest, id: rec.id, repoDigest, notes: [...new Set(layers.flatMap((l) => l.notes))] };
}

/** Downloads blob DESC into the store (once, under a per-blob lock), resuming after breaks. */
async function fetchBlob(store: Store, reg: Registry, repo: string, desc: Descriptor, attempts: number, events: PullEvents = noEvents): Promise<void> {
  if (store.hasBlob(desc.digest)) return;
  const hex = digestHex(desc.digest);
  await store.withLock(`blob-${hex}`, async () => {
    if (store.hasBlob(desc.digest)) return;
    const partial = join(store.tmp, `partial-${hex}`);
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      let offset = existsSync(partial) ? statSync(partial).size : 0;
      if (desc.size && offset > desc.size) {
        rmSync(partial, { force: true });
        offset = 0;
      }
      const h = new Hasher();
      if (offset) for await (const c of Bun.file(partial).stream()) h.update(c);
      let res: Response;
      try {
        res = await reg.blob(repo, desc.digest, offset);
      } catch (e) {
        if (e instanceof BunkerError && e.detail.errno !== "ECONNRESET" && e.detail.errno !== "ECONNREFUSED") throw e;
        lastError = e;
        continue;
      }
      if (offset && res.status === 200) {
        // the server ignored Range: start over
        rmSync(partial, { force: true });
        offset = 0;
        h.reset();
      }
      const fd = openSync(partial, "a", 0o600);
      // the store's free-space reserve holds for downloads too (the partial file stays for a resume)
      const guard = new LayerGuard({ reserve: store.limits.reserve }, store.root, `blob ${desc.digest}`, "downloading");
      try {
        events.layer(desc.digest, "downloading", offset, desc.size);
        for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (desc.size && offset + c.length > desc.size) {
            rmSync(partial, { force: true });
            throw new BunkerError(`blob ${desc.digest} from ${reg.host}/${repo}: the registry sent more than its ${desc.size} bytes`, { errno: "EFBIG", fix: "the registry or the image is broken; nothing was stored" });
          }
          guard.add(c.length);
          h.update(c);
          writeSync(fd, c);
          offset += c.length;
          events.layer(desc.digest, "downloading", offset, desc.size);
        }
      } catch (e) {
        if (e instanceof BunkerError) throw e; // a bound, not a broken connection
        lastError = e; // connection broke mid-way: resume from what we have
        continue;
      } finally {
        closeSync(fd);
      }
      if (desc.size && offset < desc.size) {
        lastError = new Error(`short read (${offset} of ${desc.size} bytes)`);
        continue;
      }
      events.layer(desc.digest, "verifying", offset, desc.size);
      const got = h.digest();
      if (got !== desc.digest || (desc.size && offset !== desc.size)) {
        rmSync(partial, { force: true });
        throw digestMismatch(`blob ${desc.digest} from ${reg.host}/${repo}`, desc.digest, got);
      }
      store.commitBlob(partial, desc.digest);
      events.layer(desc.digest, "downloaded", offset, desc.size); // unpacked in layer order next
      return;
    }
    throw new BunkerError(`cannot download blob ${desc.digest} from ${reg.host}/${repo} after ${attempts} attempts: ${(lastError as Error)?.message ?? lastError}`, { errno: "EIO", fix: "try again; the partial download is kept and resumed" });
  });
}
