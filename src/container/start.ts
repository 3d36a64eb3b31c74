// docker's `start`: a created container's program released (OCI start of its
// exec.fifo); a stopped docker-style container made again from the request it
// was created from, its log kept, then released; a running one left alone.
// An OCI container's start loads none of docker's machinery: node:fs, the
// events log and state.ts's write side are imported for a docker-style one.
import { BunkerError, fromSysError } from "../errors.ts";
import { someOf } from "../loops.ts";
import type { RuntimeContext } from "./context.ts";
import { start } from "./oci-start.ts";
import type { RunRequest } from "./run.ts";
import { containerDir, readState, status } from "./state-read.ts";
import type { AttachedNetwork, ContainerState } from "./state.ts";

/** the user networks container S is on (state.ts's attachedNetworks, which this module does not load for an OCI container) */
async function attachedNetworks(s: ContainerState): Promise<AttachedNetwork[]> {
  return s.run?.network ? (await import("./state.ts")).attachedNetworks(s) : [];
}

/**
 * `bunker start ID` of any container: OCI's start, or docker's (see above);
 * whether it was docker's.  RESTARTED: its restart policy starts it again
 * (src/container/restart.ts), the how-manyth time and after what back-off.
 * BEFORE_RELEASE runs once the container is made (again) and before its
 * program is released (start -a takes its output's place there).
 */
export async function startContainer(ctx: RuntimeContext, id: string, restarted?: { count: number; delayMs: number }, beforeRelease?: () => void): Promise<boolean> {
  const dir = containerDir(ctx.stateRoot, id);
  const state = readState(ctx.stateRoot, id);
  const st = state ? status(dir, state) : undefined;
  // said before the program is released: its die (written by its log writer) comes after it, as Docker's
  const starting = async () => {
    if (!state?.run) return;
    const { containerEventAttributes, recordEvent } = await import("../events.ts");
    recordEvent(ctx.dataRoot, "container", "start", id, containerEventAttributes(id, state.run.image, state.run.labels));
  };
  // a created container that network connect could not put on a network now is made again, on it
  const pending = state ? someOf(await attachedNetworks(state), (n) => !n.ip) : false;
  if (!state?.run || (st === "created" && !pending)) {
    beforeRelease?.();
    await starting();
    await start(ctx, id, state ? dir : undefined); // its state read: the dir is known (read again under the lock)
    return !!state?.run;
  }
  if (st !== "stopped" && st !== "created") return true; // running or paused: docker's start does nothing
  // made again: run's code (and rm's, the log's, the store's) only for this, not for the OCI start above
  const [{ existsSync, mkdtempSync, readFileSync, renameSync }, { namesOf, RUN_REQUEST_FILE, UPPER_DIR }, { createContainer }, { rm }, { logFiles }, { imageGone, imageOf }, { Store }, { removeStateDir }, { linkName }] = await Promise.all([
    import("node:fs"),
    import("./state.ts"),
    import("./run.ts"),
    import("./stop.ts"),
    import("./log-writer.ts"),
    import("./image-use.ts"),
    import("../image/store.ts"),
    import("./state-dir.ts"),
    import("./rename.ts"),
  ]);
  let req: RunRequest;
  try {
    req = JSON.parse(readFileSync(`${dir}/${RUN_REQUEST_FILE}`, "utf8")) as RunRequest;
  } catch (e) {
    throw fromSysError(`start: container "${id}" has no record of how it was made`, e, { path: `${dir}/${RUN_REQUEST_FILE}`, fix: `it was started by an older bunker: bunker rm ${id}, then run it again` });
  }
  // its log and writable layer live on: moved aside while the old state dir goes (anonymous volumes with it),
  // and it is made again from the image it was made from (by ID: its tag may name another one now)
  const imageId = imageOf(dir);
  if (imageId && !Store.open(ctx.dataRoot).find(imageId)) throw imageGone("start", id, imageId);
  // '@' is not in an id: never listed as a container while it is started again
  const keep = mkdtempSync(`${ctx.stateRoot}/${id}@restart-`);
  try {
    const moved = (f: string) => {
      const to = `${keep}/${f.slice(f.lastIndexOf("/") + 1)}`;
      renameSync(f, to);
      return to;
    };
    const logs = logFiles(dir).map(moved);
    const previousUpper = existsSync(`${dir}/${UPPER_DIR}`) ? moved(`${dir}/${UPPER_DIR}`) : undefined;
    const names = namesOf(ctx.stateRoot, id); // rm unlinks them: made again for the new run
    await rm(ctx, id, false, true, true);
    for (const n of names) linkName(ctx.stateRoot, id, n);
    if (existsSync(dir)) throw new BunkerError(`start: the stopped container "${id}" could not be removed to start again`, { errno: "EBUSY", path: dir, fix: `bunker rm -f ${id}` });
    await createContainer(ctx, { ...req, name: id }, { previousLogs: logs, previousUpper, imageId, restarted });
  } finally {
    // what is left (a layer a failed create did not take) may belong to the container's subordinate ids
    await removeStateDir(ctx, keep, state.run.maps);
  }
  beforeRelease?.();
  await starting();
  await start(ctx, id);
  return true;
}

/** docker's restart: a running container stopped as `stop` does (SECS before SIGKILL), then started as `start` */
export async function restartContainer(ctx: RuntimeContext, id: string, secs: number): Promise<void> {
  const state = readState(ctx.stateRoot, id);
  if (state && status(containerDir(ctx.stateRoot, id), state) === "running") await (await import("./stop.ts")).stop(ctx, id, secs);
  await startContainer(ctx, id);
}
