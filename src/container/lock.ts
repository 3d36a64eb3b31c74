// The lock file (flock) that serializes commands on one container.  Apart from
// state.ts because it needs bun:ffi (libc's flock, src/sys/fs-core.ts: not the
// shim, whose library is extracted and dlopen'd): `state`, `list` and `ps`
// read state.ts and would pay for a lock they never take.
import { closeSync, openSync } from "node:fs";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { flock, LOCK_EX } from "../sys/fs-core.ts";
import { notFound } from "./state.ts";

/** exclusive lock on the container's lock file; released by the returned function (or at exit) */
export function lockContainer(dir: string, id: string): () => void {
  let fd: number;
  try {
    fd = openSync(`${dir}/lock`, "a", 0o600);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") throw notFound(id);
    throw fromSysError("cannot open the container lock", e, { path: `${dir}/lock` });
  }
  const r = flock(fd, LOCK_EX);
  if (r < 0) throw new BunkerError("cannot lock the container", { errno: -r, path: `${dir}/lock` });
  return () => closeSync(fd);
}
