// The seccomp compiler, checked two ways: its BPF run through a small
// classic-BPF interpreter gives the expected action for simulated syscalls,
// and gives the same decisions as libseccomp's BPF for the same profile.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  compileSeccomp,
  SECCOMP_ACTIONS,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  syscallNames,
  syscallNumber,
  X32_SYSCALL_BIT,
  type SyscallArch,
} from "../../src/oci/seccomp.ts";
import type { Seccomp, SeccompSyscall } from "../../src/oci/spec.ts";
import { libseccomp, libseccompFilter, resolveName, resolveNameArch, type NativeRule } from "../../src/sys/seccomp-native.ts";
import { BunkerError } from "../../src/errors.ts";
import { CLONE_NAMESPACE_FLAGS, dockerDefaultSeccomp } from "../../src/oci/default-seccomp.ts";
import { CAPABILITIES, DOCKER_DEFAULT_CAPS } from "../../src/oci/caps.ts";

// ---- a classic BPF interpreter over struct seccomp_data ----

interface SeccompData {
  nr: number;
  arch: number;
  args?: bigint[];
}

function seccompData(d: SeccompData): DataView {
  const v = new DataView(new ArrayBuffer(64));
  v.setInt32(0, d.nr, true);
  v.setUint32(4, d.arch, true);
  v.setBigUint64(8, 0x401000n, true);
  (d.args ?? []).forEach((a, i) => v.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), true));
  return v;
}

/** Runs PROG like the kernel's seccomp (classic BPF, 32-bit A and X, 16 scratch words). */
function runBpf(prog: Uint8Array, d: SeccompData): number {
  const data = seccompData(d);
  const code = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const n = prog.byteLength / 8;
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    if (steps > 100000) throw new Error("loop");
    const op = code.getUint16(pc * 8, true);
    const jt = code.getUint8(pc * 8 + 2);
    const jf = code.getUint8(pc * 8 + 3);
    const k = code.getUint32(pc * 8 + 4, true);
    const cls = op & 0x07;
    const src = op & 0x08 ? X : k;
    switch (cls) {
      case 0x00: // LD
        if (op === 0x20) {
          if (k % 4 || k > 60) throw new Error(`bad load offset ${k}`);
          A = data.getUint32(k, true);
        } else if (op === 0x00) A = k;
        else if (op === 0x60) A = mem[k]!;
        else throw new Error(`unsupported ld ${op.toString(16)}`);
        break;
      case 0x01: // LDX
        if (op === 0x01) X = k;
        else if (op === 0x61) X = mem[k]!;
        else throw new Error(`unsupported ldx ${op.toString(16)}`);
        break;
      case 0x02: mem[k] = A; break; // ST
      case 0x03: mem[k] = X; break; // STX
      case 0x04: { // ALU
        const f = op & 0xf0;
        const r = f === 0x00 ? A + src : f === 0x10 ? A - src : f === 0x20 ? Math.imul(A, src)
          : f === 0x30 ? Math.floor(A / src) : f === 0x40 ? A | src : f === 0x50 ? A & src
          : f === 0x60 ? A << src : f === 0x70 ? A >>> src : f === 0x80 ? -A : f === 0x90 ? A % src : A ^ src;
        A = r >>> 0;
        break;
      }
      case 0x05: { // JMP
        const f = op & 0xf0;
        if (f === 0x00) {
          pc += k;
          break;
        }
        const s = src >>> 0;
        const cond = f === 0x10 ? A === s : f === 0x20 ? A > s : f === 0x30 ? A >= s : (A & s) !== 0;
        pc += cond ? jt : jf;
        break;
      }
      case 0x06: return (op & 0x10 ? A : k) >>> 0; // RET
      case 0x07: if (op & 0x80) A = X; else X = A; break; // MISC: TXA / TAX
    }
    if (pc + 1 > n) throw new Error("jump past the end");
  }
  throw new Error("fell off the end of the program");
}

const x64 = (name: string, args: bigint[] = []): SeccompData => ({ nr: syscallNumber("x86_64", name)!, arch: AUDIT_ARCH_X86_64, args });
const i386 = (name: string, args: bigint[] = []): SeccompData => ({ nr: syscallNumber("x86", name)!, arch: AUDIT_ARCH_I386, args });
const x32 = (name: string, args: bigint[] = []): SeccompData => ({ nr: syscallNumber("x32", name)!, arch: AUDIT_ARCH_X86_64, args });
const EPERM = SECCOMP_RET_ERRNO | 1;

