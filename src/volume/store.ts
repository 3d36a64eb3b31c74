// Named volumes under the data root, laid out as Docker's local driver does:
//
//   volumes/<name>/_data         the volume's files (what a container mounts)
//   volumes/<name>/volume.json   CreatedAt, Labels, Options
//
// A volume is made in a temp dir and renamed into place, so a concurrent
// create of the same name sees either nothing or the whole volume.  Files a
// container wrote may belong to subordinate ids (a container with a
// subordinate-id map): removal goes through removeOwnedTree, which removes
// what the caller cannot in a user namespace with the caller's maps.
import { recordEvent } from "../events.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { BunkerError, fromSysError } from "../errors.ts";
import { parseJsonObject } from "../json.ts";
import { underRoot } from "../image/data-root.ts";
import { removeOwnedTree } from "../sys/remove-tree.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { checkVolumeName } from "./spec.ts";
import { randomHex } from "../sys/random-hex.ts";

/** Docker's label of an anonymous volume (made for an image's VOLUME or `-v /path`) */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

/** `bunker volume inspect`'s record, Docker's field names and order */
export interface VolumeInfo {
  CreatedAt: string;
  Driver: "local";
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string>;
  Scope: "local";
}

export function volumesDir(dataRoot: string): string {
  return `${underRoot(dataRoot)}volumes`;
}

export function volumeDir(dataRoot: string, name: string): string {
  return `${volumesDir(dataRoot)}/${name}`;
}

export function isAnonymous(v: VolumeInfo): boolean {
  return ANONYMOUS_LABEL in v.Labels;
}

/** RFC 3339 in whole seconds, as Docker prints CreatedAt */
function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

function randomName(): string {
  return randomHex(32);
}

/** the volume NAME, undefined when there is none */
export function readVolume(dataRoot: string, name: string): VolumeInfo | undefined {
  const dir = volumeDir(dataRoot, name);
  let text: string;
  try {
    text = readFileSync(`${dir}/volume.json`, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") return undefined;
    throw fromSysError("cannot read the volume's record", e, { path: `${dir}/volume.json` });
  }
  // a small record bunker wrote: the smallest of the JSON bounds
  const rec = parseJsonObject(text, `${dir}/volume.json`, "auth");
  const strings = (x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? (Object.fromEntries(Object.entries(x).filter(([, v]) => typeof v === "string")) as Record<string, string>) : {});
  return {
    CreatedAt: typeof rec.CreatedAt === "string" ? rec.CreatedAt : "",
    Driver: "local",
    Labels: strings(rec.Labels),
    Mountpoint: `${dir}/_data`,
    Name: name,
    Options: strings(rec.Options),
    Scope: "local",
  };
}

/** NAME's volume, or an error that says how to make one */
export function getVolume(dataRoot: string, name: string, where: string): VolumeInfo {
  const v = readVolume(dataRoot, checkVolumeName(name, where));
  if (!v) throw new BunkerError(`${where}: no such volume "${name}"`, { errno: "ENOENT", path: volumeDir(dataRoot, name), fix: `bunker volume ls lists them; bunker volume create ${name} makes it` });
  return v;
}

/**
 * The volume NAME (a random one when undefined), made when missing.  Returns
 * it and whether this call made it (an existing volume is returned as it is:
 * `docker volume create` of an existing name does the same).
 */
export function ensureVolume(dataRoot: string, name: string | undefined, labels: Record<string, string> = {}): { volume: VolumeInfo; created: boolean } {
  const n = name ?? randomName();
  const existing = readVolume(dataRoot, n);
  if (existing) return { volume: existing, created: false };
  const root = volumesDir(dataRoot);
  const tmp = `${root}/.tmp-${process.pid}-${randomName().slice(0, 8)}`;
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(tmp, { mode: 0o700 });
    mkdirSync(`${tmp}/_data`, { mode: 0o755 });
    writeFileSync(`${tmp}/volume.json`, `${JSON.stringify({ CreatedAt: now(), Labels: labels, Options: {} })}\n`);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw fromSysError("cannot create the volume", e, { path: volumeDir(dataRoot, n), fix: "check that the data root (--data-root) is writable" });
  }
  try {
    renameSync(tmp, volumeDir(dataRoot, n));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as { code?: string }).code;
    // made meanwhile by another bunker: theirs is the volume
    const raced = (code === "EEXIST" || code === "ENOTEMPTY") && readVolume(dataRoot, n);
    if (raced) return { volume: raced, created: false };
    throw fromSysError("cannot create the volume", e, { path: volumeDir(dataRoot, n) });
  }
  recordEvent(dataRoot, "volume", "create", n, { driver: "local" });
  return { volume: readVolume(dataRoot, n)!, created: true };
}

export function listVolumes(dataRoot: string): VolumeInfo[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(dataRoot));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw fromSysError("cannot list the volumes", e, { path: volumesDir(dataRoot) });
  }
  return names.filter((n) => !n.startsWith(".")).sort().flatMap((n) => readVolume(dataRoot, n) ?? []);
}

/** a volume that has never been filled: a container's first mount of it copies the image's content in (Docker's rule) */
export function isEmptyVolume(v: VolumeInfo): boolean {
  try {
    return readdirSync(v.Mountpoint).length === 0;
  } catch {
    return false; // unreadable: a container made it its own (mode 0700 of a subordinate id)
  }
}

/** removes the volume's directory: its record first, so a half-removed volume is not listed */
export async function removeVolume(dataRoot: string, name: string, maps: IdMaps): Promise<void> {
  await removeVolumeDir(volumeDir(dataRoot, name), maps);
  recordEvent(dataRoot, "volume", "destroy", name, { driver: "local" });
}

export async function removeVolumeDir(dir: string, maps: IdMaps): Promise<void> {
  rmSync(`${dir}/volume.json`, { force: true });
  await removeOwnedTree(dir, maps);
  if (existsSync(dir)) throw new BunkerError("cannot remove the volume's files", { errno: "EACCES", path: dir, fix: "bunker unshare rm -rf DIR removes files of your subordinate ids" });
}
