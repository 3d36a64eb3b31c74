// A detached container's log, read across the log writer's rotation:
// log.N .. log.1 (oldest first), then log, and with follow on until it ends.
import { openSync, readSync, closeSync, existsSync, fstatSync, statSync, writeSync } from "node:fs";
import type { RuntimeContext } from "./context.ts";
import { containerDir, isAlive, readState, notFound } from "./state.ts";
import { logFiles, runningLogWriter } from "./log-writer.ts";
import { BunkerError, errnoCode } from "../errors.ts";

const buf = Buffer.alloc(65536);
/** the reader of OUT has gone (`bunker logs ID | head`): nothing more to do */
const READER_GONE = Symbol("EPIPE");

/** copies FD from its offset to its end to OUT (written before the buffer is read into again) */
function drain(fd: number, out: number): void {
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
    for (let off = 0; off < n; ) {
      try {
        off += writeSync(out, buf, off, n - off);
      } catch (e) {
        const code = errnoCode(e);
        if (code === "EPIPE") throw READER_GONE;
        if (code !== "EAGAIN") throw e;
        Bun.sleepSync(1); // a non-blocking stdout that is full
      }
    }
  }
}

/** the inode of PATH, or -1 when it is not there (between a rotation's rename and the new file) */
function inode(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}

/**
 * The log file written after the one with inode INO, which has been rotated
 * away: the next newer of log.N .. log.1, log (several rotations can pass
 * between two looks); the oldest one kept when INO has been dropped already.
 */
function fileAfter(dir: string, ino: number): string {
  const files = logFiles(dir);
  const at = files.findIndex((f) => inode(f) === ino);
  return files[at + 1] ?? `${dir}/log`;
}

export interface LogsRequest {
  id: string;
  /** -f: go on until the container has exited and its log writer has written the rest */
  follow: boolean;
  /** where the output goes (the CLI's stdout; an API server's socket) */
  fd: number;
}

/** `logs ID`: a detached container's output (stdout and stderr as written), across the log writer's rotation */
export async function copyLogs(ctx: RuntimeContext, req: LogsRequest): Promise<void> {
  const { id } = req;
  const root = ctx.stateRoot;
  const state = readState(root, id);
  if (!state) throw notFound(id);
  const dir = containerDir(root, id);
  const file = `${dir}/log`;
  if (!state.run || !existsSync(file)) throw new BunkerError(`logs: container "${id}" was not started with run -d`, { errno: "ENOENT", fix: "only detached containers keep a log" });
  // the rotated files, whole, oldest first; the current one stays open for -f
  let fd = -1;
  try {
    for (const f of logFiles(dir)) {
      let next;
      try {
        next = openSync(f, "r");
      } catch {
        continue; // rotated away meanwhile
      }
      if (fd >= 0) {
        drain(fd, req.fd);
        closeSync(fd);
      }
      fd = next;
    }
    while (fd >= 0) {
      drain(fd, req.fd);
      if (!req.follow) break;
      // the container is gone and its writer has written what it left in the pipe (asked before
      // the rotation check: a rotation before that is seen below, and none can come after)
      const done = !isAlive(state) && runningLogWriter(dir) === undefined;
      // rotated: the old file is complete once it has been renamed; finish it, go on with the one after it
      const now = inode(file);
      const ino = fstatSync(fd).ino;
      if (now !== -1 && now !== ino) {
        drain(fd, req.fd);
        closeSync(fd);
        fd = -1;
        fd = openSync(fileAfter(dir, ino), "r");
        continue;
      }
      if (done) break;
      await Bun.sleep(100);
    }
  } catch (e) {
    if (e !== READER_GONE) throw e;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
