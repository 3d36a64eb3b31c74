// stop, rm and the monitor's __finish: the end of a container `run` made.
import { existsSync } from "node:fs";
import { basename, dirname } from "node:path";
import { BunkerError } from "../errors.ts";
import { openCgroup } from "../cgroup/index.ts";
import { savedCgroupPath } from "../cgroup/state.ts";
import { parseSignal } from "../sys/signals.ts";
import { removeStateDir } from "./state-dir.ts";
import { callerMaps } from "../sys/idmap.ts";
import { readVolumeUse, removeAnonymousVolumes } from "../volume/attach.ts";
import type { RuntimeContext } from "./context.ts";
import { killEverything, SIGKILL } from "./kill.ts";
import { recordSignalExit } from "./exit-record.ts";
import { endLogWriter } from "./log-writer.ts";
import { containerDir, isAlive, readState, status, type ContainerState } from "./state.ts";
import { unlinkNames } from "./rename.ts";
import { lockContainer } from "./lock.ts";

/**
 * stop ID: its stop signal (the image's StopSignal, else SIGTERM), then SIGKILL after SECS;
 * the wait is asynchronous (a server answers other requests meanwhile)
 */
export async function stop(ctx: RuntimeContext, id: string, secs: number): Promise<void> {
  const state = readState(ctx.stateRoot, id); // "does not exist" without a state dir
  if (!state) throw new BunkerError(`stop: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
  if (isAlive(state)) {
    process.kill(state.pid, parseSignal(state.run?.stopSignal));
    const end = Date.now() + secs * 1000;
    while (isAlive(state) && Date.now() < end) await Bun.sleep(10);
    if (isAlive(state) && killEverything(state)) recordSignalExit(containerDir(ctx.stateRoot, id), state, SIGKILL);
  }
}


/** rm ID: a stopped container (FORCE: a running one too, killed first), its writable layer included;
 * VOLUMES (rm -v): its anonymous volumes too */
export async function rm(ctx: RuntimeContext, id: string, force: boolean, volumes = false): Promise<void> {
  const root = ctx.stateRoot;
  const dir = containerDir(root, id);
  const state = readState(root, id); // "does not exist" without a state dir
  const release = lockContainer(dir, id);
  try {
    if (!state) {
      // a run killed before its container process was recorded: none was released
      // (one still waiting reads EOF on its sync socket once its bunker is gone)
      if (!force) throw new BunkerError(`rm: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
    } else if (isAlive(state)) {
      // a created one (its program never ran) goes without -f, as Docker's
      if (!force && status(dir, state) !== "created") throw new BunkerError(`rm: container "${id}" is running`, { errno: "EBUSY", fix: `bunker stop ${id} first, or bunker rm -f ${id}` });
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
  await leaveUserNetwork(ctx, state, id);
  // the maps a run of this user would have used: a copied rootfs left by a killed run may belong to its subordinate ids
  const maps = state?.run?.maps ?? callerMaps(ctx.ids);
  const use = readVolumeUse(dir);
  await removeStateDir(ctx, dir, maps);
  unlinkNames(root, id);
  if (volumes) await removeAnonymousVolumes(use, maps, ctx.log.warn);
}

/** container ID (its STATE) leaves its user network, under the data root the run recorded (__finish gets no --data-root) */
async function leaveUserNetwork(ctx: RuntimeContext, state: ContainerState | undefined, id: string): Promise<void> {
  const userNet = state?.run?.network?.userNetwork;
  if (userNet) await (await import("./network.ts")).leaveNetwork({ ...ctx, dataRoot: userNet.dataRoot ?? ctx.dataRoot }, userNet.name, id);
}

/**
 * __finish DIR: the clean-up of a foreground `run` that the monitor
 * (c/monitor.c) could not do after the container exited: a writable layer
 * owned by subordinate ids (removed in a user namespace), a cgroup that would not go,
 * the container's anonymous volumes (the monitor hands those over always).
 */
export async function finish(ctx: RuntimeContext, dir: string): Promise<void> {
  const state = readState(dirname(dir), basename(dir));
  if (state?.cgroup) {
    try {
      if (existsSync(state.cgroup)) openCgroup(state.cgroup).remove();
    } catch (e) {
      ctx.log.warn(e instanceof BunkerError ? e : new BunkerError(String(e)));
    }
  }
  await leaveUserNetwork(ctx, state, basename(dir));
  const maps = state?.run?.maps ?? { uid: [], gid: [] };
  const use = readVolumeUse(dir);
  await removeStateDir(ctx, dir, maps);
  await removeAnonymousVolumes(use, maps, ctx.log.warn);
}
