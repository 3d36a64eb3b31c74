// What a container's own small programs hand back to bunker runs with: the
// monitor's `bunker __finish` and the log writer's `bunker __restart` are
// exec'd with no environment and no global flags (bunker's environment stays
// bunker's), so the context the container was made in is kept in its state
// dir (DIR/context.json, 0600) for them: the data root, the cgroup manager,
// the storage driver and the environment variables the engine reads.
import { readFileSync, writeFileSync } from "../sys/fs-sync.ts";
import type { CgroupManagerName, RuntimeContext } from "./context.ts";

export const HAND_OVER_FILE = "context.json";

export interface HandOver {
  dataRoot: string;
  cgroupManager?: CgroupManagerName;
  storageDriver?: string;
  env: Record<string, string>;
}

/** the variables a container's set-up reads (helpers on PATH, the store's and the user's dirs, BUNKER_*) */
const KEPT = new Set(["PATH", "HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"]);

/** BUNKER_ and one or more word characters (\w: A-Z a-z 0-9 _) */
function isBunkerVar(name: string): boolean {
  if (name.length <= 7 || !name.startsWith("BUNKER_")) return false;
  for (let i = 7; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return false;
  }
  return true;
}

export function writeHandOver(dir: string, ctx: RuntimeContext): void {
  // a plain loop, no regular expression: Object.entries/fromEntries and filter are builtins
  // written in JavaScript (their first call costs, on run's path: src/loops.ts)
  const env: Record<string, string> = {};
  for (const k in ctx.env) {
    const v = ctx.env[k];
    if (v !== undefined && (KEPT.has(k) || isBunkerVar(k))) env[k] = v;
  }
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
