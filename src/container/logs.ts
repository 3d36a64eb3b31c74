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

/** copies FD from POS to its end to OUT (written before the buffer is read into again); the position reached */
function drain(fd: number, out: number, pos: number): number {
  for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) {
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
  return pos;
}

/**
 * Where the last N lines of FILES (oldest first, one stream) begin: the
 * index of a file and the offset in it, found reading backwards from the end.
 * The stream's last byte belongs to its last line (its newline, or a line
 * still being written); every newline before it starts a line.
 */
function tailStart(files: string[], n: number): { file: number; offset: number } {
  let found = 0, last = true;
  for (let f = files.length - 1; f >= 0; f--) {
    let fd;
    try {
      fd = openSync(files[f]!, "r");
    } catch {
      continue; // rotated away meanwhile
    }
    try {
      const size = fstatSync(fd).size;
      if (n === 0) return { file: f, offset: size };
      for (let end = size, len; end > 0; end -= len) {
        len = Math.min(buf.length, end);
        readSync(fd, buf, 0, len, end - len);
        for (let i = len - 1; i >= 0; i--) {
          if (last) last = false;
          else if (buf[i] === 0x0a && ++found === n) return { file: f, offset: end - len + i + 1 };
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return { file: 0, offset: 0 };
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
  /** --tail N: only the last N lines (then, with follow, what comes) */
  tail?: number;
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
  // the rotated files, whole (or from where the last TAIL lines begin), oldest first; the current one stays open for -f
  const files = logFiles(dir);
  const start = req.tail === undefined ? { file: 0, offset: 0 } : tailStart(files, req.tail);
  let fd = -1, pos = 0;
  try {
    for (const [i, f] of files.entries()) {
      if (i < start.file) continue;
      let next;
      try {
        next = openSync(f, "r");
      } catch {
        continue; // rotated away meanwhile
      }
      if (fd >= 0) {
        drain(fd, req.fd, pos);
        closeSync(fd);
      }
      fd = next;
      pos = i === start.file ? start.offset : 0;
    }
    while (fd >= 0) {
      pos = drain(fd, req.fd, pos);
      if (!req.follow) break;
      // the container is gone and its writer has written what it left in the pipe (asked before
      // the rotation check: a rotation before that is seen below, and none can come after)
      const done = !isAlive(state) && runningLogWriter(dir) === undefined;
      // rotated: the old file is complete once it has been renamed; finish it, go on with the one after it
      const now = inode(file);
      const ino = fstatSync(fd).ino;
      if (now !== -1 && now !== ino) {
        drain(fd, req.fd, pos);
        closeSync(fd);
        fd = -1;
        fd = openSync(fileAfter(dir, ino), "r");
        pos = 0;
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