describe("syscall tables", () => {
  test("well-known numbers", () => {
    expect(syscallNumber("x86_64", "read")).toBe(0);
    expect(syscallNumber("x86_64", "openat")).toBe(257);
    expect(syscallNumber("x86_64", "clone3")).toBe(435);
    expect(syscallNumber("x86_64", "mseal")).toBe(462);
    expect(syscallNumber("x86", "openat")).toBe(295);
    expect(syscallNumber("x86", "socketcall")).toBe(102);
    expect(syscallNumber("x86_64", "socketcall")).toBeUndefined();
    expect(syscallNumber("x32", "read")).toBe(X32_SYSCALL_BIT);
    expect(syscallNumber("x32", "rt_sigaction")).toBe(X32_SYSCALL_BIT + 512);
    expect(syscallNumber("x86", "map_shadow_stack")).toBeUndefined();
  });
});

describe("Docker's default profile (run's default)", () => {
  const ENOSYS = SECCOMP_RET_ERRNO | 38;
  const CLONE_THREAD_FLAGS = 0x3d0f00n; // what glibc's pthread_create passes
  const CLONE_NEWUSER = 0x10000000n;
  const compiled = (caps: readonly string[]) => compileSeccomp(dockerDefaultSeccomp(caps), { failUnknown: true });

  test("compiles with every name known, within the kernel's limit", () => {
    const c = compiled(DOCKER_DEFAULT_CAPS);
    expect(c.unknownSyscalls).toEqual([]);
    expect(c.program.byteLength / 8).toBeLessThan(4096);
    expect(compiled(CAPABILITIES).unknownSyscalls).toEqual([]);
  });

  test("rets shared (shareRets): far fewer instructions, the same decision for every number of each arch and the compared argument values", () => {
    for (const caps of [DOCKER_DEFAULT_CAPS, CAPABILITIES, DOCKER_DEFAULT_CAPS.filter((c) => c !== "CAP_SYS_CHROOT")]) {
      const profile = dockerDefaultSeccomp(caps);
      const shared = compileSeccomp(profile, { failUnknown: true }).program;
      const plain = compileSeccomp(profile, { failUnknown: true, shareRets: false }).program;
      expect(shared.byteLength).toBeLessThan(plain.byteLength * 0.7);
      const values = new Set<bigint>([0n, 1n, 17n, 0xffffffffn, 0xffffffffffffffffn, CLONE_THREAD_FLAGS, CLONE_NEWUSER | 17n]);
      for (const e of profile.syscalls ?? [])
        for (const a of e.args ?? []) for (const v of [a.value, a.valueTwo ?? 0]) for (const d of [-1, 0, 1]) values.add(BigInt.asUintN(64, BigInt(v) + BigInt(d)));
      const argSets = [...values].map((v) => [v, v, v, v, v, v]);
      let runs = 0;
      for (const [arch, base] of [[AUDIT_ARCH_X86_64, 0], [AUDIT_ARCH_X86_64, X32_SYSCALL_BIT], [AUDIT_ARCH_I386, 0], [0xc00000b7, 0]] as const)
        for (let nr = -1; nr < 600; nr++)
          for (const args of argSets) {
            const d = { nr: nr < 0 ? -1 : base + nr, arch, args };
            const want = runBpf(plain, d);
            if (runBpf(shared, d) !== want) expect([arch, nr, args, runBpf(shared, d)]).toEqual([arch, nr, args, want]);
            runs++;
          }
      expect(runs).toBeGreaterThan(50000);
    }
  });

  test("the allow-list and EPERM for the rest; clone3 ENOSYS; clone without namespace flags; socket but AF_VSOCK; personality", () => {
    const { program } = compiled(DOCKER_DEFAULT_CAPS);
    for (const n of ["read", "openat", "execve", "wait4", "capset", "setresuid", "prctl", "seccomp", "ptrace", "arch_prctl", "chown"])
      expect([n, runBpf(program, x64(n))]).toEqual([n, SECCOMP_RET_ALLOW]);
    for (const n of ["mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "io_uring_setup",
      "init_module", "finit_module", "kexec_load", "reboot", "open_by_handle_at", "pivot_root", "swapon", "userfaultfd", "fsopen", "move_mount"])
      expect([n, runBpf(program, x64(n))]).toEqual([n, EPERM]);
    expect(runBpf(program, x64("clone3"))).toBe(ENOSYS);
    expect(runBpf(program, x64("clone", [CLONE_THREAD_FLAGS]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("clone", [17n]))).toBe(SECCOMP_RET_ALLOW); // fork: SIGCHLD only
    expect(runBpf(program, x64("clone", [CLONE_NEWUSER | 17n]))).toBe(EPERM);
    expect(runBpf(program, x64("clone", [BigInt(CLONE_NAMESPACE_FLAGS)]))).toBe(EPERM);
    expect(runBpf(program, x64("socket", [1n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("socket", [2n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("socket", [40n]))).toBe(EPERM);
    expect(runBpf(program, x64("personality", [0n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("personality", [0xffffffffn]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("personality", [0x400000n]))).toBe(EPERM); // READ_IMPLIES_EXEC
    // the 32-bit ABIs get the same list
    expect(runBpf(program, i386("read"))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, i386("mount"))).toBe(EPERM);
    expect(runBpf(program, x32("read"))).toBe(SECCOMP_RET_ALLOW);
  });

  test("capabilities widen it as in Docker: CAP_SYS_ADMIN allows mount, unshare and namespace clones; CAP_SYS_PTRACE kcmp", () => {
    const admin = compiled([...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"]).program;
    for (const n of ["mount", "umount2", "unshare", "setns", "sethostname", "bpf", "perf_event_open"]) expect([n, runBpf(admin, x64(n))]).toEqual([n, SECCOMP_RET_ALLOW]);
    expect(runBpf(admin, x64("clone3"))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(admin, x64("clone", [CLONE_NEWUSER | 17n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(admin, x64("keyctl"))).toBe(EPERM);
    const ptrace = compiled([...DOCKER_DEFAULT_CAPS, "CAP_SYS_PTRACE"]).program;
    expect(runBpf(ptrace, x64("kcmp"))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(compiled(DOCKER_DEFAULT_CAPS).program, x64("kcmp"))).toBe(EPERM);
    // --cap-drop SYS_CHROOT takes chroot out
    expect(runBpf(compiled(DOCKER_DEFAULT_CAPS.filter((c) => c !== "CAP_SYS_CHROOT")).program, x64("chroot"))).toBe(EPERM);
    expect(runBpf(compiled(DOCKER_DEFAULT_CAPS).program, x64("chroot"))).toBe(SECCOMP_RET_ALLOW);
  });
});

describe("compileSeccomp", () => {
  test("default action and unconditional rules", () => {
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      syscalls: [
        { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["ptrace"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["kill"], action: "SCMP_ACT_KILL" },
        { names: ["tkill"], action: "SCMP_ACT_KILL_THREAD" },
        { names: ["uname"], action: "SCMP_ACT_TRAP" },
        { names: ["getpid"], action: "SCMP_ACT_LOG" },
        { names: ["getppid"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
        { names: ["rmdir"], action: "SCMP_ACT_ERRNO" },
      ],
    });
    expect(program.byteLength % 8).toBe(0);
    expect(runBpf(program, x64("read"))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("exit_group"))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("mkdir"))).toBe(SECCOMP_RET_ERRNO | 13);
    expect(runBpf(program, x64("rmdir"))).toBe(EPERM);
    expect(runBpf(program, x64("ptrace"))).toBe(SECCOMP_RET_KILL_PROCESS);
    expect(runBpf(program, x64("kill"))).toBe(SECCOMP_RET_KILL_THREAD);
    expect(runBpf(program, x64("tkill"))).toBe(SECCOMP_RET_KILL_THREAD);
    expect(runBpf(program, x64("uname"))).toBe(SECCOMP_RET_TRAP);
    expect(runBpf(program, x64("getpid"))).toBe(SECCOMP_RET_LOG);
    expect(runBpf(program, x64("getppid"))).toBe(SECCOMP_RET_TRACE | 7);
    expect(runBpf(program, x64("openat"))).toBe(SECCOMP_RET_ERRNO | 38);
    expect(runBpf(program, { nr: 9999, arch: AUDIT_ARCH_X86_64 })).toBe(SECCOMP_RET_ERRNO | 38);
  });

  test("architectures: i386 and x32 only when listed, other arches killed", () => {
    const rules = [{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }];
    const only64 = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: rules }).program;
    expect(runBpf(only64, x64("getpid"))).toBe(EPERM);
    expect(runBpf(only64, i386("getpid"))).toBe(SECCOMP_RET_KILL_THREAD);
    expect(runBpf(only64, x32("getpid"))).toBe(SECCOMP_RET_KILL_THREAD);
    expect(runBpf(only64, { nr: 20, arch: 0xc00000b7 /* aarch64 */ })).toBe(SECCOMP_RET_KILL_THREAD);

    const all = compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
      syscalls: rules,
    }).program;
    expect(runBpf(all, x64("getpid"))).toBe(EPERM);
    expect(runBpf(all, i386("getpid"))).toBe(EPERM);
    expect(runBpf(all, x32("getpid"))).toBe(EPERM);
    expect(runBpf(all, i386("getppid"))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(all, x32("getppid"))).toBe(SECCOMP_RET_ALLOW);
    // 20 is getpid on i386 but writev on x86_64
    expect(runBpf(all, { nr: 20, arch: AUDIT_ARCH_X86_64 })).toBe(SECCOMP_RET_ALLOW);
  });

  test("64-bit argument comparisons, high and low words", () => {
    const big = 0x1_0000_0005n;
    const ops = ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE"];
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: ops.map((op, i) => ({
        names: [["read", "write", "close", "fstat", "lseek", "mmap"][i]!],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 100 + i,
        args: [{ index: 1, value: Number(big), op }],
      })),
    };
    const { program } = compileSeccomp(profile);
    const expectOp = (op: string, a: bigint) =>
      op === "SCMP_CMP_EQ" ? a === big : op === "SCMP_CMP_NE" ? a !== big : op === "SCMP_CMP_LT" ? a < big
        : op === "SCMP_CMP_LE" ? a <= big : op === "SCMP_CMP_GT" ? a > big : a >= big;
    const values = [0n, 5n, 6n, 0xffffffffn, 0x1_0000_0000n, big - 1n, big, big + 1n, 0x2_0000_0000n, 0xffff_ffff_ffff_ffffn];
    ops.forEach((op, i) => {
      const name = ["read", "write", "close", "fstat", "lseek", "mmap"][i]!;
      for (const v of values) {
        const want = expectOp(op, v) ? SECCOMP_RET_ERRNO | (100 + i) : SECCOMP_RET_ALLOW;
        expect(`${op} ${v}: ${runBpf(program, x64(name, [0n, v]))}`).toBe(`${op} ${v}: ${want}`);
      }
    });
  });

  test("MASKED_EQ, several conditions ANDed, one index twice ORed", () => {
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        // Docker's clone rule: deny namespace flags
        { names: ["clone"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["socket"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 16, op: "SCMP_CMP_EQ" }, { index: 2, value: 9, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_KILL", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }, { index: 0, value: 0x20008, op: "SCMP_CMP_EQ" }] },
      ],
    });
    // MASKED_EQ with datum 0 holds when none of the masked bits are set: "deny" fires for plain clones
    expect(runBpf(program, x64("clone", [0x11n]))).toBe(EPERM);
    expect(runBpf(program, x64("clone", [0x10000000n /* CLONE_NEWUSER */]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("clone", [0x1_0000_0011n]))).toBe(EPERM);
    expect(runBpf(program, x64("socket", [16n, 3n, 9n]))).toBe(EPERM);
    expect(runBpf(program, x64("socket", [16n, 3n, 0n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("socket", [2n, 3n, 9n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("socket", [0x1_0000_0010n, 3n, 9n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("personality", [8n]))).toBe(SECCOMP_RET_KILL_THREAD);
    expect(runBpf(program, x64("personality", [0x20008n]))).toBe(SECCOMP_RET_KILL_THREAD);
    expect(runBpf(program, x64("personality", [0n]))).toBe(SECCOMP_RET_ALLOW);
  });

  test("rules of one syscall: first match wins, then the default", () => {
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["ioctl"], action: "SCMP_ACT_ERRNO", errnoRet: 25, args: [{ index: 1, value: 0x5401, op: "SCMP_CMP_EQ" }] },
        { names: ["ioctl"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 0x5000, op: "SCMP_CMP_GE" }] },
      ],
    });
    expect(runBpf(program, x64("ioctl", [1n, 0x5401n]))).toBe(SECCOMP_RET_ERRNO | 25);
    expect(runBpf(program, x64("ioctl", [1n, 0x5402n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("ioctl", [1n, 0x10n]))).toBe(EPERM);
  });

  test("ORed 64-bit comparisons of one syscall (where libseccomp 2.5.4 errs)", () => {
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["write"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 1, op: "SCMP_CMP_GT" }, { index: 1, value: 2 ** 40, op: "SCMP_CMP_LT" }] }],
    });
    for (const v of [0n, 1n, 2n, 2n ** 40n, 2n ** 41n + 3n]) expect(runBpf(program, x64("write", [0n, v]))).toBe(SECCOMP_RET_ALLOW);
  });

  test("u64 max from JSON (which parses as 2^64) stays all ones", () => {
    const { program } = compileSeccomp(
      JSON.parse('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}'),
    );
    expect(runBpf(program, x64("kill", [0xffff_ffff_ffff_ffffn]))).toBe(EPERM);
    expect(runBpf(program, x64("kill", [0n]))).toBe(SECCOMP_RET_ALLOW);
  });

  test("i386: socket and IPC rules also cover socketcall(2) and ipc(2)", () => {
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [
        { names: ["socket"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 16, op: "SCMP_CMP_EQ" }] },
        { names: ["accept", "shmget"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["connect"], action: "SCMP_ACT_LOG", args: [{ index: 2, value: 16, op: "SCMP_CMP_GT" }] },
      ],
    });
    // arg 0 conditions give way to the call number; the others stay (libseccomp's way)
    expect(runBpf(program, { nr: 102, arch: AUDIT_ARCH_I386, args: [3n, 0n, 17n] })).toBe(SECCOMP_RET_LOG); // SYS_CONNECT
    expect(runBpf(program, { nr: 102, arch: AUDIT_ARCH_I386, args: [3n, 0n, 16n] })).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, i386("socket", [16n]))).toBe(EPERM);
    expect(runBpf(program, i386("socket", [2n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, { nr: 102, arch: AUDIT_ARCH_I386, args: [1n] })).toBe(EPERM); // SYS_SOCKET
    expect(runBpf(program, { nr: 102, arch: AUDIT_ARCH_I386, args: [5n] })).toBe(SECCOMP_RET_KILL_PROCESS); // SYS_ACCEPT
    expect(runBpf(program, { nr: 102, arch: AUDIT_ARCH_I386, args: [4n] })).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, i386("shmget"))).toBe(SECCOMP_RET_KILL_PROCESS);
    expect(runBpf(program, { nr: 117, arch: AUDIT_ARCH_I386, args: [23n] })).toBe(SECCOMP_RET_KILL_PROCESS); // SHMGET
    expect(runBpf(program, { nr: 117, arch: AUDIT_ARCH_I386, args: [21n] })).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("accept"))).toBe(SECCOMP_RET_KILL_PROCESS);
  });

  test("i386 compares the low word only", () => {
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 9, op: "SCMP_CMP_EQ" }] }],
    });
    expect(runBpf(program, i386("kill", [1n, 9n]))).toBe(EPERM);
    expect(runBpf(program, i386("kill", [1n, 15n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(program, x64("kill", [1n, 9n]))).toBe(EPERM);
  });

  test("a large allow-list stays within jump ranges and the instruction limit", () => {
    const names = syscallNames("x86_64");
    const { program } = compileSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names: names.slice(0, 250), action: "SCMP_ACT_ALLOW" },
        { names: names.slice(250), action: "SCMP_ACT_LOG" },
        ...names.slice(0, 40).map((n, i) => ({ names: [n], action: "SCMP_ACT_ERRNO", errnoRet: i + 1, args: [{ index: 0, value: i, op: "SCMP_CMP_EQ" }] })),
      ],
    });
    expect(program.byteLength / 8).toBeLessThan(4096);
    for (const [i, n] of names.entries()) {
      const want = i < 250 ? SECCOMP_RET_ALLOW : SECCOMP_RET_LOG;
      expect(runBpf(program, x64(n, [1000n]))).toBe(want);
      if (syscallNumber("x32", n) !== undefined) expect(runBpf(program, x32(n, [1000n]))).toBe(want);
    }
  });

  test("unknown names: skipped when another arch has them, reported otherwise, or an error", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["socketcall", "arm_fadvise64_64", "no_such_call", "getpid"], action: "SCMP_ACT_ERRNO" }],
    };
    const r = compileSeccomp(profile);
    expect(r.unknownSyscalls).toEqual(["no_such_call"]);
    expect(runBpf(r.program, x64("getpid"))).toBe(EPERM);
    expect(() => compileSeccomp(profile, { failUnknown: true })).toThrow('unknown syscall "no_such_call"');
  });

  test("flags", () => {
    expect(compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }).flags).toBe(6);
    // how a listener waits: nothing without a notify rule (the kernel refuses it without NEW_LISTENER)
    expect(compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }).flags).toBe(0);
  });

  test("SCMP_ACT_NOTIFY: SECCOMP_RET_USER_NOTIF, loaded with NEW_LISTENER; a listenerPath without a notify rule is ignored", () => {
    const notify: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      syscalls: [
        { names: ["mkdir", "getppid"], action: "SCMP_ACT_NOTIFY" },
        { names: ["chmod"], action: "SCMP_ACT_NOTIFY", args: [{ index: 1, value: 0o777, op: "SCMP_CMP_EQ" }] },
        { names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      ],
    };
    const c = compileSeccomp(notify);
    expect(c.flags).toBe(SECCOMP_FILTER_FLAG_NEW_LISTENER);
    expect(runBpf(c.program, x64("mkdir"))).toBe(SECCOMP_RET_USER_NOTIF);
    expect(runBpf(c.program, x64("getppid"))).toBe(SECCOMP_RET_USER_NOTIF);
    expect(runBpf(c.program, x64("chmod", [0n, 0o777n]))).toBe(SECCOMP_RET_USER_NOTIF);
    expect(runBpf(c.program, x64("chmod", [0n, 0o755n]))).toBe(SECCOMP_RET_ALLOW);
    expect(runBpf(c.program, x64("uname"))).toBe((SECCOMP_RET_ERRNO | 38) >>> 0);
    expect(runBpf(c.program, x64("getpid"))).toBe(SECCOMP_RET_ALLOW);
    // TSYNC with a listener: the kernel wants TSYNC_ESRCH too (as libseccomp passes it)
    expect(compileSeccomp({ ...notify, flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }).flags).toBe(1 | 8 | 16 | 32);
    // runc and the runtime-spec: without SCMP_ACT_NOTIFY the listenerPath is ignored
    const plain = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", listenerMetadata: "m", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    expect(plain.flags).toBe(0);
    expect(runBpf(plain.program, x64("mkdir"))).toBe(EPERM);
    // a notify rule needs an agent: the error names the field
    const { listenerPath: _, ...noListener } = notify;
    expect(() => compileSeccomp(noListener)).toThrow(BunkerError);
    expect(() => compileSeccomp(noListener)).toThrow("linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY");
    // the shim's hand-over of the listener (sendmsg) cannot itself wait for the agent
    expect(() => compileSeccomp({ ...notify, syscalls: [...notify.syscalls!, { names: ["recvmsg", "sendmsg"], action: "SCMP_ACT_NOTIFY" }] })).toThrow(
      "linux.seccomp.syscalls[3]: SCMP_ACT_NOTIFY cannot be used for sendmsg (bunker passes the listener on with it)",
    );
    expect(compileSeccomp({ ...notify, syscalls: [...notify.syscalls!, { names: ["sendmsg"], action: "SCMP_ACT_ERRNO" }] }).flags).toBe(SECCOMP_FILTER_FLAG_NEW_LISTENER);
  });
});

