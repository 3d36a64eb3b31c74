// The wire contract, both ends: plans encoded by the TypeScript encoder
// (src/sys/plan-encode.ts) are decoded by the child's decoder (c/wire.c, in
// build/wire-decode with the layouts generated from src/plan/ops.ts) and
// every field must come out as it went in.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPS, type OpDef } from "../../src/plan/ops.ts";
import * as K from "../../src/plan/types.ts";
import type { Op } from "../../src/plan/types.ts";
import { encodePlan } from "../../src/sys/plan-encode.ts";

const DECODER = join(import.meta.dir, "../../build/wire-decode");

/** one of each op, fields with values unlike their neighbours' */
const SAMPLES: { [N in Op["op"]]: Extract<Op, { op: N }> } = {
  mount: { op: "mount", source: "tmpfs", target: "/dev", fstype: "tmpfs", flags: K.MS_NOSUID | K.MS_STRICTATIME, data: "mode=755,size=65536k", mkfile: true, optional: true },
  bind: { op: "bind", source: "/h/src", target: "/c/dst", recursive: true, optional: true, attrSet: K.MOUNT_ATTR_RDONLY, attrClr: K.MOUNT_ATTR_NOSUID },
  symlink: { op: "symlink", target: "usr/bin", link: "/bin" },
  pivot: { op: "pivot", noPivot: true },
  setattr: { op: "setattr", path: "/sys", attrSet: K.MOUNT_ATTR_RDONLY | K.MOUNT_ATTR_NOEXEC, attrClr: 0, recursive: true },
  mask: { op: "mask", path: "/proc/kcore" },
  hostname: { op: "hostname", name: "box-ü" },
  domainname: { op: "domainname", name: "example.org" },
  "lo-up": { op: "lo-up" },
  chdir: { op: "chdir", path: "/home/user" },
  rlimit: { op: "rlimit", resource: 7, soft: 1024n, hard: -1n },
  user: { op: "user", uid: 1000, gid: 100, groups: [10, 20, 4294967294] },
  caps: { op: "caps", stage: 1, bounding: (1n << 40n) | 5n, effective: 1n << 63n, permitted: 0xffffffffffn, inheritable: 0n, ambient: 1n << 21n },
  nnp: { op: "nnp" },
  seccomp: { op: "seccomp", filter: new Uint8Array([0x20, 0, 0, 0, 4, 0, 0, 0, 0x15, 0, 0, 1, 0x3e, 0, 0, 0xc0]), flags: 8 },
  pty: { op: "pty", rows: 24, cols: 132 },
  setsid: { op: "setsid" },
  "fifo-open": { op: "fifo-open", path: "/run/bunker/c1/exec.fifo" },
  "fifo-wait": { op: "fifo-wait", exe: 9 },
  write: { op: "write", path: "/proc/self/oom_score_adj", content: "-500" },
  umask: { op: "umask", mask: 0o27 },
  "close-fds": { op: "close-fds", preserve: 2 },
  "stdin-null": { op: "stdin-null" },
  init: { op: "init" },
  exec: { op: "exec", file: "/bin/sh", args: ["sh", "-c", "echo $X", ""], env: ["X=1", "PATH=/bin"] },
  rootfs: { op: "rootfs", path: "/s/c1", mount: { fstype: "overlay", data: "lowerdir=/a:/b,userxattr", tmpfsUpper: true }, propagation: K.MS_SLAVE },
  setns: { op: "setns", path: "/proc/42/ns/user", nstype: K.CLONE_NEWUSER, parent: true },
  fork: { op: "fork", waitGo: true },
  pdeathsig: { op: "pdeathsig", signal: 9 },
  stdio: { op: "stdio", stdin: -1, stdout: 5, stderr: 6 },
  "exit-file": { op: "exit-file", path: "/s/c1/exit" },
  "copyup-open": { op: "copyup-open", path: "/etc" },
  copyup: { op: "copyup", path: "/etc", root: true },
  hook: { op: "hook", index: 3, path: "/usr/bin/hook", args: ["hook", "--x"], env: ["A=b"], timeout: 30, stateBeforePid: '{"pid":', stateAfterPid: ',"id":"c1"}' },
  nondumpable: { op: "nondumpable" },
  hold: { op: "hold" },
  mknod: { op: "mknod", path: "/dev/fuse", mode: 0o020666, major: 10, minor: 229, uid: 0, gid: 5 },
  lock: { op: "lock", flags: K.CLONE_NEWUSER | K.CLONE_NEWNS, uidMap: "0 0 65536\n", gidMap: "0 0 1\n" },
  "chown-tree": { op: "chown-tree", path: "/s/layers/abc" },
  "copy-layers": { op: "copy-layers", dest: "/s/copy", layers: ["/l/0", "/l/1", "/l/2"], opaqueXattr: "user.overlay.opaque", copierOwns: true },
  "remove-tree": { op: "remove-tree", path: "/s/state/rootfs" },
  dup: { op: "dup", fd: 7, to: 1 },
  "chdir-in-root": { op: "chdir-in-root", root: "/proc/42/root", path: "/etc/../usr" },
  "copy-into": { op: "copy-into", from: "/d/cp-1", root: "/s/c1/rootfs", path: "/srv", overwriteDirNonDir: true },
};

