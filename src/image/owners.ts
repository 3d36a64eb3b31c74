// Who owns an unpacked image's files on disk.
//
//  - root: the tar's uid/gid (the unpacker chowns).
//  - unprivileged with a /etc/subuid + /etc/subgid range and newuidmap: the
//    image's owners as subordinate ids, the way podman stores them (image uid
//    N -> subuid start + N - 1 for N in 1..65536, 0 -> the caller).  A
//    container with the default map (0 -> caller, 1..65536 -> the range) then
//    sees the image's owners, and a non-root image user can write its files.
//    The unpacker writes files as the caller and records each owner in
//    user.containers.override_stat; the shim's chown-tree op applies the
//    records inside a user namespace with that map (only its root may chown
//    to subordinate ids).  The xattr stays: it is the record.
//  - unprivileged without a range: everything stays the caller's (root in a
//    one-id namespace); the owners live only in the xattr.
// A container run with a map other than the layers' (--userns=single on
// subuid-owned layers) sees the ids it cannot map as nobody (65534).
import { autoMaps, findHelper, NEWGIDMAP, NEWUIDMAP, needsHelper, subRange, type IdMaps, processIds } from "../sys/idmap.ts";
import { runStorePlan } from "../sys/launch.ts";
import { chownTreePlan } from "../plan/store.ts";

/** how a layer's files are owned on disk (recorded in the layer's metadata) */
export type LayerOwners =
  | { kind: "tar" }
  | { kind: "caller" }
  | { kind: "subuid"; maps: IdMaps };

/** the maps new layers are chowned with: undefined when nothing is chowned (root, or no range) */
export function imageOwnerMaps(): IdMaps | undefined {
  const { uid, gid } = processIds();
  if (uid === 0 || !subRange("/etc/subuid", uid) || !subRange("/etc/subgid", uid)) return undefined;
  if (!findHelper(NEWUIDMAP) || !findHelper(NEWGIDMAP)) return undefined;
  return autoMaps(uid, gid);
}

/** what unpacking as UID with MAPS (from imageOwnerMaps) leaves on disk */
export function layerOwners(uid: number, maps: IdMaps | undefined): LayerOwners {
  if (uid === 0) return { kind: "tar" };
  return maps ? { kind: "subuid", maps } : { kind: "caller" };
}

/** the maps a copied rootfs must be chowned with for a container with MAPS (none when they hold only the caller) */
export function copyOwnerMaps(maps: IdMaps, uid: number, gid: number): IdMaps | undefined {
  return needsHelper(maps, uid, gid) ? maps : undefined;
}

/** Gives every file under DIR (unpacked by this user) its recorded image owner, as ids of MAPS. */
export async function chownToImageOwners(dir: string, maps: IdMaps): Promise<void> {
  await runStorePlan(chownTreePlan(dir), maps);
}
