// The exit status of a detached `run -d` container, in its state dir's `exit`
// file: written by the container's init (c/pid1.c) when its command ends, or,
// when the init itself was killed by a signal it cannot forward (SIGKILL: its
// command dies with the pid namespace and nobody inside is left to write),
// by the bunker that sent the signal, as Docker records it: 128+N.
import { readFileSync, renameSync, statSync, writeFileSync } from "../sys/fs-sync.ts";
import { waitPidExit } from "../sys/shim.ts";
import type { ContainerState } from "./state.ts";

/** the exit status recorded in DIR, and when (the exit file's mtime); none while it is empty */
export function exitRecord(dir: string): { code: number; at: Date } | undefined {
  try {
    const text = readFileSync(`${dir}/exit`, "utf8").trim();
    const code = Number(text);
    return text && Number.isInteger(code) ? { code, at: statSync(`${dir}/exit`).mtime } : undefined;
  } catch {
    return undefined; // an OCI container (no exit file)
  }
}

/**
 * After SIGNAL killed the init of the detached container in DIR: 128+SIGNAL
 * once the init is gone, unless the init wrote a status itself.  The file may
 * belong to the container's root (a subordinate id): it is replaced, not
 * rewritten, in the caller's own state dir.
 */
export function recordSignalExit(dir: string, state: ContainerState, signal: number): void {
  const recorded = () => {
    try {
      return readFileSync(`${dir}/exit`, "utf8").trim() !== "";
    } catch {
      return true; // not a detached run: no exit file to complete
    }
  };
  if (recorded() || !waitPidExit(state.pid, 5000) || recorded()) return;
  writeFileSync(`${dir}/exit.new`, `${128 + signal}\n`, { mode: 0o600 });
  renameSync(`${dir}/exit.new`, `${dir}/exit`);
}
