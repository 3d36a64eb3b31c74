// HOME for a process whose environment has none, as runc sets it: the home
// directory of its uid in the container's /etc/passwd, else "/".  The file is
// read inside the rootfs (openat2 RESOLVE_IN_ROOT: a symlink in it cannot
// point at a host file), at most 1 MiB of it.
import { readSync } from "node:fs";
import { homeOf } from "../oci/user.ts";
import { O_DIRECTORY, O_PATH, O_RDONLY, RESOLVE_IN_ROOT, close, openat, openat2, AT_FDCWD } from "../sys/fsat.ts";

const MAX_PASSWD = 1 << 20;

/** PATH inside ROOT (RESOLVE_IN_ROOT), at most 1 MiB of it; undefined when it cannot be read */
export function readInRoot(root: string, path: string): string | undefined {
  let rootFd = -1, fd = -1;
  try {
    rootFd = openat(AT_FDCWD, root, O_PATH | O_DIRECTORY);
    fd = openat2(rootFd, path, O_RDONLY, 0, RESOLVE_IN_ROOT);
    const buf = Buffer.alloc(MAX_PASSWD);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    return buf.toString("utf8", 0, n);
  } catch {
    return undefined; // no passwd: "/"
  } finally {
    if (fd >= 0) close(fd);
    if (rootFd >= 0) close(rootFd);
  }
}

/**
 * The directory a container's own files are read through: its PID 1's root
 * while that can be opened (the container's mounts: an image's overlay, its
 * /etc files), else ROOTFS (an OCI container's PID 1 waiting for start is
 * not dumpable yet, and only root may open it)
 */
export function containerRoot(pid: number, rootfs: string | undefined): string | undefined {
  const root = `/proc/${pid}/root`;
  try {
    close(openat(AT_FDCWD, root, O_PATH | O_DIRECTORY));
    return root;
  } catch {
    return rootfs;
  }
}

/** ENV with HOME added when it has none: from ROOT's /etc/passwd for UID, else "/" */
export function withHome(env: string[], root: string | undefined, uid: number): string[] {
  for (const e of env) if (e.startsWith("HOME=")) return env; // a plain loop: Array.prototype.some is a builtin written in JavaScript (its first call costs every create)
  const text = root ? readInRoot(root, "/etc/passwd") : undefined;
  return [...env, `HOME=${(text && homeOf(text, uid)) || "/"}`];
}