// ---- the same decisions as libseccomp ----

const haveLibseccomp = libseccomp() !== undefined;

/** runc's translation of a profile into libseccomp calls */
function nativeProgram(p: Seccomp): Uint8Array {
  const ret = (action: string, errnoRet?: number) =>
    action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE" ? (SECCOMP_ACTIONS[action]! | (errnoRet ?? 1)) >>> 0 : SECCOMP_ACTIONS[action]!;
  const def = ret(p.defaultAction, p.defaultErrnoRet);
  const rules: NativeRule[] = [];
  for (const s of p.syscalls ?? []) {
    const action = ret(s.action, s.errnoRet);
    if (action === def) continue; // libseccomp refuses these; runc skips them
    const args = (s.args ?? []).map((a) => ({ index: a.index, op: a.op, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0) }));
    const repeated = new Set(args.map((a) => a.index)).size < args.length;
    for (const name of s.names) {
      const nr = resolveName(name);
      if (nr === undefined) continue;
      if (repeated) for (const a of args) rules.push({ syscall: nr, action, args: [a] });
      else rules.push({ syscall: nr, action, args });
    }
  }
  return libseccompFilter(def, p.architectures ?? [], rules);
}

/** a deterministic PRNG (mulberry32) so failures reproduce */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// syscalls of x86_64, i386 and x32, then socket and SysV IPC calls (which
// i386 also reaches through socketcall and ipc; accept, semop and semtimedop
// only that way)
const SOCKET_IPC = ["socket", "bind", "connect", "accept", "accept4", "sendto", "recvmsg", "socketpair", "shmget", "shmat", "semop", "semtimedop", "msgget", "semctl"];
const COMMON = [
  "read", "write", "close", "getpid", "kill", "mkdir", "rmdir", "chdir", "dup", "dup2", "pipe2", "ioctl",
  "prctl", "personality", "unshare", "setns", "mount", "umount2", "chroot", "openat", "mknodat", "ptrace",
  "keyctl", "add_key", "bpf", "perf_event_open", "clone", "setuid", "setgid", "uname", "getcwd", "fchmodat",
];
const ACTIONS = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"];
const OPS = ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"];
const ARCHES = { x86_64: AUDIT_ARCH_X86_64, x86: AUDIT_ARCH_I386, x32: AUDIT_ARCH_X86_64 } as const;

