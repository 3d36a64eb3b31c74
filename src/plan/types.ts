// The Plan: what the container's first process does between clone() and
// execve(), as an ordered list of operations (bubblewrap's model).  Built by
// pure functions in src/plan, encoded by src/sys/plan-encode.ts, executed by
// the C child (c/child.c and one file per concern).  Paths marked "in root" are resolved inside the rootfs with
// openat2(RESOLVE_IN_ROOT), before or after pivot_root.
/** a process's standard fds as fds of bunker's (stdin -1: /dev/null) */
export type Stdio = {
  stdin: number;
  stdout: number;
  stderr: number;
};

export type Op =
  /** make / private (or the asked propagation), then bind `path` onto itself, or mount a filesystem
   * there (tmpfs for the host sandbox, overlay of image layers), as the new root */
  | { op: "rootfs"; path: string; mount?: RootMount; propagation: number }
  /** mount a filesystem on `target` (in root, created as a dir) */
  | { op: "mount"; source: string; target: string; fstype: string; flags: number; data: string; mkfile?: boolean; optional?: boolean }
  /** bind host `source` onto `target` (in root; created as dir or file like the source), then set mount attributes */
  | { op: "bind"; source: string; target: string; recursive: boolean; optional?: boolean; attrSet: number; attrClr: number }
  | { op: "symlink"; target: string; link: string }
  | { op: "pivot"; noPivot: boolean }
  /** mount_setattr on an existing mount (after pivot_root) */
  | { op: "setattr"; path: string; attrSet: number; attrClr: number; recursive: boolean }
  | { op: "mask"; path: string }
  | { op: "hostname"; name: string }
  | { op: "domainname"; name: string }
  | { op: "lo-up" }
  /** unshare a user namespace nested in the current one (its ids mapped to themselves by a forked
   * helper) with FLAGS' other namespaces: every mount made so far becomes locked */
  | { op: "lock"; flags: number; uidMap: string; gidMap: string }
  | { op: "chdir"; path: string }
  | { op: "rlimit"; resource: number; soft: bigint; hard: bigint }
  | { op: "user"; uid: number; gid: number; groups: number[] }
  /** stage 0 (before user): bounding set; stage 1 (after user): effective/permitted/inheritable/ambient */
  | { op: "caps"; stage: 0 | 1; bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint }
  | { op: "nnp" }
  /** PR_SET_DUMPABLE 0 until execve: no process in the container may open /proc/PID/exe (bunker) or ptrace it */
  | { op: "nondumpable" }
  /**
   * set up, the child says so (HOLD) and waits for another "go" before its process ops: bunker starts
   * the network helper meanwhile and records the container once it is ready (run with pasta/slirp4netns)
   */
  | { op: "hold" }
  /** a device node made inside the root (linux.devices without a user namespace) */
  | { op: "mknod"; path: string; mode: number; major: number; minor: number; uid: number; gid: number }
  | { op: "seccomp"; filter: Uint8Array; flags: number }
  | { op: "pty"; rows: number; cols: number }
  | { op: "setsid" }
  | { op: "fifo-open"; path: string }
  /** exe: the monitor's sealed memfd, which waits and exec's the program (set by launch) */
  | { op: "fifo-wait"; exe?: number }
  | { op: "write"; path: string; content: string }
  | { op: "umask"; mask: number }
  | { op: "close-fds"; preserve: number }
  | { op: "stdin-null" }
  /** EXE: fd of the init executable PID 1 exec's (a sealed memfd, set by launch) */
  | { op: "init"; exe?: number }
  /** join an existing namespace (OCI namespaces[].path, or a container's for exec) */
  /** PARENT: join the parent of the user namespace at PATH instead (NS_GET_PARENT) */
  | { op: "setns"; path: string; nstype: number; parent?: boolean }
  /** fork once more; the intermediate reports the pid and exits (after joining a pid namespace) */
  /** waitGo: the forked process waits for a second "go" (create records its pid first) */
  | { op: "fork"; waitGo?: boolean }
  /** the process gets SIGNAL when bunker dies (run, not create) */
  | { op: "pdeathsig"; signal: number }
  /** detached run: stdout/stderr append to LOG (host path), stdin is /dev/null */
  /** bunker's fds STDIN (-1: /dev/null), STDOUT, STDERR become the process's 0, 1, 2 (a detached run's log writer, an exec's pipes) */
  | ({ op: "stdio" } & Stdio)
  /** detached run: the init writes the command's exit status to PATH (host path) */
  | { op: "exit-file"; path: string }
  /** tmpcopyup: hold the directory at `path` (in root) that the next mount covers; nothing if it is missing */
  | { op: "copyup-open"; path: string }
  /** tmpcopyup: copy the held directory's contents (owners, modes, times, symlinks) into the tmpfs at `path`;
   * ROOT (a new volume's copy-up): the directory itself gets the held one's owner, mode and times too */
  | { op: "copyup"; path: string; root?: boolean }
  /** a startContainer hook, in the container after exec.fifo: `state` is the state JSON around the
   * host pid (which only the parent knows: it comes with "go") */
  | { op: "hook"; index: number; path: string; args: string[]; env: string[]; timeout: number; stateBeforePid: string; stateAfterPid: string }
  | { op: "exec"; file: string; args: string[]; env: string[] }
  /** an image-store op, not a container's: gives every file under `path` the owner in its
   * user.containers.override_stat record (ids of the plan's user namespace), then exits 0 */
  | { op: "chown-tree"; path: string }
  /** an image-store op: the unpacked LAYERS (lowest first, overlay format: whiteouts are 0/0
   * character devices, an opaque dir has the xattr OPAQUE_XATTR = y) merged into the new directory DEST, files reflinked where the filesystem can, user.containers.override_stat records
   * kept; owners copied, or with COPIER_OWNS every file the copier's (the records then give the
   * container's owners: chown-tree); then exits 0 (the copy driver) */
  | { op: "copy-layers"; dest: string; layers: string[]; opaqueXattr: string; copierOwns: boolean }
  /** an image-store op: PATH removed, whole, in a user namespace that maps its files' owners */
  | { op: "remove-tree"; path: string }
  /** fd FD becomes fd TO (a helper's stdin or stdout is a pipe of bunker's) */
  | { op: "dup"; fd: number; to: number }
  /** the cwd becomes PATH resolved inside the root ROOT (a host path: /proc/PID/root, a rootfs) */
  | { op: "chdir-in-root"; root: string; path: string }
  /** a store op: the tree FROM merged into PATH (resolved inside ROOT), as docker cp extracts; a directory and a
   * non-directory replace each other only with OVERWRITEDIRNONDIR */
  | { op: "copy-into"; from: string; root: string; path: string; overwriteDirNonDir: boolean };

export interface RootMount {
  fstype: string;
  data: string;
  /** a tmpfs of the container's own goes on `path` first, holding the overlay's
   * upper and work dirs (the data names path/upper and path/work); the root is path/root */
  tmpfsUpper?: boolean;
}

export interface Plan {
  cloneFlags: number;
  ops: Op[];
  /**
   * join this user namespace (a path the child can open, e.g. /proc/self/fd/N)
   * instead of making one: the child setns()es into it and makes the other
   * namespaces of cloneFlags in it (c/namespaces.c join_userns); bunker's shared one
   * (src/container/userns.ts).  The launch prepends the setns op.
   */
  joinUserns?: string;
}

/** the header flag (c/shim.h BK_JOIN_USERNS): the first op joins a user namespace */
export const BK_JOIN_USERNS = 1n << 40n;

// clone(2) flags
export const CLONE_VM = 0x00000100;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;

// mount(2) flags
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_REC = 16384;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;

// mount_setattr(2) attributes
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;
