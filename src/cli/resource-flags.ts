// docker-style resource flags (run, update) as the parser sees them; their
// meaning (OCI linux.resources) is src/cgroup/flags.ts.
import { resourcesFromRunFlags, type ResourceFlagValues, type RunResources } from "../cgroup/flags.ts";
import { flag, type FlagSpec, type Parsed } from "./args.ts";

/** The flags, for the `run`/`create` parsers (and `update`, which takes the same). */
export const RESOURCE_FLAGS: FlagSpec[] = [
  { names: ["memory", "m"], value: true, help: "SIZE  memory.max (512m, 1g, …)" },
  { names: ["memory-reservation"], value: true, help: "SIZE  memory.low" },
  { names: ["memory-swap"], value: true, help: "SIZE  memory + swap (-1: unlimited swap; default: twice --memory)" },
  { names: ["cpus"], value: true, help: "N  cpu.max quota, e.g. 1.5" },
  { names: ["cpu-shares", "c"], value: true, help: "N  relative weight, v1 scale (2..262144, default 1024)" },
  { names: ["cpu-weight"], value: true, help: "N  cpu.weight (1..10000, default 100)" },
  { names: ["cpu-period"], value: true, help: "US  cpu.max period in microseconds (with --cpu-quota)" },
  { names: ["cpu-quota"], value: true, help: "US  cpu.max quota in microseconds per period" },
  { names: ["cpuset-cpus"], value: true, help: "LIST  cpuset.cpus, e.g. 0-1" },
  { names: ["cpuset-mems"], value: true, help: "LIST  cpuset.mems, e.g. 0" },
  { names: ["pids-limit"], value: true, help: "N  pids.max (-1: unlimited)" },
  { names: ["io-weight", "blkio-weight"], value: true, help: "N  io.weight (1..10000)" },
  { names: ["oom-kill-group"], help: "(=false) on OOM kill only the chosen process, not the whole container" },
];

/** Same, from the generic flag parser's result (keys are the first names in RESOURCE_FLAGS). */
export function resourcesFromParsed(p: Parsed): RunResources {
  const values: ResourceFlagValues = {};
  let given = false;
  for (const spec of RESOURCE_FLAGS) {
    const k = spec.names[0] as keyof ResourceFlagValues;
    const v = flag(p, k);
    if (v !== undefined) (values[k] = v), (given = true);
  }
  // none given (most runs): what resourcesFromRunFlags gives for none, without its first call
  // (a cold function's bytecode is linked whole on its first call: ~0.1 ms for that one)
  return given ? resourcesFromRunFlags(values) : { resources: undefined, oomKillGroup: true };
}
