// What `bunker run IMAGE` needs from the store, kept per image reference: a
// later run of the same reference reads this one small file instead of the
// store's index, manifest, config, layer records and the image's passwd and
// group files, and does not load the store's code (together ~5 ms of cold
// JavaScript, the whole difference to `run --rootfs DIR`).
//
// A record is used only while it provably describes the store:
//  - images.json is the same file: every change of names (pull, load, tag,
//    rmi, prune) renames a new one into place, so inode, size and mtime move;
//  - the kernel is the one the overlay probe ran on (the driver was overlay);
//  - every layer directory is still there.
// Otherwise `run` takes the slow path, with its checks and clear errors, and
// writes a new record.  A record that cannot be written is no error: it is a
// cache.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "../sys/fs-sync.ts";
import { osRelease } from "../sys/kernel.ts";
import type { ImageConfig } from "./types.ts";
import type { ResolvedUser } from "../oci/user.ts";
import { imagesFile, underRoot } from "./data-root.ts";
import { statAndDirs } from "../sys/shim.ts";

export interface LaunchRecord {
  /** the reference as the user gave it */
  ref: string;
  id: string;
  /** the unpacked layers, topmost first */
  lowerDirs: string[];
  config: ImageConfig;
  /** the image's /etc/passwd and /etc/group ("" when missing) */
  passwd: string;
  group: string;
  /** config.User resolved through them (absent when it does not resolve: the run says why) */
  user?: ResolvedUser;
}

interface Stored extends LaunchRecord {
  v: 3;
  /** images.json's identity when the record was written */
  index: string;
  kernel: string;
}

/** images.json's identity (inode, size, mtime), by the shim: see readLaunchRecord */
function indexStamp(dataRoot: string): string | undefined {
  return statAndDirs(imagesFile(dataRoot), []).stamp;
}

const recordsDir = (dataRoot: string) => `${underRoot(dataRoot)}launch`;

/** FNV-1a, 2 x 32 bits (the record holds the ref itself, compared on read) */
function refHash(ref: string): string {
  let a = 0x811c9dc5, b = 0x050c5d1f;
  for (let k = 0; k < ref.length; k++) {
    const c = ref.charCodeAt(k);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
    b = (b ^ (b >>> 13)) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

/** the reference itself as the name ("/" escaped), a hash of it when too long */
function recordPath(dataRoot: string, ref: string): string {
  const name = ref.length <= 200 ? ref.replaceAll("%", "%25").replaceAll("/", "%2F") : refHash(ref);
  return `${recordsDir(dataRoot)}/${name}.json`;
}

/** REF's record, when it is still true of the store at DATA_ROOT */
export function readLaunchRecord(dataRoot: string, ref: string): LaunchRecord | undefined {
  let s: Stored;
  try {
    s = JSON.parse(readFileSync(recordPath(dataRoot, ref), "utf8")) as Stored;
  } catch {
    return undefined;
  }
  if (s.v !== 3 || s.ref !== ref || s.kernel !== osRelease()) return undefined;
  // images.json and every layer dir in one call to the shim (it is loaded for the launch anyway):
  // the first node:fs statSync and existsSync of the process cost about a millisecond (measured)
  const now = statAndDirs(imagesFile(dataRoot), s.lowerDirs);
  if (s.index !== now.stamp || !now.dirs) return undefined;
  return s;
}

/** remembers REC for the next run of rec.ref (an overlay run: see the conditions above) */
export function writeLaunchRecord(dataRoot: string, rec: LaunchRecord): void {
  const index = indexStamp(dataRoot);
  if (!index) return;
  const path = recordPath(dataRoot, rec.ref);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(recordsDir(dataRoot), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify({ v: 3, index, kernel: osRelease(), ...rec } satisfies Stored));
    renameSync(tmp, path);
  } catch {
    /* a read-only or full store: the next run takes the slow path again */
  }
}

/** forgets every record (gc: the store changed under them; the next run rebuilds its own) */
export function dropLaunchRecords(dataRoot: string): void {
  rmSync(recordsDir(dataRoot), { recursive: true, force: true });
}
