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
import { readFileSync } from "node:fs";
import { checkId, containerDir, isAlive, readState, type ContainerState } from "./state.ts";
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
        fix: `it runs without one (started with --cgroup-manager disabled, or no delegated cgroup v2 then: see 'bunker check'), and ${what} needs one${["pause", "resume", "unpause"].includes(what) ? " (the freezer)" : ""}`,
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

/** thaw the container; WHAT names the verb in errors (docker's unpause, runc's resume) */
export function resume(ctx: RuntimeContext, id: string, what = "resume"): void {
  cgroupOfContainer(ctx, id, what).thaw();
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

/**
 * docker stats' NET I/O: the bytes received and sent on the container's
 * interfaces but lo, from /proc/INIT/net/dev (its network namespace's view);
 * zero with the host's network (as Docker), undefined when it does not run.
 */
export function networkIo(state: ContainerState): { rx: number; tx: number } | undefined {
  if (!isAlive(state)) return undefined;
  if (state.run?.network?.mode === "host") return { rx: 0, tx: 0 };
  let text: string;
  try {
    text = readFileSync(`/proc/${state.pid}/net/dev`, "utf8");
  } catch {
    return undefined; // ended meanwhile
  }
  const sum = { rx: 0, tx: 0 };
  for (const line of text.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (!rest || name!.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/).map(Number);
    sum.rx += f[0] ?? 0;
    sum.tx += f[8] ?? 0;
  }
  return sum;
}
