// Resource limits: RLIMIT_* names <-> resource numbers (x86_64, asm-generic
// order) and Docker's `--ulimit NAME=SOFT[:HARD]`.
import { BunkerError } from "../errors.ts";

/** index = resource number for prlimit(2) */
export const RLIMITS: readonly string[] = [
  "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
  "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
  "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
];

const NUMBERS = new Map<string, number>();
for (let n = 0; n < RLIMITS.length; n++) NUMBERS.set(RLIMITS[n]!, n); // a plain loop: run's path calls no map (src/loops.ts)

/** RLIM_INFINITY as a u64 (what the shim's i64 carries as -1). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

export function rlimitNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}

export function rlimitName(resource: number): string | undefined {
  return RLIMITS[resource];
}

/**
 * A config.json limit as a u64.  JSON cannot carry 2^64-1 exactly (it parses
 * as 2^64), so anything at or above 2^64-1 means "unlimited".
 */
export function rlimitValue(n: number): bigint {
  return n >= 2 ** 64 - 1 ? RLIM_INFINITY : BigInt(n);
}

export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

function ulimitValue(text: string, arg: string): number {
  if (text === "unlimited" || text === "-1") return 2 ** 64;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new BunkerError(`--ulimit ${arg}: ${JSON.stringify(text)} is not a number`, {
      errno: "EINVAL",
      fix: "use NAME=SOFT[:HARD], e.g. nofile=1024:2048 (numbers, -1 or unlimited)",
    });
  }
  return Number(text);
}

/** `nofile=1024:2048`, `nproc=512`, `core=-1` (as Docker: a lone value sets both). */
export function parseUlimit(arg: string): Rlimit {
  const eq = arg.indexOf("=");
  if (eq <= 0) {
    throw new BunkerError(`--ulimit ${arg}: expected NAME=SOFT[:HARD]`, { errno: "EINVAL", fix: "e.g. --ulimit nofile=1024:2048" });
  }
  const name = arg.slice(0, eq).toLowerCase();
  const type = `RLIMIT_${name.toUpperCase()}`;
  if (!NUMBERS.has(type)) {
    throw new BunkerError(`--ulimit ${arg}: unknown limit ${JSON.stringify(name)}`, {
      errno: "EINVAL",
      fix: `use one of ${RLIMITS.map((r) => r.slice(7).toLowerCase()).join(", ")}`,
    });
  }
  const [softText, hardText, extra] = arg.slice(eq + 1).split(":");
  if (extra !== undefined) {
    throw new BunkerError(`--ulimit ${arg}: expected NAME=SOFT[:HARD]`, { errno: "EINVAL", fix: "e.g. --ulimit nofile=1024:2048" });
  }
  const soft = ulimitValue(softText!, arg);
  const hard = hardText === undefined ? soft : ulimitValue(hardText, arg);
  if (soft > hard) {
    throw new BunkerError(`--ulimit ${arg}: the soft limit ${softText} is above the hard limit ${hardText}`, { errno: "EINVAL" });
  }
  return { type, soft, hard };
}
