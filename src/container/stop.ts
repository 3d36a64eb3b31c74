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
import { attachedNetworks, containerDir, isAlive, listIds, readState, status, type ContainerState } from "./state.ts";
import { markStoppedByUser } from "./restart-policy.ts";
import { containerEventAttributes, recordEvent } from "../events.ts";
import { unlinkNames } from "./rename.ts";
import { lockContainer } from "./lock.ts";

/**
 * stop ID: its stop signal (the image's StopSignal, else SIGTERM), then SIGKILL after SECS;
 * the wait is asynchronous (a server answers other requests meanwhile)
 */
export async function stop(ctx: RuntimeContext, id: string, secs: number): Promise<void> {
  const state = readState(ctx.stateRoot, id); // "does not exist" without a state dir
  if (!state) throw new BunkerError(`stop: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
  const dir = containerDir(ctx.stateRoot, id);
  markStoppedByUser(dir); // its restart policy leaves it stopped
  if (isAlive(state)) {
    const signal = parseSignal(state.run?.stopSignal);
    process.kill(state.pid, signal);
    containerEvent(ctx, state, "kill", { signal: String(signal) });
    const end = Date.now() + secs * 1000;
    while (isAlive(state) && Date.now() < end) await Bun.sleep(10);
    if (isAlive(state) && killEverything(state)) {
      containerEvent(ctx, state, "kill", { signal: String(SIGKILL) });
      recordSignalExit(dir, state, SIGKILL);
    }
  }
  containerEvent(ctx, state, "stop");
}

/** container ID (state S) has left its user networks */
async function leaveNetworks(ctx: RuntimeContext, s: ContainerState | undefined, id: string): Promise<void> {
  const nets = attachedNetworks(s);
  if (!nets.length) return;
  const { leaveNetwork } = await import("./network.ts"); // loaded only for a container on one
  // where the network lives: bunker __finish may run without --data-root
  for (const n of nets) await leaveNetwork({ ...ctx, dataRoot: n.dataRoot ?? ctx.dataRoot }, n.name, id);
}

/** ACTION of container S in the event log (src/events.ts) */
export function containerEvent(ctx: RuntimeContext, s: ContainerState, action: string, extra: Record<string, string> = {}): void {
  recordEvent(ctx.dataRoot, "container", action, s.id, { ...containerEventAttributes(s.id, s.run?.image, s.run?.labels), ...extra });
}


/** rm ID: a stopped container (FORCE: a running one too, killed first), its writable layer included;
 * VOLUMES (rm -v): its anonymous volumes too */
export async function rm(ctx: RuntimeContext, id: string, force: boolean, volumes = false, restarting = false): Promise<void> {
  const root = ctx.stateRoot;
  const dir = containerDir(root, id);
  const state = readState(root, id); // "does not exist" without a state dir
  const release = lockContainer(dir, id);
  if (state) markStoppedByUser(dir); // a restart policy waiting to start it again does not
  try {
    if (!state) {
      // a run killed before its container process was recorded: none was released
      // (one still waiting reads EOF on its sync socket once its bunker is gone)
      if (!force) throw new BunkerError(`rm: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
    } else if (isAlive(state)) {
      // a created one (its program never ran) goes without -f, as Docker's
      if (!force && status(dir, state) !== "created") throw new BunkerError(`rm: container "${id}" is running`, { errno: "EBUSY", fix: `bunker stop ${id} first, or bunker rm -f ${id}` });
      if (!killEverything(state)) throw new BunkerError(`rm: container "${id}" did not die after SIGKILL`, { errno: "ETIMEDOUT" });
      if (state.run) containerEvent(ctx, state, "kill", { signal: String(SIGKILL) });
      // its status, as nobody inside is left to write it: the log writer reads it, says die, and ends
      recordSignalExit(dir, state, SIGKILL);
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
  await leaveNetworks(ctx, state, id);
  // the maps a run of this user would have used: a copied rootfs left by a killed run may belong to its subordinate ids
  const maps = state?.run?.maps ?? callerMaps(ctx.ids);
  const use = readVolumeUse(dir);
  await removeStateDir(ctx, dir, maps);
  unlinkNames(root, id);
  if (state?.run && !restarting) containerEvent(ctx, state, "destroy");
  if (volumes) await removeAnonymousVolumes(use, maps, ctx.log.warn);
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
  await leaveNetworks(ctx, state, basename(dir));
  const maps = state?.run?.maps ?? { uid: [], gid: [] };
  const use = readVolumeUse(dir);
  await removeStateDir(ctx, dir, maps);
  if (state?.run) containerEvent(ctx, state, "destroy");
  await removeAnonymousVolumes(use, maps, ctx.log.warn);
}

/** docker's container prune: every stopped container removed; their ids */
export async function pruneContainers(ctx: RuntimeContext): Promise<string[]> {
  const gone: string[] = [];
  for (const id of listIds(ctx.stateRoot)) {
    const state = readState(ctx.stateRoot, id);
    if (!state || status(containerDir(ctx.stateRoot, id), state) !== "stopped") continue;
    await rm(ctx, id, false);
    gone.push(id);
  }
  return gone;
}
