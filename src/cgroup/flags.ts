// docker-style `run` resource flags -> OCI linux.resources, so flags and
// config.json go through one conversion (resources.ts).
import type { Resources } from "../oci/spec.ts";
import { BunkerError } from "../errors.ts";

export type ResourceFlagValues = Partial<Record<
  "memory" | "memory-reservation" | "memory-swap" | "cpus" | "cpu-shares" | "cpu-weight" | "cpu-period" | "cpu-quota" |
  "cpuset-cpus" | "cpuset-mems" | "pids-limit" | "io-weight" | "oom-kill-group",
  string
>>;

const UNITS: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** "512m", "1g", "1.5G", "64MiB", "1048576" -> bytes (binary units, as docker). */
export function parseBytes(s: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(s);
  const bad = () =>
    new BunkerError(`${what}: "${s}" is not a size`, { errno: "EINVAL", fix: "use a number of bytes or a unit: 512k, 64m, 1.5g" });
  if (!m) throw bad();
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(n)) throw bad();
  return n;
}

function int(s: string, what: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(s.trim()) || Number(s) < min || Number(s) > max) {
    throw new BunkerError(`${what}: "${s}" must be an integer from ${min} to ${max}`, { errno: "EINVAL" });
  }
  return Number(s);
}

export interface RunResources {
  /** undefined when no resource flag was given */
  resources?: Resources;
  /** memory.oom.group: kill the whole container on OOM (default on) */
  oomKillGroup: boolean;
}

/** Maps the resource flags to OCI linux.resources (docker's semantics for each flag). */
export function resourcesFromRunFlags(f: ResourceFlagValues): RunResources {
  const r: Resources = {};
  const memory = (r.memory ??= {});
  const cpu = (r.cpu ??= {});
  if (f.memory !== undefined) {
    memory.limit = parseBytes(f.memory, "--memory");
    if (memory.limit > 0 && memory.limit < 6 * 2 ** 20) {
      throw new BunkerError(`--memory: ${f.memory} is too small to start a container`, { errno: "EINVAL", fix: "use at least 6m" });
    }
    if (memory.limit === 0) delete memory.limit;
  }
  if (f["memory-reservation"] !== undefined) memory.reservation = parseBytes(f["memory-reservation"], "--memory-reservation");
  if (f["memory-swap"] !== undefined) {
    const s = f["memory-swap"].trim();
    memory.swap = s === "-1" ? -1 : parseBytes(s, "--memory-swap");
    if (memory.swap !== -1 && memory.limit === undefined) {
      throw new BunkerError("--memory-swap needs --memory (it is the total of memory and swap)", { errno: "EINVAL", fix: "add --memory, or use --memory-swap -1" });
    }
  } else if (memory.limit !== undefined) {
    // docker: without --memory-swap the container may use as much swap as memory
    memory.swap = memory.limit * 2;
  }
  if (f.cpus !== undefined) {
    const c = Number(f.cpus);
    if (!/^\d+(\.\d+)?$/.test(f.cpus.trim()) || !(c >= 0)) {
      throw new BunkerError(`--cpus: "${f.cpus}" is not a number of CPUs`, { errno: "EINVAL", fix: "e.g. --cpus 1.5" });
    }
    if (c > 0) {
      cpu.period = 100000;
      cpu.quota = Math.max(1000, Math.round(c * 100000));
    }
  }
  if (f["cpu-period"] !== undefined) cpu.period = int(f["cpu-period"], "--cpu-period", 1000, 1000000);
  if (f["cpu-quota"] !== undefined) cpu.quota = int(f["cpu-quota"], "--cpu-quota", -1, Number.MAX_SAFE_INTEGER);
  if (f["cpu-shares"] !== undefined) cpu.shares = int(f["cpu-shares"], "--cpu-shares", 2, 262144);
  const unified: Record<string, string> = {};
  if (f["cpu-weight"] !== undefined) unified["cpu.weight"] = String(int(f["cpu-weight"], "--cpu-weight", 1, 10000));
  if (f["cpuset-cpus"] !== undefined) cpu.cpus = f["cpuset-cpus"];
  if (f["cpuset-mems"] !== undefined) cpu.mems = f["cpuset-mems"];
  if (f["pids-limit"] !== undefined) r.pids = { limit: int(f["pids-limit"], "--pids-limit", -1, 4194304) };
  if (f["io-weight"] !== undefined) unified["io.weight"] = `default ${int(f["io-weight"], "--io-weight", 1, 10000)}`;
  if (Object.keys(unified).length) r.unified = unified;
  if (!Object.keys(memory).length) delete r.memory;
  if (!Object.keys(cpu).length) delete r.cpu;
  const oomKillGroup = f["oom-kill-group"] !== "false";
  return { resources: Object.keys(r).length ? r : undefined, oomKillGroup };
}
