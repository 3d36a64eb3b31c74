// The storage driver (podman's name): how `run IMAGE` makes a container's root.
//  - overlay: kernel overlayfs of the image's layers, mounted in the
//    container's user namespace with `userxattr`, and a private upper dir:
//    starting a container copies nothing.
//  - copy: the layers merged into a private directory in the container's
//    state dir (flattenImageRootfs: the shim's copy-layers op, reflinks where
//    the filesystem shares blocks), removed with the container; for kernels
//    or filesystems where overlay cannot be mounted in a user namespace.
// --storage-driver (or $BUNKER_STORAGE_DRIVER) forces one; otherwise overlay
// when a probe mount works.  A working probe is remembered in the store (per
// kernel release) so `run` pays for it once; a failed one is retried.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { BunkerError } from "../errors.ts";
import { probeOverlay } from "../sys/probe.ts";

export type StorageDriver = "overlay" | "copy";

export function parseStorageDriver(value: string, from: string): StorageDriver {
  if (value === "overlay" || value === "copy") return value;
  throw new BunkerError(`${from}: unknown storage driver "${value}"`, { errno: "EINVAL", fix: "use overlay or copy" });
}

export interface DriverChoice {
  driver: StorageDriver;
  /** why, for `bunker check` and --debug */
  why: string;
}

/** the forced driver (--storage-driver wins over the environment), or undefined */
export function forcedStorageDriver(flag: string | undefined, env: string | undefined): DriverChoice | undefined {
  if (flag !== undefined) return { driver: parseStorageDriver(flag, "--storage-driver"), why: "--storage-driver" };
  if (env) return { driver: parseStorageDriver(env, "BUNKER_STORAGE_DRIVER"), why: "BUNKER_STORAGE_DRIVER" };
  return undefined;
}

/** the driver when nothing forces one: overlay unless its probe failed with OVERLAY_ERROR */
export function probedStorageDriver(overlayError: string | undefined): DriverChoice {
  return overlayError === undefined
    ? { driver: "overlay", why: "kernel overlayfs works in a user namespace" }
    : { driver: "copy", why: `overlayfs cannot be mounted in a user namespace (${overlayError.replace(/^bunker: /, "")})` };
}

/** The driver `run IMAGE` uses.  FRESH: probe even when a working probe is remembered (bunker check). */
export async function chooseStorageDriver(opts: { flag?: string; env?: string; dataRoot: string; fresh?: boolean }): Promise<DriverChoice> {
  const forced = forcedStorageDriver(opts.flag, opts.env || undefined);
  if (forced) return forced;
  const root = opts.dataRoot;
  const remembered = join(root, "overlay-works");
  if (!opts.fresh) {
    try {
      if (readFileSync(remembered, "utf8") === release()) return probedStorageDriver(undefined);
    } catch {
      /* not probed yet */
    }
  }
  // probe on the store's filesystem (the layers' and, usually, the state dir's)
  const inStore = existsSync(join(root, "tmp"));
  const choice = probedStorageDriver(await probeOverlay(inStore ? join(root, "tmp") : tmpdir()));
  if (choice.driver === "overlay" && inStore) {
    try {
      writeFileSync(remembered, release());
    } catch {
      /* a read-only store: probe next time again */
    }
  }
  return choice;
}
