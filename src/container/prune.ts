// What docker's prunes remove, for the CLI (`image prune`, `system prune`,
// `volume prune`) and the API's /images/prune and /volumes/prune alike:
// images no container uses, and docker system prune's whole sweep.
import { existsSync, readdirSync, statSync } from "node:fs";
import type { RuntimeContext } from "./context.ts";
import { containerUsingImage, imageOf } from "./image-use.ts";
import { pruneNetworks } from "./network.ts";
import { pruneContainers } from "./stop.ts";
import { containerDir, listIds, readState, status, UPPER_DIR } from "./state.ts";
import { Store, type ImageRecord } from "../image/store.ts";
import { callerMaps } from "../sys/idmap.ts";
import { listMatching, pruneVolumes, type VolumeContext } from "../volume/manage.ts";
import { containersUsing } from "../volume/attach.ts";
import type { VolumeInfo } from "../volume/store.ts";
import type { CacheEntry } from "../build/prune.ts";

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

/** what docker system df counts, item by item (GET /system/df's body is made of it, and the CLI's rows) */
export interface DiskUsage {
  /** the bytes of every layer, a layer images share once */
  layersSize: number;
  /** SIZE: its layers' bytes; SHARED: of those, the bytes of layers another image has too; CONTAINERS: how many use it */
  images: { rec: ImageRecord; size: number; shared: number; containers: number }[];
  /** SIZE_RW: its kept writable layer's bytes */
  containers: { id: string; sizeRw: number; running: boolean }[];
  volumes: { volume: VolumeInfo; size: number; refs: number }[];
  buildCache: CacheEntry[];
}

/** docker system df's items: images (layers as stored), containers (their kept writable layers), volumes, the build cache */
export async function diskUsage(ctx: RuntimeContext): Promise<DiskUsage> {
  const { sizeOf, buildCacheEntries } = await import("../build/prune.ts");
  const store = Store.open(ctx.dataRoot);
  const recs = store.listImages();
  // each image's layers once (an image may list one twice), and how many images have each
  const layersOf = new Map(recs.map((rec) => [rec.id, [...new Map(store.manifestOf(rec).layers.map((l) => [l.digest, l])).values()]]));
  const owners = new Map<string, number>();
  const layerSize = new Map<string, number>();
  for (const layers of layersOf.values())
    for (const l of layers) {
      owners.set(l.digest, (owners.get(l.digest) ?? 0) + 1);
      layerSize.set(l.digest, l.size);
    }
  const users = new Map<string, number>();
  const containers: DiskUsage["containers"] = [];
  for (const id of listIds(ctx.stateRoot)) {
    const dir = containerDir(ctx.stateRoot, id);
    const state = readState(ctx.stateRoot, id);
    const image = imageOf(dir);
    if (image) users.set(image, (users.get(image) ?? 0) + 1);
    const st = state ? status(dir, state) : "stopped";
    containers.push({ id, sizeRw: existsSync(`${dir}/${UPPER_DIR}`) ? sizeOf(`${dir}/${UPPER_DIR}`) : 0, running: st !== "stopped" && st !== "created" });
  }
  const images = recs.map((rec) => {
    const layers = layersOf.get(rec.id)!;
    return {
      rec,
      size: layers.reduce((n, l) => n + l.size, 0),
      shared: layers.reduce((n, l) => n + (owners.get(l.digest)! > 1 ? l.size : 0), 0),
      containers: users.get(rec.id) ?? 0,
    };
  });
  const vctx = volumeContext(ctx);
  const volumes = listMatching(vctx, new Map()).map((volume) => ({ volume, size: sizeOf(volume.Mountpoint), refs: containersUsing(ctx.stateRoot, volume.Mountpoint.slice(0, -"/_data".length)).length }));
  return { layersSize: [...layerSize.values()].reduce((a, b) => a + b, 0), images, containers, volumes, buildCache: buildCacheEntries(ctx) };
}

/** docker system df's table, from its items as the docker CLI sums them (reclaimable: what no running or stopped user holds) */
export async function systemDf(ctx: RuntimeContext): Promise<UsageRow[]> {
  const u = await diskUsage(ctx);
  const active = u.images.filter((i) => i.containers > 0);
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);
  return [
    { type: "Images", total: u.images.length, active: active.length, size: u.layersSize, reclaimable: Math.max(0, u.layersSize - sum(active, (i) => i.size - i.shared)) },
    { type: "Containers", total: u.containers.length, active: u.containers.filter((c) => c.running).length, size: sum(u.containers, (c) => c.sizeRw), reclaimable: sum(u.containers.filter((c) => !c.running), (c) => c.sizeRw) },
    { type: "Local Volumes", total: u.volumes.length, active: u.volumes.filter((v) => v.refs > 0).length, size: sum(u.volumes, (v) => v.size), reclaimable: sum(u.volumes.filter((v) => v.refs === 0), (v) => v.size) },
    { type: "Build Cache", total: u.buildCache.length, active: 0, size: sum(u.buildCache, (c) => c.size), reclaimable: sum(u.buildCache, (c) => c.size) },
  ];
}
