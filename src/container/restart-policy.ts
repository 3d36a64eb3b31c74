// Restart policies (`--restart`, HostConfig.RestartPolicy): the pure part —
// parsing, Docker's decision and its back-off.  What acts on them is
// src/container/restart.ts, run by the container's log writer when it ends.
import { readFileSync, writeFileSync } from "../sys/fs-sync.ts";
import { BunkerError } from "../errors.ts";

export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure: at most this many restarts (0: no limit) */
  maximumRetryCount: number;
}

/** DIR/restart-count: "COUNT DELAY_MS", how often the policy started it again and its last back-off */
export const RESTART_COUNT_FILE = "restart-count";
/** DIR/stopped-by-user: stop, kill or rm ended it, so its policy does not start it again */
export const STOPPED_FILE = "stopped-by-user";

const NAMES = ["no", "on-failure", "always", "unless-stopped"] as const;

/** NAME and a retry count as Docker's API gives them (WHAT names the field) */
export function restartPolicy(name: string, max: number, what: string): RestartPolicy {
  const n = name === "" ? "no" : name;
  if (!(NAMES as readonly string[]).includes(n)) throw new BunkerError(`${what}: unknown restart policy "${name}"`, { errno: "EINVAL", fix: "use no, on-failure[:N], always or unless-stopped" });
  if (!Number.isInteger(max) || max < 0) throw new BunkerError(`${what}: the maximum retry count must be a whole number from 0 (got ${max})`, { errno: "EINVAL" });
  if (max > 0 && n !== "on-failure") throw new BunkerError(`${what}: a maximum retry count is for on-failure only (got ${n}:${max})`, { errno: "EINVAL", fix: `use --restart on-failure:${max}` });
  return { name: n as RestartPolicy["name"], maximumRetryCount: max };
}

/** --restart no|on-failure[:N]|always|unless-stopped */
export function parseRestartFlag(text: string): RestartPolicy {
  const m = /^([a-z-]*)(?::(\d+))?$/.exec(text);
  if (!m) throw new BunkerError(`--restart: "${text}" is not a restart policy`, { errno: "EINVAL", fix: "use no, on-failure[:N], always or unless-stopped" });
  return restartPolicy(m[1]!, m[2] === undefined ? 0 : Number(m[2]), "--restart");
}

export const restarts = (p: RestartPolicy) => p.name !== "no";

/** whether the policy starts again a container that exited with CODE after COUNT restarts (STOPPED: by stop, kill or rm) */
export function shouldRestart(p: RestartPolicy, code: number, count: number, stopped: boolean): boolean {
  if (stopped || !restarts(p)) return false;
  if (p.name === "on-failure") return code !== 0 && (p.maximumRetryCount === 0 || count < p.maximumRetryCount);
  return true;
}

/**
 * whether a server's start (Docker's daemon start) starts again a container
 * that is stopped: `always` even when it was stopped by hand (Docker's one
 * difference from `unless-stopped`), the others when it was not (on-failure:
 * CODE other than 0, within its count)
 */
export function shouldStartWithServer(p: RestartPolicy, code: number, count: number, stopped: boolean): boolean {
  return p.name === "always" || shouldRestart(p, code, count, stopped);
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
/** a run this long resets the back-off, as Docker's restart manager does */
const RESET_AFTER_MS = 10_000;

/** the wait before the next start: Docker's back-off, 100 ms doubling to a minute, reset by a run of 10 s or more */
export function restartDelay(previousMs: number, ranMs: number): number {
  if (previousMs <= 0 || ranMs >= RESET_AFTER_MS) return FIRST_DELAY_MS;
  return Math.min(previousMs * 2, MAX_DELAY_MS);
}

/** container DIR's restart count and last back-off (none yet: 0 and 0) */
export function readRestartCount(dir: string): { count: number; delayMs: number } {
  let text = "";
  try {
    text = readFileSync(`${dir}/${RESTART_COUNT_FILE}`, "utf8");
  } catch {
    /* never restarted */
  }
  return parseRestartCount(text);
}

/** the restart-count file's "COUNT DELAY_MS" ("" or garbage: none yet) */
export function parseRestartCount(text: string): { count: number; delayMs: number } {
  const [c, d] = text.trim().split(/\s+/).map(Number);
  return { count: Number.isInteger(c) && c! > 0 ? c! : 0, delayMs: Number.isInteger(d) && d! > 0 ? d! : 0 };
}

/** container DIR was ended by hand (stop, kill, rm): its policy leaves it stopped (a state dir that is gone needs no mark) */
export function markStoppedByUser(dir: string): void {
  try {
    writeFileSync(`${dir}/${STOPPED_FILE}`, "", { mode: 0o600 });
  } catch {
    /* removed meanwhile */
  }
}
