// libseccomp through bun:ffi: the reference our own BPF compiler
// (src/oci/seccomp.ts) is checked against in tests.  Not used at run time.
import { dlopen, FFIType, ptr, type Pointer } from "bun:ffi";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BunkerError } from "../errors.ts";

/** libseccomp's scmp_compare values */
export const SCMP_CMP: Readonly<Record<string, number>> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** libseccomp's arch tokens (AUDIT_ARCH_*; x32 is EM_X86_64 | LE without the 64-bit flag) */
export const SCMP_ARCH: Readonly<Record<string, number>> = {
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_X86: 0x40000003,
  SCMP_ARCH_X32: 0x4000003e,
};

const NR_SCMP_ERROR = -1;

const symbols = {
  seccomp_init: { args: [FFIType.u32], returns: FFIType.ptr },
  seccomp_release: { args: [FFIType.ptr], returns: FFIType.void },
  seccomp_arch_add: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  seccomp_rule_add_array: { args: [FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  seccomp_export_bpf: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  seccomp_syscall_resolve_name: { args: [FFIType.cstring], returns: FFIType.i32 },
  seccomp_syscall_resolve_name_arch: { args: [FFIType.u32, FFIType.cstring], returns: FFIType.i32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let lib: Lib | undefined;

/** libseccomp, or undefined when libseccomp.so.2 is not installed */
export function libseccomp(): Lib | undefined {
  if (lib) return lib;
  for (const name of ["libseccomp.so.2", "libseccomp.so"]) {
    try {
      return (lib = dlopen(name, symbols).symbols);
    } catch {
      // try the next name
    }
  }
  return undefined;
}

function need(): Lib {
  const l = libseccomp();
  if (!l) throw new BunkerError("libseccomp is not installed", { fix: "apt-get install -y libseccomp-dev" });
  return l;
}

const cstr = (s: string) => Buffer.from(`${s}\0`);

/** the native (x86_64) number, or a negative pseudo number for other arches' syscalls; undefined if unknown */
export function resolveName(name: string): number | undefined {
  const n = need().seccomp_syscall_resolve_name(cstr(name));
  return n === NR_SCMP_ERROR ? undefined : n;
}

export function resolveNameArch(arch: string, name: string): number | undefined {
  const n = need().seccomp_syscall_resolve_name_arch(SCMP_ARCH[arch]!, cstr(name));
  return n === NR_SCMP_ERROR ? undefined : n;
}

export interface NativeRule {
  /** native number or pseudo number, from resolveName */
  syscall: number;
  /** SECCOMP_RET_* value (libseccomp's action values are the kernel's) */
  action: number;
  args: { index: number; op: string; value: bigint; valueTwo: bigint }[];
}

/** Builds a filter with libseccomp and returns seccomp_export_bpf's program. */
export function libseccompFilter(defaultAction: number, arches: string[], rules: NativeRule[]): Uint8Array {
  const l = need();
  const ctx = l.seccomp_init(defaultAction) as Pointer | null;
  if (!ctx) throw new BunkerError("seccomp_init failed");
  const dir = mkdtempSync(`${tmpdir()}/bunker-seccomp-`);
  try {
    for (const arch of arches) {
      const r = l.seccomp_arch_add(ctx, SCMP_ARCH[arch]!);
      if (r < 0 && r !== -17 /* EEXIST: the native arch */) throw new BunkerError(`seccomp_arch_add ${arch}`, { errno: -r });
    }
    for (const rule of rules) {
      const buf = new ArrayBuffer(24 * Math.max(1, rule.args.length));
      const view = new DataView(buf);
      rule.args.forEach((c, i) => {
        view.setUint32(i * 24, c.index, true);
        view.setUint32(i * 24 + 4, SCMP_CMP[c.op]!, true);
        view.setBigUint64(i * 24 + 8, c.value, true);
        view.setBigUint64(i * 24 + 16, c.valueTwo, true);
      });
      const r = l.seccomp_rule_add_array(ctx, rule.action, rule.syscall, rule.args.length, ptr(buf));
      if (r < 0) throw new BunkerError(`seccomp_rule_add_array(${rule.syscall})`, { errno: -r });
    }
    const file = `${dir}/bpf`;
    const fd = openSync(file, "w+");
    try {
      const r = l.seccomp_export_bpf(ctx, fd);
      if (r < 0) throw new BunkerError("seccomp_export_bpf", { errno: -r });
    } finally {
      closeSync(fd);
    }
    return new Uint8Array(readFileSync(file));
  } finally {
    l.seccomp_release(ctx);
    rmSync(dir, { recursive: true, force: true });
  }
}
