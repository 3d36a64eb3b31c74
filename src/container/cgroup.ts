// The verbs that work on a container's cgroup by its id: pause, resume,
// update, stats (and events, which polls stats).  The cgroup's path is in
// state.json ("cgroup"), or in DIR/cgroup (src/cgroup/state.ts) for a
// container whose state.json is not written yet.
import { BunkerError } from "../errors.ts";
import { openCgroup } from "../cgroup/index.ts";
import { savedCgroupPath } from "../cgroup/state.ts";
import type { Stats } from "../cgroup/stats.ts";
import type { Resources } from "../oci/spec.ts";
import type { RuntimeContext } from "./context.ts";
import { checkId, containerDir, readState } from "./state.ts";
import { containerEvent } from "./stop.ts";

/** The container's cgroup; an error naming WHAT when the container has none. */
export function cgroupOfContainer(ctx: RuntimeContext, id: string, what: string) {
  const root = ctx.stateRoot;
  const dir = containerDir(root, checkId(id, what));
  let path = readState(root, id)?.cgroup; // throws "does not exist" for an unknown id
  if (!path) {
    path = savedCgroupPath(dir);
    if (!path) {
      throw new BunkerError(`${what}: container "${id}" has no cgroup`, {
        errno: "EOPNOTSUPP",
        path: dir,
        fix: `it runs without one (started with --cgroup-manager disabled, or no delegated cgroup v2 then: see 'bunker check'), and ${what} needs one${what === "pause" || what === "resume" ? " (the freezer)" : ""}`,
      });
    }
  }
  return openCgroup(path);
}

/** freeze every process of the container (cgroup.freeze) */
export async function pause(ctx: RuntimeContext, id: string): Promise<void> {
  await cgroupOfContainer(ctx, id, "pause").freeze();
  dockerEvent(ctx, id, "pause");
}

export function resume(ctx: RuntimeContext, id: string): void {
  cgroupOfContainer(ctx, id, "resume").thaw();
  dockerEvent(ctx, id, "unpause");
}

/** ACTION in the event log, for a docker-style container */
function dockerEvent(ctx: RuntimeContext, id: string, action: string): void {
  const s = readState(ctx.stateRoot, id);
  if (s?.run) containerEvent(ctx, s, action);
}

/** change a running container's limits */
export function update(ctx: RuntimeContext, id: string, resources: Resources): void {
  if (!Object.keys(resources).length) throw new BunkerError("update: nothing to change", { errno: "EINVAL", fix: "give a limit, e.g. --memory 1g" });
  cgroupOfContainer(ctx, id, "update").update(resources);
}

/** memory, CPU, pids and I/O of each of IDS; every cgroup is found before any is read */
export function stats(ctx: RuntimeContext, ids: string[]): { id: string; stats: Stats }[] {
  const cgroups = ids.map((id) => ({ id, cg: cgroupOfContainer(ctx, id, "stats") }));
  return cgroups.map(({ id, cg }) => ({ id, stats: cg.stats() }));
}