function randomProfile(r: () => number, wide: boolean): Seccomp {
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const value = () => (wide && r() < 0.3 ? pick([0x1_0000_0000, 0x1_0000_0001, 0x7_0000_0010, 2 ** 40]) : pick([0, 1, 2, 8, 9, 0x10, 0xff, 0xffffffff]));
  // libseccomp 2.5.4 merges ORed 64-bit comparisons of one syscall wrongly
  // (a GT after a failed LT tests the low word as if it were the high one):
  // with 64-bit values an index appears at most once (ANDed conditions only)
  const randomArgs = (n: number) => {
    const args = new Map<number, NonNullable<SeccompSyscall["args"]>[number]>();
    for (let k = 0; k < n; k++) {
      const index = Math.floor(r() * (r() < 0.3 ? 2 : 6));
      args.set(wide ? index : k, { index, value: value(), valueTwo: value(), op: pick(OPS) });
    }
    return [...args.values()];
  };
  const names = [...COMMON, ...SOCKET_IPC].sort(() => r() - 0.5);
  const syscalls: Seccomp["syscalls"] = [];
  for (let i = 0; i < 16 && names.length; i++) {
    const n = 1 + Math.floor(r() * 3);
    const action = pick(ACTIONS);
    const nargs = r() < 0.4 ? 0 : 1 + Math.floor(r() * 3);
    syscalls.push({
      names: names.splice(0, n),
      action,
      errnoRet: action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE" ? (r() < 0.5 ? undefined : 1 + Math.floor(r() * 100)) : undefined,
      args: randomArgs(nargs),
    });
  }
  return {
    defaultAction: pick(ACTIONS),
    defaultErrnoRet: r() < 0.5 ? undefined : 1 + Math.floor(r() * 100),
    architectures: wide ? ["SCMP_ARCH_X86_64"] : ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls,
  };
}

