// Docker's default seccomp profile (with Docker's default capabilities, x86-64)
// as the BPF program compileSeccomp makes of it, compiled when bunker is built
// (a Bun macro: src/oci/default-seccomp-macro.ts).  A run with the default
// confinement loads it as it is, and records only that it has it
// (state.json's defaultSeccomp): exec gives its processes the same program,
// and neither builds the 6 KB profile nor loads the compiler.
import { defaultFilterBase64 } from "./default-seccomp-macro.ts" with { type: "macro" };

/** the default filter's program (Uint8Array.fromBase64: Buffer's first use costs a start more) */
export function defaultFilter(): Uint8Array {
  return (Uint8Array as unknown as { fromBase64(s: string): Uint8Array }).fromBase64(defaultFilterBase64());
}
