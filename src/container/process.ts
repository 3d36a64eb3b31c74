// config.process (+ linux.seccomp) -> the PlanContext fields that shape the
// container's process: capability masks and the compiled seccomp filter.
import type { Linux, Process } from "../oci/spec.ts";
import { capabilityMasks } from "../oci/caps.ts";
import { compileSeccomp } from "../oci/seccomp.ts";
import type { PlanContext } from "../plan/build.ts";

/** COMPILED: linux.seccomp's filter, compiled already (run's default profile, compiled when bunker was built) */
export function processContext(proc: Process, linux?: Linux, debug?: (m: string) => void, compiled?: Uint8Array): Pick<PlanContext, "caps" | "seccomp" | "seccompFlags"> {
  const ctx: Pick<PlanContext, "caps" | "seccomp" | "seccompFlags"> = {};
  if (proc.capabilities) {
    const caps = capabilityMasks(proc.capabilities);
    // the kernel raises an ambient capability only when it is permitted and
    // inheritable; runc ignores the rest (its own `spec` lists ambient caps
    // with no inheritable set), so do we
    caps.ambient &= caps.permitted & caps.inheritable;
    ctx.caps = caps;
  }
  if (linux?.seccomp && compiled) {
    ctx.seccomp = compiled;
    ctx.seccompFlags = 0;
  } else if (linux?.seccomp) {
    const c = compileSeccomp(linux.seccomp);
    if (c.unknownSyscalls.length) debug?.(`seccomp: syscalls unknown on every architecture, skipped: ${c.unknownSyscalls.join(" ")}`);
    ctx.seccomp = c.program;
    ctx.seccompFlags = c.flags;
  }
  return ctx;
}
