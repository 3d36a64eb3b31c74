// Signal names and numbers: "TERM", "SIGTERM", "15".
import { constants } from "node:os";
import { BunkerError } from "../errors.ts";

const SIGNALS = constants.signals as Record<string, number>;

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
