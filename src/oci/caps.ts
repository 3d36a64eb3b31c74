// Linux capabilities: names <-> numbers (linux/capability.h), the five OCI
// sets as the 64-bit masks the shim's CAPS op takes, Docker's default set and
// `--cap-add` / `--cap-drop` resolution.
import { BunkerError } from "../errors.ts";
import { filterOf, mapOf } from "../loops.ts";
import type { Capabilities } from "./spec.ts";

/** index = capability number (0 = CAP_CHOWN … 40 = CAP_CHECKPOINT_RESTORE) */
export const CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
  "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
  "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

const NUMBERS = new Map<string, number>();
for (let n = 0; n < CAPABILITIES.length; n++) NUMBERS.set(CAPABILITIES[n]!, n); // a plain loop: run's path calls no map (src/loops.ts)

/** Docker's (and podman's) default set for a container's process. */
export const DOCKER_DEFAULT_CAPS: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

export function capNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}

export function capName(n: number): string | undefined {
  return CAPABILITIES[n];
}

/** A set of names as a bit mask (bit n = capability n); throws on an unknown name. */
export function capMask(names: readonly string[], field = "capabilities"): bigint {
  let mask = 0n;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!, n = NUMBERS.get(name);
    if (n === undefined) {
      throw new BunkerError(`${field}[${i}]: unknown capability ${JSON.stringify(name)}`, { errno: "EINVAL" });
    }
    mask |= 1n << BigInt(n);
  }
  return mask;
}

export interface CapMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/** process.capabilities as the masks for the CAPS op (a missing set is empty). */
export function capabilityMasks(caps: Capabilities | undefined): CapMasks {
  const set = (k: keyof Capabilities) => capMask(caps?.[k] ?? [], `process.capabilities.${k}`);
  return {
    bounding: set("bounding"),
    effective: set("effective"),
    permitted: set("permitted"),
    inheritable: set("inheritable"),
    ambient: set("ambient"),
  };
}

/** "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL" */
export function normalizeCapName(name: string, flag = "--cap-add"): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return "ALL";
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!NUMBERS.has(full)) {
    throw new BunkerError(`${flag}: unknown capability ${JSON.stringify(name)}`, {
      errno: "EINVAL",
      fix: "use a name from capabilities(7), e.g. NET_ADMIN, or ALL",
    });
  }
  return full;
}

/**
 * Docker's rules: `--cap-add ALL` gives every capability but the dropped ones;
 * `--cap-drop ALL` starts from nothing and keeps only the added ones;
 * otherwise base minus drops plus adds.  The result is sorted by number.
 */
export function resolveCaps(base: readonly string[], add: readonly string[], drop: readonly string[]): string[] {
  const adds = mapOf(add, (c) => normalizeCapName(c, "--cap-add"));
  const drops = mapOf(drop, (c) => normalizeCapName(c, "--cap-drop"));
  let out: Set<string>;
  if (adds.includes("ALL")) {
    out = new Set(filterOf(CAPABILITIES, (c) => !drops.includes(c)));
  } else if (drops.includes("ALL")) {
    out = new Set(adds);
  } else {
    out = new Set([...filterOf(base, (c) => !drops.includes(c)), ...adds]);
  }
  // in number order by walking the table (every name is one of it): no sort, a JavaScript builtin whose first call costs (run's path)
  return filterOf(CAPABILITIES, (c) => out.has(c));
}
