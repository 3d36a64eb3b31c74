// The context of the commands a container's own programs start (__finish,
// __restart): apart from context.ts, which every command loads and which
// loads no node module.
import { dirname } from "node:path";
import type { RuntimeContext } from "../container/context.ts";
import { readHandOver } from "../container/hand-over.ts";
import { runtimeContext } from "./context.ts";
import type { GlobalOptions } from "./global.ts";

/**
 * The context of a command a container's own program hands its state dir DIR
 * to (`__finish`, `__restart`): they run with no environment and no flags, so
 * the roots, the manager and the environment are those the container was made
 * with (src/container/hand-over.ts); the state root is DIR's parent.
 */
export function handedOverContext(g: GlobalOptions, dir: string): RuntimeContext {
  const rec = readHandOver(dir);
  if (!rec) return runtimeContext({ ...g, root: dirname(dir) });
  return runtimeContext({ ...g, root: dirname(dir), dataRoot: rec.dataRoot, cgroupManager: rec.cgroupManager, storageDriver: rec.storageDriver }, rec.env);
}
