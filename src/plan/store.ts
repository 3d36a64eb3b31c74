// Plans of the image store and the state directories: ops that never run in
// a container, in a user namespace of the store's id maps.
import * as K from "./types.ts";
import type { Op, Plan } from "./types.ts";

/** every file under DIR gets the owner in its user.containers.override_stat record (in a namespace of the subordinate maps, or none: root) */
export function chownTreePlan(dir: string, userns = true): Plan {
  return { cloneFlags: userns ? K.CLONE_NEWUSER : 0, ops: [{ op: "chown-tree", path: dir }] };
}

/** how copy-layers merges: in a user namespace (when the layers' owners need one), owners copied or all the copier's, the opaque dirs' xattr */
export interface CopyLayers {
  userns: boolean;
  copierOwns: boolean;
  opaqueXattr: string;
}

/** the layer dirs BOTTOM_UP merged into DEST (the copy driver) */
export function copyLayersPlan(dest: string, bottomUp: string[], how: CopyLayers): Plan {
  return { cloneFlags: how.userns ? K.CLONE_NEWUSER : 0, ops: [{ op: "copy-layers", dest, layers: bottomUp, opaqueXattr: how.opaqueXattr, copierOwns: how.copierOwns }] };
}

/** FILE (looked up in ENV's PATH) run with ARGS as root of a user namespace (USERNS) with a mount namespace of
 * its own, or as it is: `bunker unshare`, `volume export` */
export function unsharePlan(file: string, args: string[], env: string[], userns = true): Plan {
  return { cloneFlags: userns ? K.CLONE_NEWUSER | K.CLONE_NEWNS : 0, ops: [{ op: "close-fds", preserve: 0 }, { op: "exec", file, args, env }] };
}

/** DIR removed, whole, by the shim (its remove-tree op) in a user namespace that maps its files' owners */
export function removeTreePlan(dir: string): Plan {
  return { cloneFlags: K.CLONE_NEWUSER, ops: [{ op: "remove-tree", path: dir }] };
}

/** a file that cannot exist: the probe's exec of it failing with ENOENT proves every op before it worked */
export const PROBE_EXE = "/nonexistent/bunker-probe";

/** OPS to try in a fresh namespace (FLAGS), ending in the exec of PROBE_EXE */
export function probePlan(ops: Op[], flags: number): Plan {
  return { cloneFlags: flags, ops: [...ops, { op: "exec", file: PROBE_EXE, args: [PROBE_EXE], env: [] }] };
}

/** overlayfs with userxattr on MERGED of the probe directory DIR (lower, upper, work, merged) */
export function overlayProbeOps(dir: string): Op[] {
  return [
    { op: "rootfs", path: dir, propagation: K.MS_PRIVATE },
    { op: "mount", source: "overlay", target: "/merged", fstype: "overlay", flags: 0, data: `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work,userxattr` },
  ];
}
