// The bridge between a container's state dir and its cgroup: `run`/`create`
// record the cgroup's path, `update`/`pause`/`resume`/`stats`/`events`/
// `kill --all`/`delete --force` reopen it by container id.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { GlobalOptions } from "../cli/global.ts";
import { stateRoot } from "../container/paths.ts";
import { BunkerError } from "../errors.ts";
import { openCgroup } from "./index.ts";

const FILE = "cgroup";

/** Records the container's cgroup path in its state dir. */
export function saveCgroupPath(stateDir: string, path: string): void {
  writeFileSync(`${stateDir}/${FILE}`, path + "\n", { mode: 0o600 });
}

/** The container's cgroup, or undefined when it runs without one. */
export function cgroupOfContainer(g: GlobalOptions, id: string, what: string) {
  const dir = `${stateRoot(g).dir}/${id}`;
  let path: string;
  try {
    path = readFileSync(`${dir}/${FILE}`, "utf8").trim();
  } catch (e) {
    if (!existsSync(dir)) throw new BunkerError(`${what}: no container "${id}"`, { errno: "ENOENT", path: dir, fix: "check the id (and --root)" });
    const code = (e as { code?: string }).code;
    throw new BunkerError(`${what}: container "${id}" has no cgroup`, {
      errno: code === "ENOENT" ? "EOPNOTSUPP" : code,
      path: `${dir}/${FILE}`,
      fix: "it was started without a usable cgroup v2 (see 'bunker check')",
    });
  }
  return openCgroup(path);
}
