// The lock file (flock) that serializes commands on one container, through
// libc (src/sys/fs-core.ts: not the shim, whose library is extracted and
// dlopen'd; not node:fs, which OCI start and delete do not load).
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { AT_FDCWD, close, flock, LOCK_EX, openat } from "../sys/fs-core.ts";
import { notFound } from "./state-read.ts";

const O_WRONLY = 0o1, O_CREAT = 0o100, O_APPEND = 0o2000;

/**
 * exclusive lock on FILE (made when missing); released by the returned function (or at exit).
 * WHAT names it in errors; MISSING: the error when FILE's directory is gone
 */
export function lockFile(file: string, what: string, missing: () => BunkerError): () => void {
  let fd: number;
  try {
    fd = openat(AT_FDCWD, file, O_WRONLY | O_CREAT | O_APPEND, 0o600);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") throw missing();
    throw fromSysError(`cannot open ${what}`, e, { path: file });
  }
  const r = flock(fd, LOCK_EX);
  if (r < 0) {
    close(fd);
    throw new BunkerError(`cannot take ${what}`, { errno: -r, path: file });
  }
  return () => close(fd);
}

/** exclusive lock on the container's lock file; released by the returned function (or at exit) */
export function lockContainer(dir: string, id: string): () => void {
  return lockFile(`${dir}/lock`, "the container lock", () => notFound(id));
}
