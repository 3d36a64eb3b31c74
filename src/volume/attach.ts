// A container's mount requests made real: bind sources checked, volumes found
// or made, and which volumes the container uses recorded in its state dir
// (`volumes.json`), so that `volume rm` refuses a volume a container (running
// or stopped) still uses, and removing the container can remove its
// anonymous volumes (`rm -v`, `run --rm`, a foreground run).
import { recordEvent } from "../events.ts";
import { basename, dirname } from "node:path";
import { closeSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { BunkerError, fromSysError } from "../errors.ts";
import type { Volume } from "../oci/run-spec.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { flock, LOCK_EX } from "../sys/fs-core.ts";
import { ANONYMOUS_LABEL, ensureVolume, isEmptyVolume, removeVolumeDir, volumeDir, type VolumeInfo } from "./store.ts";
import { VOLUME_NAME_RE, type MountRequest } from "./spec.ts";

/** what a container's state dir records about its volumes */
export interface VolumeUse {
  /** the volumes' directories (volumes/<name>), named and anonymous */
  dirs: string[];
  /** those of them that are anonymous: removed with the container by rm -v, --rm and a foreground run */
  anonymous: string[];
}

export interface AttachedMounts {
  binds: Volume[];
  tmpfs: { destination: string; options: string[] }[];
  use: VolumeUse;
  /** unlocks the volumes being filled (idempotent) */
  release(): void;
}

const depth = (p: string) => p.split("/").filter(Boolean).length;

function checkBindSource(source: string, what: string): void {
  try {
    statSync(source);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "ENOENT";
    throw new BunkerError(`run: ${what}: the bind source was read as a host path and ${code === "ENOENT" ? "does not exist" : "cannot be reached"}`, {
      errno: code,
      path: source,
      fix: code === "ENOENT" ? `create it (mkdir -p ${source}), or to use a named volume give a name instead of a path (-v data:/dst)` : "check the path's permissions",
    });
  }
}

/**
 * REQUESTS as mounts for runSpec: named volumes made when missing, one
 * anonymous volume per unnamed request; a volume that is empty (new, or
 * never filled) is populated from the image at its path when COPY_UP (a run
 * of an image) and the request does not say nocopy.  Mounts go outermost
 * first (Docker sorts them by depth), so /a/b lands on /a's volume.  Bind
 * sources are checked before any volume is made; RECORD gets the volumes
 * in use after each one is made (nothing made is ever unrecorded).
 *
 * The volumes to copy into stay locked (flock, in name order) until
 * `release`, which the caller calls once the container has set itself up
 * (launch returned): a second container starting on the same new volume
 * waits, then finds it filled, instead of copying over the first's copy.
 */
export function attachMounts(requests: MountRequest[], dataRoot: string, copyUp: boolean, record: (use: VolumeUse) => void): AttachedMounts {
  const sorted = [...requests].sort((a, b) => depth(a.destination) - depth(b.destination));
  for (const r of sorted) if (r.type === "bind") checkBindSource(r.source, `-v ${r.source}:${r.destination}`);
  const use: VolumeUse = { dirs: [], anonymous: [] };
  const volumes = new Map<MountRequest, VolumeInfo>();
  for (const r of sorted) {
    if (r.type !== "volume") continue;
    const { volume } = ensureVolume(dataRoot, r.name, r.name ? {} : { [ANONYMOUS_LABEL]: "" });
    volumes.set(r, volume);
    const dir = volumeDir(dataRoot, volume.Name);
    use.dirs.push(dir);
    if (!r.name) use.anonymous.push(dir);
    record(use);
  }
  const candidates = copyUp ? [...new Set([...volumes].filter(([r]) => r.type === "volume" && !r.nocopy).map(([, v]) => v.Name))].sort() : [];
  const locks = candidates.map((name) => lockVolume(volumeDir(dataRoot, name)));
  const filled = new Set<string>();
  const binds: Volume[] = [];
  const tmpfs: AttachedMounts["tmpfs"] = [];
  for (const r of sorted) {
    if (r.type === "tmpfs") tmpfs.push({ destination: r.destination, options: r.options });
    else if (r.type === "bind") binds.push({ source: r.source, destination: r.destination, readonly: r.readonly, ...(r.propagation ? { propagation: r.propagation } : {}) });
    else {
      const v = volumes.get(r)!;
      // once per container: a volume mounted twice is filled by its first mount
      const fill = candidates.includes(v.Name) && !r.nocopy && !filled.has(v.Name) && isEmptyVolume(v);
      if (fill) filled.add(v.Name);
      binds.push({ source: v.Mountpoint, destination: r.destination, readonly: r.readonly, ...(fill ? { copyUp: true } : {}) });
    }
  }
  return { binds, tmpfs, use, release: () => locks.splice(0).forEach((fd) => closeSync(fd)) };
}

/** an exclusive flock on the volume's directory (released by closing the fd) */
function lockVolume(dir: string): number {
  const fd = openSync(dir, "r");
  const r = flock(fd, LOCK_EX);
  if (r < 0) {
    closeSync(fd);
    throw new BunkerError("cannot lock the volume", { errno: -r, path: dir });
  }
  return fd;
}

const USE_FILE = "volumes.json";

/** written whole (temp + rename): a reader never sees half a list */
export function recordVolumeUse(containerDir: string, use: VolumeUse): void {
  writeFileSync(`${containerDir}/${USE_FILE}.tmp`, `${JSON.stringify(use)}\n`);
  renameSync(`${containerDir}/${USE_FILE}.tmp`, `${containerDir}/${USE_FILE}`);
}

/** the volumes the container in CONTAINER_DIR uses (none when it recorded none) */
export function readVolumeUse(containerDir: string): VolumeUse {
  let text: string;
  try {
    text = readFileSync(`${containerDir}/${USE_FILE}`, "utf8");
  } catch {
    return { dirs: [], anonymous: [] };
  }
  try {
    const u = JSON.parse(text) as VolumeUse;
    const strs = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []);
    return { dirs: strs(u.dirs), anonymous: strs(u.anonymous) };
  } catch {
    return { dirs: [], anonymous: [] };
  }
}

/** the containers under STATE_ROOT (running or stopped) that use the volume in VOLUME_DIR */
export function containersUsing(stateRoot: string, dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(stateRoot);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw fromSysError("cannot list the containers", e, { path: stateRoot });
  }
  return names.filter((n) => readVolumeUse(`${stateRoot}/${n}`).dirs.includes(dir)).sort();
}

/** removes the anonymous volumes USE names (read before the container's dir goes); one that will not go is a warning */
export async function removeAnonymousVolumes(use: VolumeUse, maps: IdMaps, warn: (e: BunkerError) => void): Promise<void> {
  for (const dir of use.anonymous) {
    // only what this module wrote: DATAROOT/volumes/<name>
    if (!/\/volumes\/[^/]+$/.test(dir) || !VOLUME_NAME_RE.test(dir.slice(dir.lastIndexOf("/") + 1))) continue;
    try {
      await removeVolumeDir(dir, maps);
      recordEvent(dirname(dirname(dir)), "volume", "destroy", basename(dir), { driver: "local" });
    } catch (e) {
      warn(e instanceof BunkerError ? e : new BunkerError(String(e)));
    }
  }
}
