// bunker __finish DIR CODE (internal): the clean-up of a foreground `run`
// that the monitor (c/monitor.c) could not do after the container exited: a
// writable layer owned by subordinate ids (removed in a user namespace), a
// cgroup that would not go, the container's anonymous volumes.  Exits with
// CODE, the container's status.
import { existsSync } from "node:fs";
import { basename, dirname } from "node:path";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { readState } from "../container/state.ts";
import { removeOwnedTree } from "../container/cleanup.ts";
import { BunkerError } from "../errors.ts";
import { readVolumeUse, removeAnonymousVolumes } from "../volume/attach.ts";

export default async function finish(argv: string[], _g: GlobalOptions): Promise<number> {
  const [dir, status] = parseFlags(argv, [], "__finish", false).rest;
  if (!dir || !/^\d+$/.test(status ?? "")) throw new BunkerError("__finish is started by bunker's monitor: __finish DIR CODE", { errno: "EINVAL" });
  const code = Number(status);
  const state = readState(dirname(dir), basename(dir));
  if (state?.cgroup) {
    try {
      const { openCgroup } = await import("../cgroup/index.ts");
      if (existsSync(state.cgroup)) openCgroup(state.cgroup).remove();
    } catch (e) {
      process.stderr.write(`bunker: ${e instanceof BunkerError ? e.format() : String(e)}\n`);
    }
  }
  const maps = state?.run?.maps ?? { uid: [], gid: [] };
  const volumes = readVolumeUse(dir);
  await removeOwnedTree(dir, maps);
  await removeAnonymousVolumes(volumes, maps, (m) => process.stderr.write(`${m}\n`));
  return code;
}