const hex = (s: string | Uint8Array) => Buffer.from(typeof s === "string" ? new TextEncoder().encode(s) : s).toString("hex");
const i64 = (v: number | bigint) => BigInt.asIntN(64, BigInt(v)).toString();

/** the lines decode.c prints for O, from the table's field list and the op's values */
function expected(o: Op): string[] {
  const def = OPS[o.op] as OpDef;
  const rec = def.wire(o as never) as Record<string, unknown>;
  const lines = [`op ${o.op}`];
  for (const f of def.ints) {
    if (f.type === "ints") (rec[f.name] as number[]).forEach((v, k) => lines.push(`i ${f.name}[${k}] ${i64(v)}`));
    else lines.push(`i ${f.name} ${i64(f.type === "int" && f.countOf ? (rec[f.countOf] as unknown[]).length : (rec[f.name] as number))}`);
  }
  for (const f of def.strs) {
    if (f.type === "strs") (rec[f.name] as string[]).forEach((v, k) => lines.push(`s ${f.name}[${k}] ${hex(v)}`));
    else lines.push(`s ${f.name} ${hex(rec[f.name] as string)}`);
  }
  return lines;
}

function decode(plan: K.Plan): string[] {
  const dir = mkdtempSync(join(tmpdir(), "bunker-wire-"));
  try {
    writeFileSync(join(dir, "plan"), encodePlan(plan));
    const r = Bun.spawnSync([DECODER, join(dir, "plan")]);
    if (r.exitCode !== 0) throw new Error(`wire-decode: ${r.stderr.toString()}`);
    return r.stdout.toString().trimEnd().split("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("TS encodes, C decodes", () => {
  test("the decoder is built (make test-unit builds build/wire-decode)", () => {
    expect(existsSync(DECODER)).toBe(true);
  });

  test("every op of the table has a sample", () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(OPS).sort());
  });

  test("every field of every op, in one plan, comes out as it went in", () => {
    const ops = Object.values(SAMPLES) as Op[];
    const plan: K.Plan = { cloneFlags: K.CLONE_NEWUSER | K.CLONE_NEWPID, ops, joinUserns: "/proc/self/fd/5" };
    expect(decode(plan)).toEqual([`flags ${BigInt(K.CLONE_NEWUSER | K.CLONE_NEWPID) | K.BK_JOIN_USERNS}`, ...ops.flatMap(expected)]);
  });

  test("the fields the table derives reach the child as the shim reads them", () => {
    const out = decode({ cloneFlags: 0, ops: [SAMPLES.mount, SAMPLES.exec, SAMPLES["close-fds"], SAMPLES.init, SAMPLES.caps] });
    // opflags: IN_ROOT | MKFILE | OPTIONAL
    expect(out).toContain("i opflags 21");
    expect(out).toContain("i argc 4");
    expect(out).toContain("i envc 2");
    expect(out).toContain(`s args[3] `);
    expect(out).toContain("i first 5");
    expect(out).toContain("i exe -1"); // init without the monitor's memfd
    expect(out).toContain(`i effective ${-(1n << 63n)}`);
  });

  test("empty lists and strings", () => {
    expect(decode({ cloneFlags: 0, ops: [{ op: "user", uid: 0, gid: 0, groups: [] }, { op: "exec", file: "", args: [], env: [] }, { op: "copy-layers", dest: "/d", layers: [], opaqueXattr: "o", copierOwns: false }] })).toEqual([
      "flags 0", "op user", "i uid 0", "i gid 0", "op exec", "i argc 0", "i envc 0", "s file ", "op copy-layers", "i copierOwns 0", `s dest ${hex("/d")}`, `s opaqueXattr ${hex("o")}`,
    ]);
  });
});
