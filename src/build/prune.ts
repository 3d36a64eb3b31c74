// The build cache pruned (`POST /build/prune`, which `docker builder prune` and
// `docker system prune` send): the step records (a later build runs those
// steps again; the layers they named go with the store's next image prune) and
// the RUN --mount caches that no running step holds (each step holds its
// cache's lock file, src/build/build.ts lockCaches).
import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { RuntimeContext } from "../container/context.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import { tryLockExclusive } from "../sys/fsat.ts";
import { BUILD_CACHE, buildMaps } from "./build.ts";

export interface PruneResult {
  /** what went: step records by key, mount caches as "mount:DIR" */
  deleted: string[];
  /** bytes of the mount caches removed (the records are small; layers go with an image prune) */
  reclaimed: number;
}

/** du of DIR in bytes (what a prune reclaims, what system df shows), 0 when it cannot be read */
export function sizeOf(dir: string): number {
  const r = Bun.spawnSync(["du", "-sb", dir], { stdout: "pipe", stderr: "ignore" });
  return Number(r.stdout.toString().split("\t")[0]) || 0;
}

/** a step record's file (KEY.json, KEY.image): its key, else undefined */
const recordKey = (name: string): string | undefined => /^(.*)\.(json|image)$/.exec(name)?.[1];

export async function pruneBuildCache(ctx: RuntimeContext): Promise<PruneResult> {
  const root = join(ctx.dataRoot, BUILD_CACHE);
  const out: PruneResult = { deleted: [], reclaimed: 0 };
  if (!existsSync(root)) return out;
  for (const name of readdirSync(root)) {
    const key = recordKey(name);
    if (key === undefined) continue;
    rmSync(join(root, name), { force: true });
    out.deleted.push(key);
  }
  const mounts = join(root, "mounts");
  if (!existsSync(mounts)) return out;
  for (const name of readdirSync(mounts)) {
    // a private step's own dir goes with its step; lock files with their cache
    if (name.includes("-private-") || name.endsWith(".lock")) continue;
    const dir = join(mounts, name);
    const fd = openSync(`${dir}.lock`, "a", 0o600);
    try {
      if (!tryLockExclusive(fd, `${dir}.lock`)) continue; // a running step has it
      const size = sizeOf(dir);
      await removeOwnedTree(dir, buildMaps(ctx));
      rmSync(`${dir}.lock`, { force: true });
      out.deleted.push(`mount:${name}`);
      out.reclaimed += size;
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/** one entry of the build cache (docker system df's BuildCache): a step record, or a RUN --mount=type=cache dir */
export interface CacheEntry {
  id: string;
  type: "regular" | "exec.cachemount";
  size: number;
  /** ms since the epoch */
  created: number;
  used: number;
}

/** the build cache for system df: its step records and mount caches, each with its bytes */
export function buildCacheEntries(ctx: RuntimeContext): CacheEntry[] {
  const root = join(ctx.dataRoot, BUILD_CACHE);
  const out: CacheEntry[] = [];
  const entry = (id: string, type: CacheEntry["type"], path: string, size: (st: Stats) => number) => {
    try {
      const st = statSync(path);
      out.push({ id, type, size: size(st), created: st.birthtimeMs || st.ctimeMs, used: st.atimeMs });
    } catch {
      /* removed meanwhile */
    }
  };
  if (!existsSync(root)) return out;
  for (const name of readdirSync(root)) {
    const key = recordKey(name);
    if (key !== undefined) entry(key, "regular", join(root, name), (st) => st.size);
  }
  const mounts = join(root, "mounts");
  if (existsSync(mounts)) for (const name of readdirSync(mounts)) if (!name.endsWith(".lock")) entry(`mount:${name}`, "exec.cachemount", join(mounts, name), () => sizeOf(join(mounts, name)));
  return out;
}