describe.skipIf(!haveLibseccomp)("against libseccomp", () => {
  test("our x86_64, i386 and x32 numbers are libseccomp's", () => {
    for (const [arch, token] of [["x86_64", "SCMP_ARCH_X86_64"], ["x86", "SCMP_ARCH_X86"], ["x32", "SCMP_ARCH_X32"]] as const) {
      let compared = 0;
      for (const name of syscallNames(arch)) {
        const theirs = resolveNameArch(token, name);
        // libseccomp 2.5.4 predates the newest syscalls; negative = pseudo (not on this arch)
        if (theirs === undefined || theirs < 0) continue;
        expect(`${arch} ${name} ${syscallNumber(arch as SyscallArch, name)}`).toBe(`${arch} ${name} ${theirs}`);
        compared++;
      }
      expect(compared).toBeGreaterThan(300);
    }
  });

  const decisions = (prog: Uint8Array, wide: boolean, seed: number): string[] => {
    const r = rng(seed);
    const out: string[] = [];
    const arches = wide ? (["x86_64"] as const) : (["x86_64", "x86", "x32"] as const);
    for (const name of [...COMMON, ...SOCKET_IPC]) {
      for (const arch of arches) {
        if (syscallNumber(arch, name) === undefined) continue;
        for (let k = 0; k < 6; k++) {
          const args = Array.from({ length: 6 }, () =>
            BigInt(wide && r() < 0.3 ? [0x1_0000_0000, 0x1_0000_0001, 0x7_0000_0010, 2 ** 40, 2 ** 40 + 9][Math.floor(r() * 5)]! : [0, 1, 2, 8, 9, 0x10, 0xff, 0xffffffff, 3][Math.floor(r() * 9)]!),
          );
          const d = { nr: syscallNumber(arch, name)!, arch: ARCHES[arch], args };
          out.push(`${arch} ${name}(${args.join(",")}) -> ${runBpf(prog, d).toString(16)}`);
        }
      }
    }
    // i386's multiplexers with every call number
    if (!wide) {
      for (let call = 0; call <= 25; call++) {
        out.push(`socketcall(${call}) -> ${runBpf(prog, { nr: 102, arch: AUDIT_ARCH_I386, args: [BigInt(call), 16n] }).toString(16)}`);
        out.push(`ipc(${call}) -> ${runBpf(prog, { nr: 117, arch: AUDIT_ARCH_I386, args: [BigInt(call), 16n] }).toString(16)}`);
      }
    }
    // syscalls no rule names, the x32 bit, other arches
    out.push(`getppid -> ${runBpf(prog, x64("getppid")).toString(16)}`);
    out.push(`x32 bit -> ${runBpf(prog, { nr: X32_SYSCALL_BIT | 39, arch: AUDIT_ARCH_X86_64 }).toString(16)}`);
    out.push(`aarch64 -> ${runBpf(prog, { nr: 20, arch: 0xc00000b7 }).toString(16)}`);
    if (wide) out.push(`i386 -> ${runBpf(prog, { nr: 20, arch: AUDIT_ARCH_I386 }).toString(16)}`);
    return out;
  };

  for (const wide of [true, false]) {
    test(`random profiles (${wide ? "x86_64, 64-bit values" : "x86_64 + x86 + x32, 32-bit values"}) decide as libseccomp does`, () => {
      for (let seed = 1; seed <= 60; seed++) {
        const p = randomProfile(rng(seed * 7919 + (wide ? 1 : 2)), wide);
        const ours = compileSeccomp(p).program;
        const theirs = nativeProgram(p);
        // the profile is in the diff context when they differ
        expect({ p, d: decisions(ours, wide, seed) }).toEqual({ p, d: decisions(theirs, wide, seed) });
      }
    }, 30000);
  }

  test("a Docker-like profile decides as libseccomp does", () => {
    const names = COMMON.filter((n) => !["mount", "umount2", "unshare", "setns", "ptrace", "keyctl", "add_key", "bpf", "perf_event_open", "clone", "personality"].includes(n));
    const p: Seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names, action: "SCMP_ACT_ALLOW" },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 4294967295, op: "SCMP_CMP_EQ" }] },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
      ],
    };
    expect(decisions(compileSeccomp(p).program, false, 1)).toEqual(decisions(nativeProgram(p), false, 1));
  });

  test("SCMP_ACT_NOTIFY rules decide as libseccomp's", () => {
    const p: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names: ["mkdir", "mkdirat", "getcwd"], action: "SCMP_ACT_NOTIFY" },
        { names: ["fchmodat"], action: "SCMP_ACT_NOTIFY", args: [{ index: 2, value: 0o7000, valueTwo: 0o4000, op: "SCMP_CMP_MASKED_EQ" }] },
        { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 3 },
      ],
    };
    expect(decisions(compileSeccomp(p).program, false, 2)).toEqual(decisions(nativeProgram(p), false, 2));
  });
});

