// `export ID`: a running container's root, as the container sees it, as a tar
// on stdout (docker export).  The host's tar reads it through /proc/PID/root
// (the container's mount namespace; tar follows no symlink it archives, so
// none leads out) as root of the container's user namespace: the owners it
// records are the container's (0, 999), not the host ids they map to, and
// files only those ids may read are read.  Host root exporting a container
// that maps one id only reads as itself: the ids are the host's then.
import { readFileSync, readlinkSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import { containerUsernsPlan } from "../plan/join.ts";
import { launch } from "../sys/launch.ts";
import { supervise } from "../sys/shim.ts";
import { hostTar } from "../sys/unshare.ts";
import type { RuntimeContext } from "./context.ts";
import { containerStatus, notFound } from "./state.ts";
import { parseMapText } from "./userns.ts";

export async function exportContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const { state, status } = containerStatus(ctx.stateRoot, id);
  if (!state) throw notFound(id);
  if (status !== "running" && status !== "paused")
    throw new BunkerError(`export: container "${id}" is ${status}: its root is exported while it runs (its writable layer ends with it)`, { errno: "ESRCH", fix: "export it while it runs (bunker ps lists those)" });
  const tar = hostTar("export");
  const ns = (pid: number | "self") => readlinkSync(`/proc/${pid}/ns/user`);
  // host root keeps its power over every id in a namespace that maps only one (a single map):
  // joining it would only lose the others; anyone else sees the files as the container does only in it
  const join = ns(state.pid) !== ns("self") && (ctx.ids.uid !== 0 || parseMapText(readFileSync(`/proc/${state.pid}/uid_map`, "utf8")).some((m) => m.size > 1));
  const root = `/proc/${state.pid}/root`;
  const plan = containerUsernsPlan(state.pid, join, tar, [tar, "--numeric-owner", "--one-file-system", "-C", root, "-cf", "-", "."], ["PATH=/usr/bin:/bin"]);
  const st = supervise((await launch(plan)).pid, -1, false);
  if (st.code !== 0 || st.signal) throw new BunkerError(`export: tar ended with ${st.signal ? `signal ${st.signal}` : `status ${st.code}`}`, { errno: "EIO", path: root });
}
