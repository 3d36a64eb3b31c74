// Probes: run a few ops in a fresh user (+ mount) namespace to learn what the
// kernel allows this user (bunker check, and the storage driver's choice).
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BunkerError } from "../errors.ts";
import * as K from "../plan/types.ts";
import type { Op } from "../plan/types.ts";
import { overlayProbeOps, PROBE_EXE, probePlan } from "../plan/store.ts";
import { supervise } from "../sys/shim.ts";
import { singleMaps } from "./idmap.ts";
import { launch } from "./launch.ts";

/** runs OPS in a fresh user+mount namespace; returns the error line or undefined */
export async function probe(ops: Op[], flags = K.CLONE_NEWUSER | K.CLONE_NEWNS, beforeRecord?: (pid: number) => Promise<void>): Promise<string | undefined> {
  // the last op execs a file that does not exist: "not found" proves every op before it worked
  try {
    const c = await launch(probePlan(ops, flags), { maps: singleMaps(process.getuid!(), process.getgid!()), beforeRecord });
    supervise(c.pid, -1, false);
    return "the probe process ran an unexpected file";
  } catch (e) {
    if (e instanceof BunkerError && e.exitCode === 127 && e.detail.path === PROBE_EXE) return undefined;
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

/**
 * Can MODE's helper give a fresh network namespace a way out here?  It is
 * started against a probe process as `run --network MODE` starts it (and ends
 * with that process).
 */
export async function probeNetwork(kind: "pasta" | "slirp4netns"): Promise<{ ok: boolean; why: string }> {
  const { findProgram, startHelper } = await import("../net/helper.ts");
  const { parseNetwork } = await import("../net/mode.ts");
  const exe = findProgram(kind);
  const pkg = kind === "pasta" ? "passt" : "slirp4netns";
  if (!exe) return { ok: false, why: `not installed: apt-get install ${pkg}` };
  const tmp = mkdtempSync(`${tmpdir()}/bunker-net-probe-`);
  try {
    const mode = parseNetwork(kind) as Parameters<typeof startHelper>[0];
    const err = await probe([], K.CLONE_NEWUSER | K.CLONE_NEWNET, async (pid) => void (await startHelper(mode, pid, tmp, [])));
    if (err) return { ok: false, why: `${exe} cannot configure a container's network: ${err}` };
    return { ok: true, why: `${exe} configures the container's own network namespace (outbound access, published ports${kind === "pasta" ? "; the default of run IMAGE" : ""})` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
