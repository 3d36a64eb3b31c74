// What `bunker run IMAGE` needs from the image store.
//
//   const img = await prepareImageRootfs("busybox", { dataRoot: ctx.dataRoot });
//   // img.lowerDirs: the unpacked layers, TOPMOST FIRST (overlayfs lowerdir order)
//   // img.config:    Entrypoint, Cmd, Env, WorkingDir, User, StopSignal, ...
//
// How the container's rootfs is made from it (done by the core's plan, not here):
//  - overlayfs mounted INSIDE the container's user namespace (after uid_map is
//    written, in the child's mount namespace):
//      mount("overlay", ROOTFS, "overlay", 0,
//            "lowerdir=L1:L2:...,upperdir=UPPER,workdir=WORK,userxattr")
//    with lowerdir = img.lowerDirs joined by ":" as returned, and UPPER/WORK
//    fresh per container (e.g. <state dir>/<id>/upper and /work: two empty dirs
//    on one filesystem, owned by the caller).  Nothing is copied: starting a
//    second container costs one mount.
//  - `userxattr` is required: opaque dirs carry user.overlay.opaque=y and the
//    kernel then reads user.overlay.* (it is implied/forced in a user namespace
//    since 5.11).  Whiteouts are 0/0 character devices, which overlayfs
//    understands with or without it.
//  - the lowerdir string must fit in a page: with many layers use
//    `lowerDirsRelative` (chdir to `layersRoot` first) — about 66 bytes a layer.
//  - unprivileged, layer files belong to the image's owners as subordinate ids
//    when the user has a /etc/subuid range (else to the caller); see owners.ts.
//  - without overlay (old kernel, odd filesystem, --storage-driver copy):
//    `flattenImageRootfs` merges the layer dirs into a private directory
//    (whiteouts resolved), owned as the container's map needs.
//  - the user: `readImageFile(img.lowerDirs, "/etc/passwd")` (and group) read
//    through the layers, whiteouts honoured, for resolveUser (src/oci/user.ts).
import { existsSync, lstatSync, readFileSync, renameSync, type Stats } from "node:fs";
import { join, relative } from "node:path";
import { BunkerError, errnoCode } from "../errors.ts";
import { lgetxattr } from "../sys/fsat.ts";
import { pullImage, type PullOptions } from "./pull.ts";
import { lookedFor, removeTree, Store, type ImageRecord } from "./store.ts";
import { DEFAULT_REGISTRIES_CONF, loadRegistriesConf } from "./registries-conf.ts";
import { chownToImageOwners, flattenOwners } from "./owners.ts";
import { type IdMaps, processIds } from "../sys/idmap.ts";
import { runStorePlan } from "../sys/launch.ts";
import { copyLayersPlan } from "../plan/store.ts";
import type { ImageConfig } from "./types.ts";
import { isOverlayWhiteout, OPAQUE_XATTR } from "./whiteout.ts";
import type { LayerLimits } from "./limits.ts";

export interface ImageRootfsOptions extends PullOptions {
  /** the image store (RuntimeContext.dataRoot) */
  dataRoot: string;
  /** "missing" (default): pull when not in the store; "never": fail; "always": pull first */
  pull?: "missing" | "never" | "always";
  /** what a layer may expand to (the store's default reserve when absent) */
  limits?: LayerLimits;
}

export interface FlattenOptions extends ImageRootfsOptions {
  /** the container's maps: when they hold subordinate ids, the copy's files get the image's owners in them */
  maps?: IdMaps;
}

export interface ImageRootfs {
  /** image ID (config digest) */
  id: string;
  /** the name it was found or pulled under */
  name: string;
  /** unpacked layer dirs, topmost first (overlayfs lowerdir order) */
  lowerDirs: string[];
  /** the same, relative to layersRoot (shorter mount options) */
  lowerDirsRelative: string[];
  layersRoot: string;
  config: ImageConfig;
  /** what the unpacker could not represent (device nodes rootless, ...) in the layers a pull by this call unpacked: said once, when they are unpacked */
  notes: string[];
}

