// docker's rename: a container gets another name, its id (its state dir, which
// its monitor, log writer and helpers hold paths in) stays, so a running one
// keeps running.  The name is a link NAMES_DIR/NAME -> ID (state.ts) that every
// lookup by name goes through; the container's user network lists it by it.
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { lockContainer } from "./lock.ts";
import { attachedNetworks, checkId, checkNameFree, containerDir, containerId, containerName, NAMES_DIR, namesOf, readState } from "./state.ts";

/** links NAME to container ID (a name equal to its id needs none) */
export function linkName(root: string, id: string, name: string): void {
  if (name === id) return;
  mkdirSync(`${root}/${NAMES_DIR}`, { recursive: true, mode: 0o700 });
  try {
    symlinkSync(id, `${root}/${NAMES_DIR}/${name}`);
  } catch (e) {
    if (errnoCode(e) === "EEXIST") throw new BunkerError(`rename: the name "${name}" is in use`, { errno: "EEXIST", fix: "choose another name" });
    throw fromSysError("rename: cannot record the name", e, { path: `${root}/${NAMES_DIR}/${name}` });
  }
}

/** the names linked to container ID removed (rm) */
export function unlinkNames(root: string, id: string): void {
  for (const n of namesOf(root, id)) rmSync(`${root}/${NAMES_DIR}/${n}`, { force: true });
}

/** `rename OLD NEW`: container OLD (id or name) is NEW from now on, in every command and on its user network */
export async function renameContainer(ctx: RuntimeContext, old: string, name: string): Promise<void> {
  const root = ctx.stateRoot;
  checkId(name, "rename");
  const id = containerId(root, checkId(old, "rename"));
  const dir = containerDir(root, id);
  const state = readState(root, id);
  if (!state) throw new BunkerError(`rename: container "${old}" is being created`, { errno: "EBUSY", fix: "try again when bunker ps lists it" });
  const current = containerName(root, id);
  if (name === current) throw new BunkerError(`rename: container "${old}" is named "${name}" already`, { errno: "EINVAL", fix: "give it a new name" });
  const release = lockContainer(dir, id);
  try {
    if (name !== id) checkNameFree(root, name, "rename");
    // a stale link of that name (its container removed) is no one's
    rmSync(`${root}/${NAMES_DIR}/${name}`, { force: true });
    linkName(root, id, name);
    if (current !== id) rmSync(`${root}/${NAMES_DIR}/${current}`, { force: true });
  } finally {
    release();
  }
  const nets = attachedNetworks(state);
  if (nets.length) {
    const { renameEndpoint } = await import("./network.ts");
    for (const n of nets) await renameEndpoint(ctx, n.name, id, name);
  }
}