// ---- the kernel itself: it accepts the program and enforces it ----

// python3's ctypes installs the filter (after no_new_privs) and execs the command
const LOADER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
prog = open(sys.argv[1], "rb").read()
buf = ctypes.create_string_buffer(prog, len(prog))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
if libc.prctl(38, 1, 0, 0, 0) != 0:
    sys.exit("prctl: " + os.strerror(ctypes.get_errno()))
if libc.syscall(317, 1, int(sys.argv[2]), ctypes.byref(fp)) != 0:
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[3], sys.argv[3:])
`;

const python = spawnSync("python3", ["-c", "import ctypes"]).status === 0;

describe.skipIf(!python)("in the kernel", () => {
  const dir = mkdtempSync(`${tmpdir()}/bunker-seccomp-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runUnder = (profile: Seccomp, cmd: string[]) => {
    const { program, flags } = compileSeccomp(profile);
    writeFileSync(`${dir}/prog`, program);
    return spawnSync("python3", ["-c", LOADER, `${dir}/prog`, String(flags), ...cmd], { encoding: "utf8" });
  };

  test("denied syscalls fail with the profile's errno; the rest work", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      ],
    };
    // one run (python3 starts slowly): the shell and its children inherit the filter
    const r = runUnder(profile, ["/bin/sh", "-c", `/bin/mkdir ${dir}/sub; echo "mkdir $?"; /bin/uname; echo "uname $?"; echo fine`]);
    expect(r.stderr).toContain("Permission denied");
    expect(r.stderr).toContain("Function not implemented");
    expect(r.stdout).toBe("mkdir 1\nuname 1\nfine\n");
    expect(r.status).toBe(0);
  }, 30000);

  test("a long all-arch profile with conditions is accepted", () => {
    const names = syscallNames("x86_64").filter((n) => !["execve", "exit_group", "exit", "brk", "mmap", "openat", "read", "write", "close"].includes(n));
    const r = runUnder(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [
          { names: ["kexec_load", "reboot", "init_module", "swapon"], action: "SCMP_ACT_ERRNO" },
          { names: ["clone"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: "SCMP_CMP_MASKED_EQ" }] },
          { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] },
          { names, action: "SCMP_ACT_ALLOW", args: [{ index: 5, value: 2 ** 40, op: "SCMP_CMP_LT" }] },
        ],
      },
      ["/bin/true"],
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 30000);
});
