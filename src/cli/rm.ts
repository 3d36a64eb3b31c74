// bunker rm [-f] ID...: remove detached containers (with -f, running ones too), their writable layer included
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, containerDir, isAlive, lockContainer, readState, notFound } from "../container/state.ts";
import { killEverything } from "../container/lifecycle.ts";
import { removeOwnedTree } from "../container/cleanup.ts";
import { endLogWriter } from "../container/log-writer.ts";
import { BunkerError } from "../errors.ts";
import { openCgroup } from "../cgroup/index.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"] }], "rm", false);
  const root = stateRoot(g).dir;
  if (!p.rest.length) checkId(undefined, "rm");
  for (const arg of p.rest) {
    const id = checkId(arg, "rm");
    const dir = containerDir(root, id);
    const state = readState(root, id);
    if (!state) throw notFound(id);
    const release = lockContainer(dir, id);
    try {
      if (isAlive(state)) {
        if (!flagBool(p, "force")) throw new BunkerError(`rm: container "${id}" is running`, { errno: "EBUSY", fix: `bunker stop ${id} first, or bunker rm -f ${id}` });
        killEverything(state);
      }
      if (state.cgroup) openCgroup(state.cgroup).remove();
      endLogWriter(dir); // it drains what the container wrote last, then exits by itself
    } finally {
      release();
    }
    await removeOwnedTree(dir, state.run?.maps ?? { uid: [], gid: [] });
    console.log(id);
  }
  return 0;
}
