// The bridge between a container's state dir and its cgroup: `run` records
// the cgroup's path in DIR/cgroup (OCI `create` keeps it in state.json's
// "cgroup"), and `update`/`pause`/`resume`/`stats`/`events` (and `kill --all`,
// `delete --force`) reopen it by container id (src/container/cgroup.ts).
// Read through libc (src/sys/fs-core.ts): `delete` loads no node:fs.
import { readText } from "../sys/fs-core.ts";

const FILE = "cgroup";

/** Records the container's cgroup path in its state dir. */
export function saveCgroupPath(stateDir: string, path: string): void {
  (require("node:fs") as typeof import("node:fs")).writeFileSync(`${stateDir}/${FILE}`, path + "\n", { mode: 0o600 });
}

/** The cgroup path recorded in the state dir, if any. */
export function savedCgroupPath(stateDir: string): string | undefined {
  try {
    return readText(`${stateDir}/${FILE}`).trim() || undefined;
  } catch {
    return undefined;
  }
}
