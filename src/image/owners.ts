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
// subuid-owned layers) sees the ids it cannot map as nobody (65534) on
// overlay; the copy driver's merge gives it the owners its map can hold
// (flattenOwners).
import { autoMaps, findHelper, NEWGIDMAP, NEWUIDMAP, needsHelper, singleMaps, subRange, type IdMaps, processIds } from "../sys/idmap.ts";
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

/**
 * How the copy driver's merge of layers owned as OWNERS (bottom up; absent: the
 * unpacking user's default) gets the owners a container with MAPS must see, for
 * UID:GID (the caller):
 *  - ns: the user namespace the merge runs in, one that can read every layer's
 *    files: none for root, the layers' subordinate maps, else a one-id map;
 *  - copierOwns: false when the layers' owners, copied, are already what the
 *    container sees (root on the tar's owners; the container's map is the
 *    layers' own); else every file is the copier's (root in NS) and
 *  - records: where the user.containers.override_stat records are then applied
 *    (chown-tree): the container's maps when they hold more than the caller, no
 *    namespace for root, null when nothing is applied (a one-id map shows the
 *    image's owners as root, as an unpack for that map would).
 */
export interface FlattenOwners {
  ns: IdMaps | undefined;
  copierOwns: boolean;
  records: IdMaps | undefined | null;
}

export function flattenOwners(owners: (LayerOwners | undefined)[], maps: IdMaps | undefined, uid: number, gid: number): FlattenOwners {
  const kinds = owners.map((o) => o ?? (uid === 0 ? { kind: "tar" as const } : { kind: "caller" as const }));
  const subuid = kinds.find((o) => o.kind === "subuid");
  const ns = uid === 0 ? undefined : subuid?.maps ?? singleMaps(uid, gid);
  const same = new Set(kinds.map((o) => o.kind)).size <= 1;
  const helper = !!maps && needsHelper(maps, uid, gid);
  const kept = uid === 0 ? same && kinds.every((o) => o.kind === "tar")
    : same && (subuid ? helper && sameMaps(subuid.maps, maps!) : !helper);
  if (kept) return { ns, copierOwns: false, records: null };
  return { ns, copierOwns: true, records: uid === 0 ? undefined : helper ? maps! : null };
}

const sameMaps = (a: IdMaps, b: IdMaps) => JSON.stringify([a.uid, a.gid]) === JSON.stringify([b.uid, b.gid]);

/** Gives every file under DIR its recorded image owner, as ids of MAPS (none: root, no user namespace). */
export async function chownToImageOwners(dir: string, maps: IdMaps | undefined): Promise<void> {
  await runStorePlan(chownTreePlan(dir, !!maps), maps);
}
