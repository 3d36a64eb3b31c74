// Bounds on what one layer may expand to (issue 11: a 7 MB gzip layer that
// expands to 7 GiB ran until the disk was full).  Two limits, both checked
// while the decompressed stream is unpacked, not once up front (a gzip
// header's size field is mod 2^32 and an attacker's to write):
//  - the reserve: free space the store's filesystem must keep (statfs every
//    CHECK_EVERY bytes); default the smaller of 1 GiB and 5 % of its size, so
//    a small filesystem is not refused everything;
//  - --max-layer-size: the layer's uncompressed tar stream; unlimited by
//    default (the reserve protects the host, and real layers reach many GiB).
import { statfsSync } from "node:fs";
import { BunkerError, fromSysError } from "../errors.ts";
import { binaryBytes } from "./units.ts";
import { parseBytes } from "../cgroup/flags.ts";

export type Reserve = { bytes: number } | { percent: number };

export interface LayerLimits {
  /** bytes of uncompressed tar stream one layer may have; undefined = no cap */
  maxLayerSize?: number;
  /** free space kept on the store's filesystem; undefined = DEFAULT_RESERVE */
  reserve?: Reserve;
}

/** the default reserve: 1 GiB, or 5 % of the filesystem when that is smaller */
/** "2g", "512m", "0" (no reserve) or "10%" (of the filesystem) */
function parseReserve(s: string, what: string): Reserve {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(s);
  if (!pct) return { bytes: parseBytes(s, what) };
  const percent = Number(pct[1]);
  if (percent > 100) throw new BunkerError(`${what}: "${s}" is more than 100%`, { errno: "EINVAL", fix: "use a size (2g) or a percentage of the filesystem (5%)" });
  return { percent };
}

/** A flag's or an environment variable's VALUE, named WHAT in errors */
export interface GivenLimit {
  value: string | undefined;
  what: string;
}

/** the limits MAX (a size) and RESERVE (a size or N%) give; unset or "" leaves the default */
export function layerLimitsOf(max: GivenLimit, reserve: GivenLimit): LayerLimits {
  return {
    maxLayerSize: max.value === undefined || max.value === "" ? undefined : parseBytes(max.value, max.what),
    reserve: reserve.value === undefined || reserve.value === "" ? undefined : parseReserve(reserve.value, reserve.what),
  };
}

export const DEFAULT_RESERVE_BYTES = 2 ** 30;
export const DEFAULT_RESERVE_PERCENT = 5;

/** how often (bytes of decompressed stream) the free space is asked for, at most (more often near the reserve) */
export const CHECK_EVERY = 8 * 2 ** 20;

/** the reserve in bytes for a filesystem of TOTAL bytes */
export function reserveBytes(reserve: Reserve | undefined, total: number): number {
  if (!reserve) return Math.min(DEFAULT_RESERVE_BYTES, Math.floor((total * DEFAULT_RESERVE_PERCENT) / 100));
  return "bytes" in reserve ? reserve.bytes : Math.floor((total * reserve.percent) / 100);
}

/** free and total bytes of the filesystem holding PATH (what an unprivileged writer may use) */
function space(path: string): { avail: number; total: number } {
  try {
    const s = statfsSync(path);
    return { avail: s.bavail * s.bsize, total: s.blocks * s.bsize };
  } catch (e) {
    throw fromSysError("cannot read the free space of the image store's filesystem (statfs)", e, { path });
  }
}

/**
 * Counts one layer's decompressed bytes and stops the unpack (throws) when
 * it passes the cap or the store's filesystem falls below the reserve.
 * WHAT names the layer, STORE is the store's path (in the messages).
 */
export class LayerGuard {
  private bytes = 0;
  private nextCheck = 0;

  /** VERB: what is being done with it ("unpacking", "downloading") */
  constructor(private readonly limits: LayerLimits, private readonly storePath: string, private readonly what: string, private readonly verb = "unpacking") {}

  /** N more decompressed bytes are about to be written */
  add(n: number): void {
    this.bytes += n;
    const max = this.limits.maxLayerSize;
    if (max !== undefined && this.bytes > max) {
      throw new BunkerError(`${this.what} is larger than --max-layer-size ${binaryBytes(max)} uncompressed; nothing was stored`, {
        errno: "EFBIG",
        path: this.storePath,
        fix: "raise --max-layer-size (or $BUNKER_MAX_LAYER_SIZE) if you trust the image",
      });
    }
    if (this.bytes >= this.nextCheck) this.checkSpace();
  }

  private checkSpace(): void {
    const { avail, total } = space(this.storePath);
    const keep = reserveBytes(this.limits.reserve, total);
    // the next look after half of what is left above the reserve (at most CHECK_EVERY): closer to it, more often
    if (avail >= keep) return void (this.nextCheck = this.bytes + Math.min(CHECK_EVERY, Math.floor((avail - keep) / 2)));
    throw new BunkerError(
      `${this.what} does not fit: ${this.verb} it would leave less than the reserve of ${binaryBytes(keep)} free on the image store's filesystem ` +
        `(${binaryBytes(Math.max(0, avail))} free after ${binaryBytes(this.bytes)} of it); ${this.verb === "downloading" ? "the partial download is kept: pulling again resumes it" : "nothing was stored"}`,
      { errno: "ENOSPC", path: this.storePath, fix: "free space there, or use a --data-root on a larger filesystem, or lower --storage-reserve (or $BUNKER_STORAGE_RESERVE)" },
    );
  }
}