/** the image REF, from the store or pulled now (then with the notes of the pull's unpack) */
async function findOrPull(store: Store, ref: string, opts: ImageRootfsOptions): Promise<{ rec: ImageRecord; notes: string[] }> {
  const mode = opts.pull ?? "missing";
  const conf = opts.conf ?? (opts.env ? loadRegistriesConf(opts.env) : DEFAULT_REGISTRIES_CONF);
  const have = mode === "always" ? undefined : store.find(ref, conf.search);
  if (have) return { rec: have, notes: [] };
  if (mode === "never") throw new BunkerError(`no such image: ${ref}${lookedFor(ref, conf.search)}`, { errno: "ENOENT", fix: `bunker pull ${ref} (or bunker load -i FILE)` });
  let pulled;
  try {
    pulled = await pullImage(store, ref, { ...opts, conf });
  } catch (e) {
    // a short name: say where the store was searched too
    const local = mode === "missing" ? lookedFor(ref, conf.search) : "";
    if (!local || !(e instanceof BunkerError)) throw e;
    throw new BunkerError(`no image ${ref} in the store${local}, and ${e.message}`, e.detail);
  }
  return { rec: store.get(pulled.name ?? pulled.repoDigest), notes: pulled.notes };
}

/** The image REF's layers (unpacked once; verified) and runtime config, pulling it if needed. */
export async function prepareImageRootfs(ref: string, opts: ImageRootfsOptions): Promise<ImageRootfs> {
  const store = Store.open(opts.dataRoot, opts.limits);
  const { rec, notes } = await findOrPull(store, ref, opts);
  const layers = await store.ensureLayers(rec.digest);
  const config = store.configOf(rec).config ?? {};
  const lowerDirs = layers.map((l) => l.dir).reverse();
  return {
    id: rec.id,
    name: rec.names[0] ?? ref,
    lowerDirs,
    lowerDirsRelative: lowerDirs.map((d) => relative(store.layers, d)),
    layersRoot: store.layers,
    config,
    notes,
  };
}

/**
 * The copy driver's rootfs: the unpacked layers of REF merged into DEST
 * (created; must not exist) by the shim's copy-layers op (reflinks where the
 * filesystem shares blocks; whiteouts and opaque dirs in the store's overlay
 * format resolved on the way), temp + rename.  The owners are those the
 * container's maps see (flattenOwners): copied, or the copier's and then the
 * image's from the owner records, in a user namespace of those maps.
 */
export async function flattenImageRootfs(ref: string, dest: string, opts: FlattenOptions): Promise<ImageConfig> {
  const store = Store.open(opts.dataRoot, opts.limits);
  const { rec } = await findOrPull(store, ref, opts);
  if (existsSync(dest)) throw new BunkerError("the rootfs directory already exists", { errno: "EEXIST", path: dest });
  const layers = await store.ensureLayers(rec.digest);
  const { uid, gid } = processIds();
  const how = flattenOwners(layers.map((l) => l.owners), opts.maps, uid, gid);
  const tmp = `${dest}.tmp-${process.pid}`;
  let owners = how.ns; // the maps that hold the owners of TMP's files
  try {
    await runStorePlan(copyLayersPlan(tmp, layers.map((l) => l.dir), { userns: !!how.ns, copierOwns: how.copierOwns, opaqueXattr: OPAQUE_XATTR }), how.ns);
    if (how.records !== null) {
      owners = how.records;
      await chownToImageOwners(tmp, how.records);
    }
    renameSync(tmp, dest);
  } catch (e) {
    await removeTree(tmp, owners);
    throw e;
  }
  return store.configOf(rec).config ?? {};
}

/**
 * PATH in the merged image (topmost layer wins; whiteouts and opaque dirs
 * honoured): the file of the layer that has it, or "unreadable" when a
 * layer's directory on the way may not be searched by the caller
 * (subordinate-owned, 0700), or undefined when the image has no PATH.
 */
function findInImage(lowerDirs: string[], path: string): { full: string; st: Stats } | "unreadable" | undefined {
  const parts = path.split("/").filter((p) => p && p !== ".");
  for (const layer of lowerDirs) {
    const full = join(layer, ...parts);
    let st;
    try {
      st = lstatSync(full);
    } catch (e) {
      if (errnoCode(e) === "EACCES") return "unreadable";
      // an opaque parent hides the rest of the layers below
      for (let i = parts.length - 1; i >= 1; i--) {
        const dir = join(layer, ...parts.slice(0, i));
        if (existsSync(dir) && lgetxattr(dir, OPAQUE_XATTR)) return undefined;
      }
      continue;
    }
    return isOverlayWhiteout(st.mode, st.rdev) ? undefined : { full, st };
  }
  return undefined;
}

/** The content of PATH in the merged image (a regular file; else undefined). */
export function readImageFile(lowerDirs: string[], path: string): string | undefined {
  const f = findInImage(lowerDirs, path);
  return typeof f === "object" && f.st.isFile() ? readFileSync(f.full, "utf8") : undefined;
}

/** Whether the merged image has PATH (one behind a directory the caller may not search counts as there). */
export function inImage(lowerDirs: string[], path: string): boolean {
  return findInImage(lowerDirs, path) !== undefined;
}

