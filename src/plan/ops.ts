// The wire contract between TypeScript and the C child, in one table: each
// op's code, its fields in the order the child reads them, and the steps it
// can fail at.  src/sys/plan-encode.ts encodes plans by it; gen-header.ts
// turns it into build/ops.h, which c/*.c compiles against (codes, field
// indexes, step numbers, message types), so the two sides cannot drift.
import type { Op } from "./types.ts";

/** an op field: one i64 ("int"), the remaining i64s ("ints"), one string
 * ("str", bytes for a Uint8Array), or a list of strings ("strs": its length is
 * the int field COUNT, or, without one, every string left) */
export type Field =
  | { name: string; type: "int"; countOf?: string }
  | { name: string; type: "ints" }
  | { name: string; type: "str" }
  | { name: string; type: "strs" };

/** a field value: number or bigint, number[], string or Uint8Array, string[] (other keys of the op are ignored) */
type Value = unknown;

export interface OpDef<N extends Op["op"] = Op["op"]> {
  code: number;
  ints: Field[];
  strs: Field[];
  /** the field values by name (count fields are filled in by the encoder) */
  wire(o: Extract<Op, { op: N }>): Record<string, Value>;
}

const int = (name: string, countOf?: string): Field => ({ name, type: "int", countOf });
const ints = (name: string): Field => ({ name, type: "ints" });
const str = (name: string): Field => ({ name, type: "str" });
const strs = (name: string): Field => ({ name, type: "strs" });

/** opflags of MOUNT and BIND */
export const OPFLAGS = { IN_ROOT: 1, MKDIR: 2, MKFILE: 4, RECURSIVE: 8, OPTIONAL: 16 } as const;

const none = () => ({});

export const OPS: { [N in Op["op"]]: OpDef<N> } = {
  mount: {
    code: 1,
    ints: [int("flags"), int("opflags")],
    strs: [str("source"), str("target"), str("fstype"), str("data")],
    wire: (o) => ({ ...o, opflags: OPFLAGS.IN_ROOT | (o.mkfile ? OPFLAGS.MKFILE : OPFLAGS.MKDIR) | (o.optional ? OPFLAGS.OPTIONAL : 0) }),
  },
  bind: {
    code: 2,
    ints: [int("opflags"), int("attrSet"), int("attrClr")],
    strs: [str("source"), str("target")],
    wire: (o) => ({ ...o, opflags: OPFLAGS.IN_ROOT | (o.recursive ? OPFLAGS.RECURSIVE : 0) | (o.optional ? OPFLAGS.OPTIONAL : 0) }),
  },
  symlink: { code: 4, ints: [], strs: [str("target"), str("link")], wire: (o) => o },
  pivot: { code: 5, ints: [int("noPivot")], strs: [], wire: (o) => ({ noPivot: o.noPivot ? 1 : 0 }) },
  setattr: {
    code: 6,
    ints: [int("attrSet"), int("attrClr"), int("recursive")],
    strs: [str("path")],
    wire: (o) => ({ ...o, recursive: o.recursive ? 1 : 0 }),
  },
  mask: { code: 7, ints: [], strs: [str("path")], wire: (o) => o },
  hostname: { code: 8, ints: [], strs: [str("name")], wire: (o) => o },
  domainname: { code: 9, ints: [], strs: [str("name")], wire: (o) => o },
  "lo-up": { code: 10, ints: [], strs: [], wire: none },
  chdir: { code: 11, ints: [], strs: [str("path")], wire: (o) => o },
  rlimit: { code: 12, ints: [int("resource"), int("soft"), int("hard")], strs: [], wire: (o) => o },
  user: { code: 13, ints: [int("uid"), int("gid"), ints("groups")], strs: [], wire: (o) => o },
  caps: {
    code: 14,
    ints: [int("stage"), int("bounding"), int("effective"), int("permitted"), int("inheritable"), int("ambient")],
    strs: [],
    wire: (o) => o,
  },
  nnp: { code: 15, ints: [], strs: [], wire: none },
  seccomp: { code: 16, ints: [int("flags")], strs: [str("filter")], wire: (o) => o },
  pty: { code: 17, ints: [int("rows"), int("cols")], strs: [], wire: (o) => o },
  setsid: { code: 18, ints: [], strs: [], wire: none },
  "fifo-open": { code: 19, ints: [], strs: [str("path")], wire: (o) => o },
  "fifo-wait": { code: 20, ints: [int("exe")], strs: [], wire: (o) => ({ exe: o.exe ?? -1 }) },
  write: { code: 21, ints: [], strs: [str("path"), str("content")], wire: (o) => o },
  umask: { code: 22, ints: [int("mask")], strs: [], wire: (o) => o },
  "close-fds": { code: 23, ints: [int("first")], strs: [], wire: (o) => ({ first: 3 + o.preserve }) },
  "stdin-null": { code: 24, ints: [], strs: [], wire: none },
  init: { code: 25, ints: [int("exe")], strs: [], wire: (o) => ({ exe: o.exe ?? -1 }) },
  exec: {
    code: 26,
    ints: [int("argc", "args"), int("envc", "env")],
    strs: [str("file"), strs("args"), strs("env")],
    wire: (o) => o,
  },
  rootfs: {
    code: 27,
    ints: [int("mount"), int("propagation")],
    strs: [str("path"), str("fstype"), str("data")],
    wire: (o) => ({ mount: o.mount ? (o.mount.tmpfsUpper ? 2 : 1) : 0, propagation: o.propagation, path: o.path, fstype: o.mount?.fstype ?? "", data: o.mount?.data ?? "" }),
  },
  setns: { code: 28, ints: [int("nstype"), int("parent")], strs: [str("path")], wire: (o) => ({ ...o, parent: o.parent ? 1 : 0 }) },
  fork: { code: 29, ints: [int("waitGo")], strs: [], wire: (o) => ({ waitGo: o.waitGo ? 1 : 0 }) },
  pdeathsig: { code: 30, ints: [int("signal")], strs: [], wire: (o) => o },
  stdio: { code: 31, ints: [int("stdin"), int("stdout"), int("stderr")], strs: [], wire: (o) => o },
  "exit-file": { code: 32, ints: [], strs: [str("path")], wire: (o) => o },
  "copyup-open": { code: 33, ints: [], strs: [str("path")], wire: (o) => o },
  copyup: { code: 34, ints: [int("root")], strs: [str("path")], wire: (o) => ({ path: o.path, root: o.root ? 1 : 0 }) },
  hook: {
    code: 35,
    ints: [int("index"), int("timeout"), int("argc", "args"), int("envc", "env")],
    strs: [str("path"), str("stateBeforePid"), str("stateAfterPid"), strs("args"), strs("env")],
    wire: (o) => o,
  },
  nondumpable: { code: 36, ints: [], strs: [], wire: none },
  hold: { code: 48, ints: [], strs: [], wire: none },
  mknod: { code: 37, ints: [int("mode"), int("major"), int("minor"), int("uid"), int("gid")], strs: [str("path")], wire: (o) => o },
  lock: { code: 38, ints: [int("flags")], strs: [str("uidMap"), str("gidMap")], wire: (o) => o },
  "chown-tree": { code: 40, ints: [], strs: [str("path")], wire: (o) => o },
  "copy-layers": { code: 41, ints: [int("copierOwns")], strs: [str("dest"), str("opaqueXattr"), strs("layers")], wire: (o) => ({ ...o, copierOwns: o.copierOwns ? 1 : 0 }) },
  "remove-tree": { code: 42, ints: [], strs: [str("path")], wire: (o) => o },
  dup: { code: 43, ints: [int("fd"), int("to")], strs: [], wire: (o) => o },
  "chdir-in-root": { code: 44, ints: [], strs: [str("root"), str("path")], wire: (o) => o },
  "copy-into": {
    code: 45,
    ints: [int("overwriteDirNonDir")],
    strs: [str("from"), str("root"), str("path")],
    wire: (o) => ({ ...o, overwriteDirNonDir: o.overwriteDirNonDir ? 1 : 0 }),
  },
};

