// Encodes a Plan into the flat buffer c/shim.c reads (layout in c/shim.h).
import { BK_JOIN_USERNS, type Op, type Plan } from "../plan/types.ts";

const CODES: Record<Op["op"], number> = {
  mount: 1, bind: 2, mkdir: 3, symlink: 4, pivot: 5, setattr: 6, mask: 7, hostname: 8, domainname: 9,
  "lo-up": 10, chdir: 11, rlimit: 12, user: 13, caps: 14, nnp: 15, seccomp: 16, pty: 17, setsid: 18,
  "fifo-open": 19, "fifo-wait": 20, write: 21, umask: 22, "close-fds": 23, "stdin-null": 24, init: 25,
  exec: 26, rootfs: 27, setns: 28, fork: 29, pdeathsig: 30, stdio: 31, "exit-file": 32,
  "copyup-open": 33, copyup: 34, hook: 35, nondumpable: 36, mknod: 37, lock: 38,
  "chown-tree": 40,
  "copy-layers": 41,
};

// opflags (c/shim.h)
const IN_ROOT = 1, MKDIR = 2, MKFILE = 4, RECURSIVE = 8, OPTIONAL = 16;

/** the op's ints and strings, in the order c/shim.c reads them */
function fields(o: Op): { ints: (bigint | number)[]; strs: (string | Uint8Array)[] } {
  switch (o.op) {
    case "rootfs": return { ints: [o.mount ? (o.mount.tmpfsUpper ? 2 : 1) : 0, o.propagation], strs: [o.path, o.mount?.fstype ?? "", o.mount?.data ?? ""] };
    case "mount": return { ints: [o.flags, IN_ROOT | (o.mkfile ? MKFILE : MKDIR) | (o.optional ? OPTIONAL : 0)], strs: [o.source, o.target, o.fstype, o.data] };
    case "bind": return { ints: [IN_ROOT | (o.recursive ? RECURSIVE : 0) | (o.optional ? OPTIONAL : 0), o.attrSet, o.attrClr], strs: [o.source, o.target] };
    case "mkdir": return { ints: [], strs: [o.path] };
    case "symlink": return { ints: [], strs: [o.target, o.link] };
    case "pivot": return { ints: [o.noPivot ? 1 : 0], strs: [] };
    case "setattr": return { ints: [o.attrSet, o.attrClr, o.recursive ? 1 : 0], strs: [o.path] };
    case "mask": return { ints: [], strs: [o.path] };
    case "mknod": return { ints: [o.mode, o.major, o.minor, o.uid, o.gid], strs: [o.path] };
    case "hostname":
    case "domainname": return { ints: [], strs: [o.name] };
    case "chdir": return { ints: [], strs: [o.path] };
    case "rlimit": return { ints: [o.resource, o.soft, o.hard], strs: [] };
    case "user": return { ints: [o.uid, o.gid, ...o.groups], strs: [] };
    case "caps": return { ints: [o.stage, o.bounding, o.effective, o.permitted, o.inheritable, o.ambient], strs: [] };
    case "seccomp": return { ints: [o.flags], strs: [o.filter] };
    case "pty": return { ints: [o.rows, o.cols], strs: [] };
    case "fifo-open": return { ints: [], strs: [o.path] };
    case "write": return { ints: [], strs: [o.path, o.content] };
    case "umask": return { ints: [o.mask], strs: [] };
    case "close-fds": return { ints: [3 + o.preserve], strs: [] };
    case "exec": return { ints: [o.args.length, o.env.length], strs: [o.file, ...o.args, ...o.env] };
    case "setns": return { ints: [o.nstype, o.parent ? 1 : 0], strs: [o.path] };
    case "lock": return { ints: [o.flags], strs: [o.uidMap, o.gidMap] };
    case "pdeathsig": return { ints: [o.signal], strs: [] };
    case "stdio": return { ints: [], strs: [o.log] };
    case "copyup": return { ints: [o.root ? 1 : 0], strs: [o.path] };
    case "exit-file":
    case "copyup-open":
    case "chown-tree": return { ints: [], strs: [o.path] };
    case "copy-layers": return { ints: [], strs: [o.dest, ...o.layers] };
    case "hook": return { ints: [o.index, o.timeout, o.args.length, o.env.length], strs: [o.path, o.stateBeforePid, o.stateAfterPid, ...o.args, ...o.env] };
    case "init":
    case "fifo-wait": return { ints: o.exe === undefined ? [] : [o.exe], strs: [] };
    case "fork": return { ints: o.waitGo ? [1] : [], strs: [] };
    case "lo-up":
    case "nnp":
    case "nondumpable":
    case "setsid":
    case "stdin-null": return { ints: [], strs: [] };
  }
}

const enc = new TextEncoder();

/**
 * One pass into a growing buffer: strings encoded in place (encodeInto), ints
 * that fit 32 bits written as two words.  The first version's BigInt per int
 * and encoded copy per string cost ~1 ms of cold JavaScript on run's hot path.
 */
export function encodePlan(plan: Plan): Uint8Array {
  let buf = new Uint8Array(16384);
  let dv = new DataView(buf.buffer);
  let p = 16;
  const room = (n: number) => {
    if (p + n <= buf.length) return;
    const bigger = new Uint8Array(Math.max(buf.length * 2, p + n));
    bigger.set(buf.subarray(0, p));
    buf = bigger;
    dv = new DataView(buf.buffer);
  };
  dv.setUint32(0, 0x31504b42, true);
  dv.setUint32(4, plan.ops.length, true);
  dv.setBigUint64(8, BigInt(plan.cloneFlags) | (plan.joinUserns ? BK_JOIN_USERNS : 0n), true);
  for (const o of plan.ops) {
    const { ints, strs } = fields(o);
    room(16 + 8 * ints.length);
    dv.setUint32(p, CODES[o.op], true);
    dv.setUint32(p + 4, ints.length, true);
    dv.setUint32(p + 8, strs.length, true);
    p += 16;
    for (const v of ints) {
      if (typeof v === "number" && v >= -0x80000000 && v <= 0x7fffffff && Number.isInteger(v)) {
        dv.setInt32(p, v, true);
        dv.setInt32(p + 4, v < 0 ? -1 : 0, true);
      } else dv.setBigInt64(p, BigInt.asIntN(64, BigInt(v)), true);
      p += 8;
    }
    for (const s of strs) {
      // UTF-8 is at most 3 bytes per UTF-16 unit
      room(4 + (typeof s === "string" ? 3 * s.length : s.length) + 8);
      let n: number;
      if (typeof s === "string") n = enc.encodeInto(s, buf.subarray(p + 4)).written;
      else {
        buf.set(s, p + 4);
        n = s.length;
      }
      dv.setUint32(p, n, true);
      p += (4 + n + 1 + 7) & ~7;
    }
  }
  return buf.subarray(0, p);
}
