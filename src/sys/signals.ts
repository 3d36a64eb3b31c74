// Signal names and numbers: "TERM", "SIGTERM", "15".
import { BunkerError } from "../errors.ts";

/**
 * Linux's signal numbers (x86_64 and arm64 alike), as node:os's
 * constants.signals has them, in its order: written out, so that OCI create
 * (lifecycle.ts: kill) loads no node:os (its module and its JavaScript)
 */
export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17, SIGSTKFLT: 16, SIGCONT: 18,
  SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27,
  SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

/** ALLOWZERO: signal 0 (kill's "does it run": an error when it does not), as kill(1) and runc take it */
export function parseSignal(s: string | undefined, fallback = "SIGTERM", allowZero = false): number {
  const v = (s ?? fallback).toUpperCase();
  if (/^\d+$/.test(v) && (Number(v) > 0 || (allowZero && Number(v) === 0)) && Number(v) < 65) return Number(v);
  const n = SIGNALS[v.startsWith("SIG") ? v : `SIG${v}`];
  if (n === undefined) throw new BunkerError(`unknown signal "${s}"`, { errno: "EINVAL", fix: "use a name like TERM or KILL, or a number" });
  return n;
}

export function signalName(n: number): string {
  return Object.entries(SIGNALS).find(([, v]) => v === n)?.[0] ?? String(n);
}
