// Whiteouts, the one place that knows them: the OCI layer format (image-spec
// layer.md: `.wh.NAME` deletes NAME of the layers below, `.wh..wh..opq` makes
// its directory opaque, other `.wh..wh.` names are aufs metadata) and the
// overlayfs format the store's layers keep them in (a 0/0 character device;
// a directory with user.overlay.opaque=y, also trusted.overlay.opaque as root).
// The unpacker turns the first into the second; readers of a layer dir
// (readImageFile, the shim's copy-layers merge, the one flattening of layers
// for the copy driver) read the second.
import { S_IFCHR, S_IFMT } from "../sys/fsat.ts";

export const WH_PREFIX = ".wh.";
export const WH_OPAQUE = ".wh..wh..opq";
const WH_META = ".wh..wh.";

/** overlayfs's opaque-directory marker (`userxattr` mounts: the user.* one) */
export const OPAQUE_XATTR = "user.overlay.opaque";
/** the same for overlay mounted without userxattr (root) */
export const TRUSTED_OPAQUE_XATTR = "trusted.overlay.opaque";

export type Whiteout =
  /** the directory hides what lower layers have in it */
  | { kind: "opaque" }
  /** TARGET (a name in the entry's directory) is deleted */
  | { kind: "delete"; target: string }
  /** aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): nothing to apply */
  | { kind: "aufs" };

/** what a layer entry whose last component is BASE means, when it is a whiteout marker (undefined: an ordinary entry) */
export function whiteoutOf(base: string): Whiteout | { kind: "bad" } | undefined {
  if (!base.startsWith(WH_PREFIX)) return undefined;
  if (base === WH_OPAQUE) return { kind: "opaque" };
  if (base.startsWith(WH_META)) return { kind: "aufs" };
  const target = base.slice(WH_PREFIX.length);
  return target === "" || target === "." || target === ".." ? { kind: "bad" } : { kind: "delete", target };
}

/** an overlay whiteout in a layer dir: a character device 0/0 (MODE and RDEV as stat gives them) */
export function isOverlayWhiteout(mode: number, rdev: number | bigint): boolean {
  return (mode & S_IFMT) === S_IFCHR && Number(rdev) === 0;
}
