// OCI start: release the container's process waiting on exec.fifo.  Its own
// module, not lifecycle.ts: `start` loads none of create's machinery (plans,
// the launcher, cgroups): 22 KB of code instead of 199 KB.  The hooks' code
// (and node:os, for signal names) only for a container that has hooks; no
// node:fs (~0.7 ms to load): exec.fifo through libc (src/sys/fs-core.ts).
import { BunkerError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { lockContainer } from "./lock.ts";
import type { ContainerState } from "./state.ts";
import { isAlive, loadExisting, status, statePayload } from "./state-read.ts";
import { AT_FDCWD, close, openat, readFd, unlink, waitReadable } from "../sys/fs-core.ts";
import { concatBytes } from "../loops.ts";

const O_RDONLY = 0, O_NONBLOCK = 0o4000, EINTR = 4, EAGAIN = 11;

/** start: release the process waiting on exec.fifo; DIR: the container's state dir when the caller found it (its state is read again under the lock) */
export async function start(ctx: RuntimeContext, id: string, dir = loadExisting(ctx.stateRoot, id).dir): Promise<void> {
  const root = ctx.stateRoot;
  const release = lockContainer(dir, id);
  try {
    const { state } = loadExisting(root, id);
    const st = status(dir, state);
    if (st !== "created") throw new BunkerError(`cannot start a container that is ${st}`, { errno: "EINVAL", fix: st === "stopped" ? `bunker delete ${id}` : undefined });
    const fifo = `${dir}/exec.fifo`;
    const fd = openat(AT_FDCWD, fifo, O_RDONLY | O_NONBLOCK);
    let failed: Uint8Array | undefined;
    try {
      failed = releaseExecFifo(fd, state, id);
    } finally {
      close(fd);
      // gone already when a quick program of a run -d --rm ended and its state dir was removed meanwhile
      unlink(fifo);
    }
    if (failed) throw (await import("../oci/hooks.ts")).startHookError(state.hooks!.startContainer!, failed);
    if (state.hooks?.poststart?.length) await (await import("../oci/hooks.ts")).runHooks("poststart", state.hooks.poststart, statePayload(state, "running"), { onWarning: ctx.log.warn, env: ctx.env });
  } finally {
    release();
  }
}

/**
 * Reading exec.fifo lets the waiting child go on; it writes "0".  With
 * startContainer hooks (the child runs them in the container) we read on to
 * EOF, the child's exec or exit: anything after the "0" is the record of a
 * hook that failed (c/hooks.c op_hook), and the program did not run: that
 * record is returned (undefined: the program runs).  Between
 * reads we poll: the child's "0" wakes us (it was already blocked opening
 * the fifo, so it takes a scheduling round, not the 1 ms sleeps this took);
 * a non-blocking reader sees no hang-up before a writer came, so a child that
 * died before it opened the fifo is found by the check every 100 ms (runc's
 * interval).
 */
function releaseExecFifo(fd: number, state: ContainerState, id: string): Uint8Array | undefined {
  const hooks = state.hooks?.startContainer ?? [];
  // typed arrays, not Buffer: Buffer's first use costs ~0.1-0.2 ms of a start
  const buf = new Uint8Array(4096);
  const after: Uint8Array[] = [];
  let released = false;
  let gone = false;
  for (;;) {
    const r = readFd(fd, buf);
    if (r === -EINTR) continue;
    if (r < 0 && r !== -EAGAIN) throw new BunkerError("cannot read the container's exec.fifo", { errno: -r, fix: `bunker delete --force ${id}` });
    const n = r < 0 ? -1 : r;
    if (n <= 0 && gone) throw new BunkerError("the container process exited before start", { errno: "ESRCH", fix: `bunker delete ${id}` });
    if (n > 0) {
      after.push(buf.slice(released ? 0 : 1, n));
      released = true;
      if (!hooks.length) return undefined;
      continue;
    }
    if (n === 0 && released) break; // no writer left (before the child opens it, 0 means "not yet")
    // gone: but a quick program may have written its "0" and ended since the read above: read once more
    if (!released && !isAlive(state)) gone = true;
    else waitReadable(fd, 100);
  }
  const record = concatBytes(after);
  return record.length >= 12 ? record : undefined;
}
