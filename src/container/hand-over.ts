// What a container's own small programs hand back to bunker runs with: the
// monitor's `bunker __finish` and the log writer's `bunker __restart` are
// exec'd with no environment and no global flags (bunker's environment stays
// bunker's), so the context the container was made in is kept in its state
// dir (DIR/context.json, 0600) for them: the data root, the cgroup manager,
// the storage driver and the environment variables the engine reads.
import { readFileSync, writeFileSync } from "node:fs";
import type { CgroupManagerName, RuntimeContext } from "./context.ts";

export const HAND_OVER_FILE = "context.json";

export interface HandOver {
  dataRoot: string;
  cgroupManager?: CgroupManagerName;
  storageDriver?: string;
  env: Record<string, string>;
}

/** the variables a container's set-up reads (helpers on PATH, the store's and the user's dirs, BUNKER_*) */
const KEPT = /^(PATH|HOME|XDG_RUNTIME_DIR|XDG_DATA_HOME|XDG_CONFIG_HOME|BUNKER_\w+)$/;

export function writeHandOver(dir: string, ctx: RuntimeContext): void {
  const env = Object.fromEntries(Object.entries(ctx.env).filter((e): e is [string, string] => KEPT.test(e[0]) && e[1] !== undefined));
  const rec: HandOver = { dataRoot: ctx.dataRoot, cgroupManager: ctx.cgroupManager, storageDriver: ctx.storageDriver, env };
  writeFileSync(`${dir}/${HAND_OVER_FILE}`, JSON.stringify(rec), { mode: 0o600 });
}

/** DIR's hand-over record; undefined when there is none (a container of an older bunker) */
export function readHandOver(dir: string): HandOver | undefined {
  try {
    const r = JSON.parse(readFileSync(`${dir}/${HAND_OVER_FILE}`, "utf8")) as HandOver;
    return typeof r.dataRoot === "string" && r.env && typeof r.env === "object" ? r : undefined;
  } catch {
    return undefined;
  }
}
