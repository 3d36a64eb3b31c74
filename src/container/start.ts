// docker's `start`: a created container's program released (OCI start of its
// exec.fifo); a stopped docker-style container made again from the request it
// was created from, its log kept, then released; a running one left alone.
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { BunkerError, fromSysError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { start } from "./oci-start.ts";
import type { RunRequest } from "./run.ts";
import { containerDir, readState, status } from "./state.ts";

/** `bunker start ID` of any container: OCI's start, or docker's (see above); whether it was docker's */
export async function startContainer(ctx: RuntimeContext, id: string): Promise<boolean> {
  const dir = containerDir(ctx.stateRoot, id);
  const state = readState(ctx.stateRoot, id);
  const st = state ? status(dir, state) : undefined;
  if (!state?.run || st === "created") {
    await start(ctx, id);
    return !!state?.run;
  }
  if (st !== "stopped") return true; // running or paused: docker's start does nothing
  // made again: run's code (and rm's, the log's) only for this, not for the OCI start above
  const [{ createContainer, RUN_REQUEST_FILE }, { rm }, { logFiles }] = await Promise.all([import("./run.ts"), import("./stop.ts"), import("./log-writer.ts")]);
  let req: RunRequest;
  try {
    req = JSON.parse(readFileSync(`${dir}/${RUN_REQUEST_FILE}`, "utf8")) as RunRequest;
  } catch (e) {
    throw fromSysError(`start: container "${id}" has no record of how it was made`, e, { path: `${dir}/${RUN_REQUEST_FILE}`, fix: `it was started by an older bunker: bunker rm ${id}, then run it again` });
  }
  // its log lives on: moved aside while the old state dir goes (the writable layer and anonymous volumes with it)
  const keep = mkdtempSync(`${ctx.stateRoot}/.${id}.restart-`);
  try {
    const logs = logFiles(dir).map((f) => {
      const to = `${keep}/${f.slice(f.lastIndexOf("/") + 1)}`;
      renameSync(f, to);
      return to;
    });
    await rm(ctx, id, false, true);
    if (existsSync(dir)) throw new BunkerError(`start: the stopped container "${id}" could not be removed to start again`, { errno: "EBUSY", path: dir, fix: `bunker rm -f ${id}` });
    await createContainer(ctx, { ...req, name: id }, { previousLogs: logs });
  } finally {
    rmSync(keep, { recursive: true, force: true });
  }
  await start(ctx, id);
  return true;
}
