// config.process (+ linux.seccomp) -> the PlanContext fields that shape the
// container's process: capability masks and the compiled seccomp filter.
import type { Linux, Process } from "../oci/spec.ts";
import { compileSeccomp } from "../oci/seccomp.ts";
import type { PlanContext } from "../plan/build.ts";
import { capsContext } from "./caps-context.ts";

/** the caps (src/container/caps-context.ts) and linux.seccomp compiled (a run with the default profile has it compiled already: it needs only capsContext) */
export function processContext(proc: Process, linux?: Linux, debug?: (m: string) => void): Pick<PlanContext, "caps" | "seccomp" | "seccompFlags"> {
  const ctx: Pick<PlanContext, "caps" | "seccomp" | "seccompFlags"> = capsContext(proc);
  if (linux?.seccomp) {
    const c = compileSeccomp(linux.seccomp);
    if (c.unknownSyscalls.length) debug?.(`seccomp: syscalls unknown on every architecture, skipped: ${c.unknownSyscalls.join(" ")}`);
    ctx.seccomp = c.program;
    ctx.seccompFlags = c.flags;
  }
  return ctx;
}