/**
 * What the child was doing when an op failed (the report's step): one list
 * for all ops, since helpers (resolving a path in the root, bringing up lo,
 * the exec.fifo wait) serve several.  The child names them by BK_STEP_* (the
 * name upper-cased, other characters as _); 0 is "no step".
 */
export const STEPS = [
  "open", "open source", "open target", "open parent", "open /dev/null", "open exec.fifo",
  "target is a symlink", "mount", "bind", "make / private", "mount tmpfs", "mkdir", "mount_setattr", "stat",
  "symlinkat", "fchdir", "chdir", "pivot_root", "umount old root", "MS_MOVE", "chroot", "reopen root",
  "sethostname", "setdomainname", "socket", "SIOCGIFFLAGS", "SIOCSIFFLAGS", "pipe", "clone", "unshare",
  "write id maps", "getcwd", "outside the root", "prlimit", "setgroups", "PR_SET_KEEPCAPS", "setresgid",
  "setresuid", "PR_CAPBSET_DROP", "capset", "PR_CAP_AMBIENT_CLEAR_ALL", "PR_CAP_AMBIENT_RAISE",
  "PR_SET_NO_NEW_PRIVS", "filter size", "seccomp", "send listener", "TIOCSPTLCK", "TIOCGPTPEER", "setsid",
  "TIOCSCTTY", "dup2", "send terminal", "faccessat2", "write exec.fifo", "write", "F_DUPFD_CLOEXEC",
  "F_SETFD", "argument count", "look up", "execve", "setns", "NS_GET_PARENT", "PR_SET_PDEATHSIG",
  "PR_SET_DUMPABLE", "copy", "hook", "name", "mknod", "fchownat", "fchmodat", "chown", "mmap", "merge layer", "fchmod", "futimens",
  "root owner", "not a user namespace", "unknown op", "no exec op",
  "directory onto a non-directory", "non-directory onto a directory",
] as const;
export type Step = (typeof STEPS)[number];

/** the name of step number N (1-based), or undefined for 0 and unknown numbers */
export const stepName = (n: number): Step | undefined => STEPS[n - 1];

/** the number the child reports STEP by (its BK_STEP_*) */
export const stepNumber = (step: Step): number => STEPS.indexOf(step) + 1;

/** message types on the sync socket, child -> parent: u32 type, i32 op index, i32 errno, i32 step, i32 arg */
export const MESSAGES = {
  /** an op failed: op, errno, step, arg (a capability, an fd, a hook's index, an unknown op code) */
  ERROR: 0x45,
  /** the pty master comes with SCM_RIGHTS */
  PTY: 0x50,
  /** create: set up, now waiting on exec.fifo */
  READY: 0x52,
  /** op = the pid (in bunker's pid namespace) of the forked process */
  PID: 0x4b,
  /** the seccomp listener (SCM_RIGHTS) of a filter with SCMP_ACT_NOTIFY; the child waits for a "go" */
  SECCOMP: 0x53,
  /** pivot_root refused (EINVAL: an initramfs root): MS_MOVE + chroot was used (for --debug) */
  NOTE: 0x4e,
  /** the hold op: set up, waiting for a "go" before the process ops */
  HOLD: 0x48,
} as const;

/** the plan's magic ("BKP1") and the header flag of a plan whose first op joins a user namespace */
export const MAGIC = 0x31504b42;
