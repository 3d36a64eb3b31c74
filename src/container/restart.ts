// A restart policy at work: `bunker __restart DIR CODE`, which a container's
// log writer (c/logwriter.c) becomes once the container has ended, decides as
// Docker's restart manager does (src/container/restart-policy.ts), waits its
// back-off and starts the container again as `bunker start` does.  No server
// is needed: the policy lives with the container.  `stop`, `kill` and `rm`
// mark the container stopped by hand first, and the mark is checked again
// after the wait.
import { existsSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { exitRecord } from "./exit-record.ts";
import { readRestartCount, restartDelay, shouldRestart, shouldStartWithServer, STOPPED_FILE } from "./restart-policy.ts";
import { startContainer } from "./start.ts";
import { containerDir, containerStatus, listIds } from "./state.ts";

/** container ID exited with CODE: started again when its policy says so; whether it was */
export async function restartAfterExit(ctx: RuntimeContext, id: string, code: number): Promise<boolean> {
  const dir = containerDir(ctx.stateRoot, id);
  const stoppedByHand = () => !existsSync(dir) || existsSync(`${dir}/${STOPPED_FILE}`);
  let state;
  try {
    state = containerStatus(ctx.stateRoot, id).state;
  } catch (e) {
    if (e instanceof BunkerError && e.errnoName === "ENOENT") return false; // removed meanwhile
    throw e;
  }
  const policy = state?.run?.restart;
  if (!state || !policy) return false;
  const before = readRestartCount(dir);
  if (!shouldRestart(policy, code, before.count, stoppedByHand())) return false;
  const ran = (exitRecord(dir)?.at.getTime() ?? Date.now()) - Date.parse(state.created);
  const delayMs = restartDelay(before.delayMs, ran);
  ctx.log.debug?.(`restart: ${id} exited with ${code}, restart ${before.count + 1} in ${delayMs} ms (${policy.name})`);
  await Bun.sleep(delayMs);
  // stopped, removed or started by hand while this waited
  if (stoppedByHand() || containerStatus(ctx.stateRoot, id).status !== "stopped") return false;
  await startContainer(ctx, id, { count: before.count + 1, delayMs });
  return true;
}

/**
 * `bunker serve` starting is Docker's daemon start: every stopped container
 * whose policy says so (shouldStartWithServer: `always` even when stopped by
 * hand, `unless-stopped` and `on-failure` only when not) is started again, as
 * `bunker start` does; the ids started.  One that will not start is a warning.
 */
export async function restartAtServerStart(ctx: RuntimeContext): Promise<string[]> {
  const started: string[] = [];
  for (const id of listIds(ctx.stateRoot)) {
    let st;
    try {
      st = containerStatus(ctx.stateRoot, id);
    } catch {
      continue; // removed meanwhile, or unreadable: list shows why
    }
    const policy = st.state?.run?.restart;
    if (!policy || st.status !== "stopped") continue;
    // no exit record: it ended with the host, or its log writer did; a failure as far as on-failure goes
    const code = exitRecord(st.dir)?.code ?? 255;
    if (!shouldStartWithServer(policy, code, readRestartCount(st.dir).count, existsSync(`${st.dir}/${STOPPED_FILE}`))) continue;
    try {
      await startContainer(ctx, id);
      started.push(id);
      ctx.log.note(`serve: started ${id} again (restart policy ${policy.name})`);
    } catch (e) {
      if (!(e instanceof BunkerError)) throw e;
      ctx.log.warn(new BunkerError(`serve: cannot start ${id} again (restart policy ${policy.name}): ${e.format().replace(/^bunker: /, "")}`));
    }
  }
  return started;
}
