// The lock file (flock) that serializes commands on one container.  Apart from
// state.ts because it needs bun:ffi (libc's flock, src/sys/fs-core.ts: not the
// shim, whose library is extracted and dlopen'd): `state`, `list` and `ps`
// read state.ts and would pay for a lock they never take.
import { closeSync, openSync } from "node:fs";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { flock, LOCK_EX } from "../sys/fs-core.ts";
import { notFound } from "./state.ts";

/**
 * exclusive lock on FILE (made when missing); released by the returned function (or at exit).
 * WHAT names it in errors; MISSING: the error when FILE's directory is gone
 */
export function lockFile(file: string, what: string, missing: () => BunkerError): () => void {
  let fd: number;
  try {
    fd = openSync(file, "a", 0o600);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") throw missing();
    throw fromSysError(`cannot open ${what}`, e, { path: file });
  }
  const r = flock(fd, LOCK_EX);
  if (r < 0) {
    closeSync(fd);
    throw new BunkerError(`cannot take ${what}`, { errno: -r, path: file });
  }
  return () => closeSync(fd);
}

/** exclusive lock on the container's lock file; released by the returned function (or at exit) */
export function lockContainer(dir: string, id: string): () => void {
  return lockFile(`${dir}/lock`, "the container lock", () => notFound(id));
}
