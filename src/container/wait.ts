// docker's wait: the exit status of a container once it is not running (a
// created one's program never ran: 0 now, as Docker's not-running condition).
import { watch, type FSWatcher } from "node:fs";
import type { RuntimeContext } from "./context.ts";
import { exitRecord } from "./exit-record.ts";
import { containerDir, containerStatus, watchStatus } from "./state.ts";

/**
 * the status container ID exits with (docker's 128+N for signal N), when it has; it is looked at every 20 ms.
 * NEXT_EXIT (start -a's, Docker's condition next-exit): a created one is waited for too, until it has run
 */
export async function waitContainer(ctx: RuntimeContext, id: string, nextExit = false): Promise<number> {
  containerStatus(ctx.stateRoot, id); // "does not exist" when there is no such container
  const dir = containerDir(ctx.stateRoot, id);
  let code = 0;
  // its exit status is read as soon as it is written: a run -d --rm container's state dir
  // goes some milliseconds later, sooner than a look every 20 ms may come (the API's wait does the same)
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      code = exitRecord(dir)?.code ?? code;
    });
  } catch {
    watcher = undefined; // removed already
  }
  try {
    for (;;) {
      const { status } = watchStatus(ctx.stateRoot, id);
      if (status === "stopped") return exitRecord(dir)?.code ?? code;
      if (status === "created" && !nextExit) return code;
      if (status === "removed") return code; // gone meanwhile (a run -d --rm): its last status, if it was seen
      code = exitRecord(dir)?.code ?? code;
      await Bun.sleep(20);
    }
  } finally {
    watcher?.close();
  }
}
