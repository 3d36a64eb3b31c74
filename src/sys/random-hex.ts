// Random ids (containers, volumes, execs): N random bytes as hex.  A plain
// loop, not Array.from with padStart: those builtins are written in
// JavaScript, and their first call costs ~0.25 ms on `run`'s path; the bytes
// from getrandom(2), not crypto.getRandomValues (its first call ~0.13 ms).
import { randomBytes } from "./fs-core.ts";

export function randomHex(bytes: number): string {
  const b = randomBytes(bytes);
  let hex = "";
  for (let i = 0; i < b.length; i++) hex += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
  return hex;
}
