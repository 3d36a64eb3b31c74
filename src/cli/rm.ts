// bunker rm [-f] [-v] ID...: remove detached containers (with -f, running ones too), their writable
// layer included (with -v, their anonymous volumes too)
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, containerDir, isAlive, lockContainer, readState } from "../container/state.ts";
import { killEverything } from "../container/kill.ts";
import { removeOwnedTree } from "../container/cleanup.ts";
import { callerMaps } from "../container/idmap.ts";
import { readVolumeUse, removeAnonymousVolumes } from "../volume/attach.ts";
import { endLogWriter } from "../container/log-writer.ts";
import { BunkerError } from "../errors.ts";
import { openCgroup } from "../cgroup/index.ts";
import { savedCgroupPath } from "../cgroup/state.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "kill running containers first" }, { names: ["volumes", "v"], help: "remove the container's anonymous volumes too" }], "rm", false);
  const root = stateRoot(g).dir;
  const force = flagBool(p, "force");
  if (!p.rest.length) checkId(undefined, "rm");
  for (const arg of p.rest) {
    const id = checkId(arg, "rm");
    const dir = containerDir(root, id);
    const state = readState(root, id); // "does not exist" without a state dir
    const release = lockContainer(dir, id);
    try {
      if (!state) {
        // a run killed before its container process was recorded: none was released
        // (one still waiting reads EOF on its sync socket once its bunker is gone)
        if (!force) throw new BunkerError(`rm: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
      } else if (isAlive(state)) {
        if (!force) throw new BunkerError(`rm: container "${id}" is running`, { errno: "EBUSY", fix: `bunker stop ${id} first, or bunker rm -f ${id}` });
        if (!killEverything(state)) throw new BunkerError(`rm: container "${id}" did not die after SIGKILL`, { errno: "ETIMEDOUT" });
      }
      const cgroup = state?.cgroup ?? savedCgroupPath(dir);
      if (cgroup) {
        try {
          openCgroup(cgroup).remove();
        } catch {
          /* gone already */
        }
      }
      endLogWriter(dir); // it drains what the container wrote last, then exits by itself
    } finally {
      release();
    }
    const maps = state?.run?.maps ?? callerMaps();
    const volumes = readVolumeUse(dir);
    await removeOwnedTree(dir, maps);
    if (flagBool(p, "volumes")) await removeAnonymousVolumes(volumes, maps, (m) => process.stderr.write(`${m}\n`));
    console.log(id);
  }
  return 0;
}
