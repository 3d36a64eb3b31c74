// OCI mount options -> mount(2) flags, mount_setattr(2) attributes, propagation and fs data.
import * as K from "./types.ts";

export interface MountOptions {
  flags: number;
  /** mount_setattr attributes to set / clear (used for binds, where mount flags do not apply) */
  attrSet: number;
  attrClr: number;
  bind: boolean;
  recursive: boolean;
  /** MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC), applied after the mount */
  propagation: number;
  data: string;
  /** tmpfs: start with a copy of the directory it covers (crun's tmpcopyup); a bind with bunker's
   * "copyup" (a new volume, src/volume): the same, and the directory's own owner and mode too (Docker's copy-up) */
  tmpcopyup: boolean;
}

const FLAGS: Record<string, [set: number, clear: number, attrSet: number, attrClr: number]> = {
  ro: [K.MS_RDONLY, 0, K.MOUNT_ATTR_RDONLY, 0],
  rw: [0, K.MS_RDONLY, 0, K.MOUNT_ATTR_RDONLY],
  nosuid: [K.MS_NOSUID, 0, K.MOUNT_ATTR_NOSUID, 0],
  suid: [0, K.MS_NOSUID, 0, 0],
  nodev: [K.MS_NODEV, 0, K.MOUNT_ATTR_NODEV, 0],
  dev: [0, K.MS_NODEV, 0, 0],
  noexec: [K.MS_NOEXEC, 0, K.MOUNT_ATTR_NOEXEC, 0],
  exec: [0, K.MS_NOEXEC, 0, 0],
  sync: [K.MS_SYNCHRONOUS, 0, 0, 0],
  async: [0, K.MS_SYNCHRONOUS, 0, 0],
  dirsync: [K.MS_DIRSYNC, 0, 0, 0],
  mand: [K.MS_MANDLOCK, 0, 0, 0],
  nomand: [0, K.MS_MANDLOCK, 0, 0],
  noatime: [K.MS_NOATIME, 0, K.MOUNT_ATTR_NOATIME, 0],
  atime: [0, K.MS_NOATIME, 0, 0],
  nodiratime: [K.MS_NODIRATIME, 0, K.MOUNT_ATTR_NODIRATIME, 0],
  diratime: [0, K.MS_NODIRATIME, 0, 0],
  relatime: [K.MS_RELATIME, 0, 0, 0],
  norelatime: [0, K.MS_RELATIME, 0, 0],
  strictatime: [K.MS_STRICTATIME, 0, K.MOUNT_ATTR_STRICTATIME, 0],
  nostrictatime: [0, K.MS_STRICTATIME, 0, 0],
  nosymfollow: [K.MS_NOSYMFOLLOW, 0, K.MOUNT_ATTR_NOSYMFOLLOW, 0],
  symfollow: [0, K.MS_NOSYMFOLLOW, 0, 0],
  lazytime: [K.MS_LAZYTIME, 0, 0, 0],
  nolazytime: [0, K.MS_LAZYTIME, 0, 0],
  remount: [K.MS_REMOUNT, 0, 0, 0],
};

const PROPAGATION: Record<string, number> = {
  private: K.MS_PRIVATE,
  rprivate: K.MS_PRIVATE | K.MS_REC,
  shared: K.MS_SHARED,
  rshared: K.MS_SHARED | K.MS_REC,
  slave: K.MS_SLAVE,
  rslave: K.MS_SLAVE | K.MS_REC,
  unbindable: K.MS_UNBINDABLE,
  runbindable: K.MS_UNBINDABLE | K.MS_REC,
};

/** options the kernel does not know that runtimes accept and act on elsewhere */
const IGNORED = new Set(["idmap", "ridmap", "copy-symlink", "z", "Z", "U", "rro", "rrw"]);

export function parseMountOptions(options: string[] = [], type?: string): MountOptions {
  const o: MountOptions = { flags: 0, attrSet: 0, attrClr: 0, bind: type === "bind" || type === "rbind", recursive: type === "rbind", propagation: 0, data: "", tmpcopyup: false };
  const data: string[] = [];
  let copyup = false;
  for (const opt of options) {
    const f = FLAGS[opt];
    if (f) {
      o.flags = (o.flags | f[0]) & ~f[1];
      o.attrSet = (o.attrSet | f[2]) & ~f[3];
      o.attrClr = (o.attrClr | f[3]) & ~f[2];
    } else if (opt === "bind") o.bind = true;
    else if (opt === "rbind") { o.bind = true; o.recursive = true; }
    else if (opt in PROPAGATION) o.propagation = PROPAGATION[opt]!;
    else if (opt === "rro") { o.attrSet |= K.MOUNT_ATTR_RDONLY; o.recursive = true; }
    else if (opt === "tmpcopyup" || opt === "notmpcopyup") o.tmpcopyup = opt === "tmpcopyup" && type === "tmpfs";
    else if (opt === "copyup") copyup = true;
    else if (!IGNORED.has(opt)) data.push(opt);
  }
  o.data = data.join(",");
  if (copyup && o.bind) o.tmpcopyup = true;
  return o;
}

/** every option name parseMountOptions acts on (for `bunker features`; made when asked: a sort at load was run's only one) */
export function mountOptionNames(): string[] {
  return [...Object.keys(FLAGS), "bind", "rbind", "rro", "tmpcopyup", "notmpcopyup", "copyup", ...Object.keys(PROPAGATION)].sort();
}
