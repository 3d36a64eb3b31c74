// config.process's capabilities as the PlanContext's masks: apart from
// src/container/process.ts (which adds the compiled seccomp filter) so that a
// run with the filter compiled when bunker was built (the default profile)
// does not load the seccomp compiler (src/oci/seccomp.ts, ~35 KB).
import type { Process } from "../oci/spec.ts";
import { capabilityMasks } from "../oci/caps.ts";
import type { PlanContext } from "../plan/build.ts";

export function capsContext(proc: Process): Pick<PlanContext, "caps"> {
  if (!proc.capabilities) return {};
  const caps = capabilityMasks(proc.capabilities);
  // the kernel raises an ambient capability only when it is permitted and
  // inheritable; runc ignores the rest (its own `spec` lists ambient caps
  // with no inheritable set), so do we
  caps.ambient &= caps.permitted & caps.inheritable;
  return { caps };
}
