// OCI delete (and delete --force): the container's processes killed, its
// cgroup and state dir removed.  Its own module, not lifecycle.ts, and what only
// some containers need loaded when they do: deleting a stopped container
// loads no plan, launcher or cgroup code, and no node:fs (~0.7 ms to load):
// its state dir, flat, is read and removed through libc (src/sys/fs-core.ts).
import { BunkerError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { lockContainer } from "./lock.ts";
import { containerDir, notFound, readState, status, statePayload } from "./state-read.ts";
import { exists, removeFlatDir } from "../sys/fs-core.ts";
import { savedCgroupPath } from "../cgroup/state.ts";

/** the cgroup at PATH removed */
async function removeCgroup(path: string): Promise<void> {
  (await import("../cgroup/index.ts")).openCgroup(path).remove();
}

export async function deleteContainer(ctx: RuntimeContext, id: string, force: boolean): Promise<void> {
  const root = ctx.stateRoot;
  const dir = containerDir(root, id);
  // --force on a container that is already gone succeeds, as runc's does (containerd's shim
  // runs `delete --force` once more when it cleans up after a task it deleted)
  if (!exists(dir)) {
    if (force) return;
    throw notFound(id);
  }
  const release = lockContainer(dir, id);
  try {
    const state = readState(root, id);
    if (state) {
      const st = status(dir, state);
      if (st !== "stopped") {
        if (!force) throw new BunkerError(`cannot delete container "${id}" that is ${st}`, { errno: "EBUSY", fix: `stop it first, or bunker delete --force ${id}` });
        if (!(await import("./kill.ts")).killEverything(state)) throw new BunkerError(`container "${id}" did not die after SIGKILL`, { errno: "ETIMEDOUT" });
      }
      if (state.cgroup) await removeCgroup(state.cgroup);
      // poststop failures are reported, not fatal (runtime-spec)
      if (state.hooks?.poststop?.length) await (await import("../oci/hooks.ts")).runHooks("poststop", state.hooks.poststop, statePayload(state, "stopped"), { onWarning: ctx.log.warn, env: ctx.env });
    } else {
      // a create killed before its container process was recorded: none was released, but its cgroup may exist
      const cgroup = savedCgroupPath(dir);
      if (cgroup && exists(cgroup)) await removeCgroup(cgroup);
    }
    // a run -d container's log writer (its record in DIR): it drains the pipe and exits once the container is dead
    if (exists(`${dir}/log-writer`)) (await import("./log-writer.ts")).endLogWriter(dir);
    // an OCI container's dir is flat; one with directories (a writable layer, a volume's) goes through node:fs
    if (!removeFlatDir(dir)) (await import("node:fs")).rmSync(dir, { recursive: true, force: true });
  } finally {
    release();
  }
}
