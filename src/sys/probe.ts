// Probes: run a few ops in a fresh user (+ mount) namespace to learn what the
// kernel allows this user (bunker check, and the storage driver's choice).
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import * as K from "../plan/types.ts";
import type { Op } from "../plan/types.ts";
import { overlayProbeOps, PROBE_EXE, probePlan } from "../plan/store.ts";
import { supervise } from "./shim.ts";
import { processIds, singleMaps } from "./idmap.ts";
import { launch } from "./launch.ts";

/** runs OPS in a fresh user+mount namespace; returns the error line or undefined */
export async function probe(ops: Op[], flags = K.CLONE_NEWUSER | K.CLONE_NEWNS, beforeRecord?: (pid: number) => Promise<void>): Promise<string | undefined> {
  // the last op execs a file that does not exist: its failure (not found; or not permitted, where a
  // /nonexistent exists that this user cannot search) proves every op before it worked
  try {
    const c = await launch(probePlan(ops, flags), { maps: singleMaps(processIds().uid, processIds().gid), beforeRecord });
    supervise(c.pid, -1, false);
    return "the probe process ran an unexpected file";
  } catch (e) {
    if (e instanceof BunkerError && (e.exitCode === 127 || e.exitCode === 126) && e.detail.path === PROBE_EXE) return undefined;
    return e instanceof BunkerError ? e.format() : String(e);
  }
}

/** can this user mount overlayfs with `userxattr` in a user namespace, with its dirs under PARENT? */
export async function probeOverlay(parent: string): Promise<string | undefined> {
  const tmp = mkdtempSync(`${parent}/bunker-overlay-probe-`);
  try {
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(`${tmp}/${d}`);
    return await probe(overlayProbeOps(tmp));
  } finally {
    // overlay leaves work/work with mode 000, owned by us
    try {
      chmodSync(`${tmp}/work/work`, 0o700);
    } catch {
      /* not created */
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
