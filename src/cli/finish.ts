// bunker __finish DIR CODE (internal): the clean-up of a foreground `run`
// that the monitor (c/monitor.c) hands back after the container exited: the
// OOM message, the cgroup, a writable layer owned by subordinate ids.  Exits
// with CODE, the container's status.
import { basename, dirname } from "node:path";
import type { GlobalOptions } from "./global.ts";
import { readState } from "../container/state.ts";
import { removeStateDir } from "../container/cleanup.ts";
import { BunkerError } from "../errors.ts";

export default async function finish(argv: string[], _g: GlobalOptions): Promise<number> {
  const [dir, status] = argv;
  if (!dir || !/^\d+$/.test(status ?? "")) throw new BunkerError("__finish is started by bunker's monitor: __finish DIR CODE", { errno: "EINVAL" });
  const code = Number(status);
  const state = readState(dirname(dir), basename(dir));
  if (state?.cgroup) {
    try {
      const { openCgroup, oomMessage } = await import("../cgroup/index.ts");
      const cg = openCgroup(state.cgroup);
      if (code === 137 && cg.oomKilled()) process.stderr.write(`bunker: ${oomMessage(cg)}\n`);
      cg.remove();
    } catch (e) {
      process.stderr.write(`bunker: ${e instanceof BunkerError ? e.format() : String(e)}\n`);
    }
  }
  await removeStateDir(dir, state?.run?.maps ?? { uid: [], gid: [] });
  return code;
}
