// The bridge between a container's state dir and its cgroup: `run` records
// the cgroup's path in DIR/cgroup (OCI `create` keeps it in state.json's
// "cgroup"), and `update`/`pause`/`resume`/`stats`/`events` (and `kill --all`,
// `delete --force`) reopen it by container id.
import { readFileSync, writeFileSync } from "node:fs";
import type { GlobalOptions } from "../cli/global.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, containerDir, readState } from "../container/state.ts";
import { BunkerError } from "../errors.ts";
import { openCgroup } from "./index.ts";

const FILE = "cgroup";

/** Records the container's cgroup path in its state dir. */
export function saveCgroupPath(stateDir: string, path: string): void {
  writeFileSync(`${stateDir}/${FILE}`, path + "\n", { mode: 0o600 });
}

/** The cgroup path recorded in the state dir, if any. */
export function savedCgroupPath(stateDir: string): string | undefined {
  try {
    return readFileSync(`${stateDir}/${FILE}`, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The container's cgroup; an error when the container has none. */
export function cgroupOfContainer(g: GlobalOptions, id: string, what: string) {
  const root = stateRoot(g).dir;
  const dir = containerDir(root, checkId(id, what));
  let path = readState(root, id)?.cgroup; // throws "does not exist" for an unknown id
  if (!path) {
    path = savedCgroupPath(dir);
    if (!path) {
      throw new BunkerError(`${what}: container "${id}" has no cgroup`, {
        errno: "EOPNOTSUPP",
        path: dir,
        fix: `it runs without one (started with --cgroup-manager disabled, or no delegated cgroup v2 then: see 'bunker check'), and ${what} needs one${what === "pause" || what === "resume" ? " (the freezer)" : ""}`,
      });
    }
  }
  return openCgroup(path);
}
