// What docker's prunes remove, for the CLI (`image prune`, `system prune`,
// `volume prune`) and the API's /images/prune and /volumes/prune alike:
// images no container uses, and docker system prune's whole sweep.
import { existsSync, readdirSync, statSync } from "node:fs";
import type { RuntimeContext } from "./context.ts";
import { containerUsingImage } from "./image-use.ts";
import { pruneNetworks } from "./network.ts";
import { pruneContainers } from "./stop.ts";
import { containerDir, listIds, readState, status, UPPER_DIR } from "./state.ts";
import { Store } from "../image/store.ts";
import { callerMaps } from "../sys/idmap.ts";
import { listMatching, pruneVolumes, type VolumeContext } from "../volume/manage.ts";

/** the volume store's view of CTX */
export function volumeContext(ctx: RuntimeContext): VolumeContext {
  return { dataRoot: ctx.dataRoot, get stateRoot() { return ctx.stateRoot; }, maps: callerMaps(ctx.ids), root: ctx.ids.uid === 0 };
}

/** the bytes of the blobs directory: what a prune gave back */
function blobBytes(store: Store): number {
  let n = 0;
  for (const f of readdirSync(store.blobs)) {
    try {
      n += statSync(`${store.blobs}/${f}`).size;
    } catch {
      /* removed meanwhile */
    }
  }
  return n;
}

/** dangling images (ALL: every image) that no container uses, then every blob and layer nothing needs */
export async function pruneImages(ctx: RuntimeContext, all: boolean): Promise<{ deleted: string[]; reclaimed: number }> {
  const store = Store.open(ctx.dataRoot);
  const before = blobBytes(store);
  const deleted = await store.prune({ all, inUse: (id) => containerUsingImage(ctx.stateRoot, id) !== undefined });
  await store.gc();
  return { deleted, reclaimed: Math.max(0, before - blobBytes(store)) };
}

export interface SystemPruneResult {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
  buildCache: string[];
  /** bytes of image blobs and build caches given back (containers' and volumes' are not measured) */
  reclaimed: number;
}

/** docker system prune: stopped containers, unused networks, (VOLUMES) unused anonymous volumes (ALL: every unused one), dangling images (ALL: unused ones), the build cache */
export async function systemPrune(ctx: RuntimeContext, opts: { all: boolean; volumes: boolean }): Promise<SystemPruneResult> {
  const containers = await pruneContainers(ctx);
  const networks = await pruneNetworks(ctx);
  const volumes = opts.volumes ? await pruneVolumes(volumeContext(ctx), opts.all) : [];
  const images = await pruneImages(ctx, opts.all);
  const build = await (await import("../build/prune.ts")).pruneBuildCache(ctx);
  return { containers, networks, volumes, images: images.deleted, buildCache: build.deleted, reclaimed: images.reclaimed + build.reclaimed };
}

/** one row of docker system df: how many, how many in use, their bytes and the bytes a prune could give back */
export interface UsageRow {
  type: "Images" | "Containers" | "Local Volumes" | "Build Cache";
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** docker system df: images (layers as stored), containers (their kept writable layers), volumes, the build cache */
export async function systemDf(ctx: RuntimeContext): Promise<UsageRow[]> {
  const { sizeOf, buildCacheUsage } = await import("../build/prune.ts");
  const store = Store.open(ctx.dataRoot);
  // layers images share count once, as docker's: a blob is reclaimable when no used image has it
  const images = { type: "Images" as const, total: 0, active: 0, size: 0, reclaimable: 0 };
  const blobs = new Map<string, number>();
  const used = new Set<string>();
  for (const rec of store.listImages()) {
    const m = store.manifestOf(rec);
    const active = containerUsingImage(ctx.stateRoot, rec.id) !== undefined;
    images.total++;
    if (active) images.active++;
    for (const b of [m.config, ...m.layers]) {
      blobs.set(b.digest, b.size);
      if (active) used.add(b.digest);
    }
  }
  for (const [digest, size] of blobs) {
    images.size += size;
    if (!used.has(digest)) images.reclaimable += size;
  }
  const containers = { type: "Containers" as const, total: 0, active: 0, size: 0, reclaimable: 0 };
  for (const id of listIds(ctx.stateRoot)) {
    const state = readState(ctx.stateRoot, id);
    const dir = containerDir(ctx.stateRoot, id);
    const size = existsSync(`${dir}/${UPPER_DIR}`) ? sizeOf(`${dir}/${UPPER_DIR}`) : 0;
    containers.total++;
    containers.size += size;
    if (state && status(dir, state) !== "stopped") containers.active++;
    else containers.reclaimable += size;
  }
  const volumes = { type: "Local Volumes" as const, total: 0, active: 0, size: 0, reclaimable: 0 };
  const vctx = volumeContext(ctx);
  const unused = new Set(listMatching(vctx, new Map([["dangling", ["true"]]])).map((v) => v.Name));
  for (const v of listMatching(vctx, new Map())) {
    const size = sizeOf(v.Mountpoint);
    volumes.total++;
    volumes.size += size;
    if (unused.has(v.Name)) volumes.reclaimable += size;
    else volumes.active++;
  }
  const cache = buildCacheUsage(ctx);
  return [images, containers, volumes, { type: "Build Cache", total: cache.count, active: 0, size: cache.bytes, reclaimable: cache.bytes }];
}
