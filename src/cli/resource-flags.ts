// docker-style resource flags (run, update) as the parser sees them; their
// meaning (OCI linux.resources) is src/cgroup/flags.ts.
import { resourcesFromRunFlags, type ResourceFlagValues, type RunResources } from "../cgroup/flags.ts";
import { flag, type FlagSpec, type Parsed } from "./args.ts";

/** The flags, for the `run`/`create` parsers (and `update`, which takes the same). */
export const RESOURCE_FLAGS: FlagSpec[] = [
  { names: ["memory", "m"], value: true },
  { names: ["memory-reservation"], value: true },
  { names: ["memory-swap"], value: true },
  { names: ["cpus"], value: true },
  { names: ["cpu-shares", "c"], value: true },
  { names: ["cpu-weight"], value: true },
  { names: ["cpu-period"], value: true },
  { names: ["cpu-quota"], value: true },
  { names: ["cpuset-cpus"], value: true },
  { names: ["cpuset-mems"], value: true },
  { names: ["pids-limit"], value: true },
  { names: ["io-weight", "blkio-weight"], value: true },
  { names: ["oom-kill-group"] },
];

/** Same, from the generic flag parser's result (keys are the first names in RESOURCE_FLAGS). */
export function resourcesFromParsed(p: Parsed): RunResources {
  const values: ResourceFlagValues = {};
  for (const spec of RESOURCE_FLAGS) {
    const k = spec.names[0] as keyof ResourceFlagValues;
    const v = flag(p, k);
    if (v !== undefined) values[k] = v;
  }
  return resourcesFromRunFlags(values);
}
