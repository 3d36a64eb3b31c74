// bunker check's network probe: a helper started against a probe process's
// fresh network namespace, as run --network MODE starts it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as K from "../plan/types.ts";
import { probe } from "../sys/probe.ts";
import { findProgram, startHelper } from "./helper.ts";
import { parseNetwork } from "./mode.ts";

/**
 * Can MODE's helper give a fresh network namespace a way out here?  It is
 * started against a probe process as `run --network MODE` starts it (and ends
 * with that process).
 */
export async function probeNetwork(kind: "pasta" | "slirp4netns", path: string | undefined): Promise<{ ok: boolean; why: string }> {
  const exe = findProgram(kind, path);
  const pkg = kind === "pasta" ? "passt" : "slirp4netns";
  if (!exe) return { ok: false, why: `not installed: apt-get install ${pkg}` };
  const tmp = mkdtempSync(`${tmpdir()}/bunker-net-probe-`);
  try {
    const mode = parseNetwork(kind) as Parameters<typeof startHelper>[0];
    const err = await probe([], K.CLONE_NEWUSER | K.CLONE_NEWNET, async (pid) => void (await startHelper(mode, pid, tmp, [], path)));
    if (err) return { ok: false, why: `${exe} cannot configure a container's network: ${err}` };
    return { ok: true, why: `${exe} configures the container's own network namespace (outbound access, published ports${kind === "slirp4netns" ? "; the default of run IMAGE" : ""})` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
