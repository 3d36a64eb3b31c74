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
//    `flattenImageRootfs` makes a private copy (all layers applied, whiteouts
//    resolved) into a directory, owned as the container's map needs.
//  - the user: `readImageFile(img.lowerDirs, "/etc/passwd")` (and group) read
//    through the layers, whiteouts honoured, for resolveUser (src/oci/user.ts).
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join, relative } from "node:path";
import { BunkerError } from "../errors.ts";
import { decompress } from "./compress.ts";
import { digestMismatch, Hasher } from "./digest.ts";
import { lgetxattr } from "../sys/fsat.ts";
import { pullImage, type PullOptions } from "./pull.ts";
import { removeTree, Store, type ImageRecord, type LayerInfo } from "./store.ts";
import { chownToImageOwners, copyOwnerMaps } from "./owners.ts";
import { needsHelper, singleMaps, type IdMaps, processIds } from "../sys/idmap.ts";
import { runStorePlan } from "../sys/launch.ts";
import { copyLayersPlan } from "../plan/store.ts";
import type { ImageConfig } from "./types.ts";
import { Unpacker } from "./unpack.ts";
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
  const have = mode === "always" ? undefined : store.find(ref);
  if (have) return { rec: have, notes: [] };
  if (mode === "never") throw new BunkerError(`no such image: ${ref}`, { errno: "ENOENT", fix: `bunker pull ${ref} (or bunker load -i FILE)` });
  const pulled = await pullImage(store, ref, opts);
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
 * The copy fallback: all layers of REF applied into DEST (created; must not
 * exist), temp + rename.  Unpacked from the verified blobs rather than copied
 * from the layer dirs: whiteouts and opaque dirs are resolved on the way
 * (a whiteout device cannot be copied), and the owners are given the same way
 * as to the store's layers, in a user namespace with the container's maps.
 */
export async function flattenImageRootfs(ref: string, dest: string, opts: FlattenOptions): Promise<ImageConfig> {
  const store = Store.open(opts.dataRoot, opts.limits);
  const { rec } = await findOrPull(store, ref, opts);
  const m = store.manifestOf(rec);
  const c = store.configOf(rec);
  if (existsSync(dest)) throw new BunkerError("the rootfs directory already exists", { errno: "EEXIST", path: dest });
  // the unpacked layers merged by the shim (reflinks where the filesystem shares blocks), when
  // the copy keeps their owners as the container's map sees them; else unpacked again below
  const layers = await store.ensureLayers(rec.digest);
  const ns = copyNamespace(layers, opts.maps);
  if (ns !== null) {
    const tmp = `${dest}.tmp-${process.pid}`;
    try {
      await copyLayers(tmp, layers.map((l) => l.dir), ns);
      renameSync(tmp, dest);
    } catch (e) {
      await removeTree(tmp, ns ?? undefined);
      throw e;
    }
    return c.config ?? {};
  }
  const tmp = `${dest}.tmp-${process.pid}`;
  const ownerMaps = opts.maps && copyOwnerMaps(opts.maps, processIds().uid, processIds().gid);
  mkdirSync(tmp, { recursive: true, mode: 0o755 });
  const u = new Unpacker(tmp, { whiteouts: "apply" });
  try {
    for (let i = 0; i < m.layers.length; i++) {
      const h = new Hasher();
      async function* hashed(src: AsyncIterable<Uint8Array>) {
        for await (const x of src) {
          h.update(x);
          yield x;
        }
      }
      await u.apply(hashed(decompress(Bun.file(store.blobPath(m.layers[i]!.digest)).stream())));
      if (h.digest() !== c.rootfs.diff_ids[i]) throw digestMismatch("layer content (diff_id)", c.rootfs.diff_ids[i]!, h.digest());
    }
    u.finish();
  } catch (e) {
    u.abort();
    await removeTree(tmp, ownerMaps);
    throw e;
  }
  try {
    if (ownerMaps) await chownToImageOwners(tmp, ownerMaps);
    renameSync(tmp, dest);
  } catch (e) {
    await removeTree(tmp, ownerMaps);
    throw e;
  }
  return c.config ?? {};
}

/**
 * The user namespace the layers can be copied in with their owners intact and
 * as the container's MAPS see them: none (root: undefined), the layers' own
 * subordinate-id maps when the container has the same, a one-id map for
 * layers owned by the caller; null when a copy would show the container other
 * owners than an unpack for its map (then flatten unpacks the blobs again).
 */
function copyNamespace(layers: LayerInfo[], maps: IdMaps | undefined): IdMaps | undefined | null {
  const { uid, gid } = processIds();
  const kinds = new Set(layers.map((l) => l.owners?.kind ?? (uid === 0 ? "tar" : "caller")));
  if (kinds.size !== 1) return null;
  const owners = layers[0]?.owners;
  if (uid === 0) return kinds.has("tar") ? undefined : null;
  if (owners?.kind === "subuid") return maps && sameMaps(owners.maps, maps) ? owners.maps : null;
  if (kinds.has("caller") && (!maps || !needsHelper(maps, uid, gid))) return singleMaps(uid, gid);
  return null;
}

const sameMaps = (a: IdMaps, b: IdMaps) => JSON.stringify([a.uid, a.gid]) === JSON.stringify([b.uid, b.gid]);

/** the layer dirs BOTTOM_UP (store.ensureLayers' order) merged into DEST by the shim's copy-layers op, in the user namespace NS */
async function copyLayers(dest: string, bottomUp: string[], ns: IdMaps | undefined): Promise<void> {
  await runStorePlan(copyLayersPlan(dest, bottomUp, !!ns), ns);
}

/** The content of PATH in the merged image (topmost layer wins; whiteouts and opaque dirs honoured). */
export function readImageFile(lowerDirs: string[], path: string): string | undefined {
  const parts = path.split("/").filter((p) => p && p !== ".");
  for (const layer of lowerDirs) {
    const full = join(layer, ...parts);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      // an opaque parent hides the rest of the layers below
      for (let i = parts.length - 1; i >= 1; i--) {
        const dir = join(layer, ...parts.slice(0, i));
        if (existsSync(dir) && lgetxattr(dir, OPAQUE_XATTR)) return undefined;
      }
      continue;
    }
    if (isOverlayWhiteout(st.mode, st.rdev)) return undefined;
    if (st.isFile()) return readFileSync(full, "utf8");
    return undefined;
  }
  return undefined;
}

