// A detached container's log, read across the log writer's rotation:
// log.N .. log.1 (oldest first), then log, and with follow on until it ends.
// The writer (c/logwriter.c) records a line per record in the CRI log
// format, "TIME STREAM F|P CONTENT" (TIME RFC 3339 in UTC with nanoseconds,
// F a whole line, P a part of one); a log written before it did so holds the
// bytes the container wrote, stdout and stderr as one stream, and is read as
// stdout without times (each file is one or the other, told by its first line).
import { openSync, readSync, closeSync, existsSync, fstatSync, statSync, watch, writeSync, type FSWatcher } from "node:fs";
import type { RuntimeContext } from "./context.ts";
import { containerDir, isAlive, readState, notFound, type ContainerState } from "./state.ts";
import { logFiles, runningLogWriter } from "./log-writer.ts";
import { BunkerError, errnoCode } from "../errors.ts";

const buf = Buffer.alloc(65536);

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

/** one record of a log: what stream STREAM (1 stdout, 2 stderr, Docker's numbers) got at TIME */
export interface LogEntry {
  stream: 1 | 2;
  /** RFC 3339, UTC, nanoseconds (fixed width: times compare as text); undefined in a log written before lines were timed */
  time?: string;
  bytes: Buffer;
}

const CRI = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] /;
/** "TIME STREAM T " is 40 bytes */
const HEAD = 40;

/** one file's bytes as entries: CRI records (a line at a time), or (an old log) raw stdout */
class Decoder {
  private mode: "cri" | "raw" | undefined;
  private rest = Buffer.alloc(0);
  feed(bytes: Buffer, out: LogEntry[]): void {
    let b = this.rest.length ? Buffer.concat([this.rest, bytes]) : bytes;
    this.rest = Buffer.alloc(0);
    if (this.mode === undefined) {
      const nl = b.indexOf(0x0a);
      if (nl < 0 && b.length < HEAD) {
        this.rest = Buffer.from(b);
        return;
      }
      this.mode = CRI.test(b.subarray(0, HEAD).toString("latin1")) ? "cri" : "raw";
    }
    if (this.mode === "raw") {
      if (b.length) out.push({ stream: 1, bytes: Buffer.from(b) });
      return;
    }
    let at = 0;
    for (let nl; (nl = b.indexOf(0x0a, at)) >= 0; at = nl + 1) {
      const line = b.subarray(at, nl);
      const head = line.subarray(0, HEAD).toString("latin1");
      if (line.length < HEAD || !CRI.test(head)) {
        out.push({ stream: 1, bytes: Buffer.concat([line, Buffer.from("\n")]) }); // not a record: what it holds
        continue;
      }
      const whole = head[38] === "F";
      out.push({ stream: head.startsWith("stdout", 31) ? 1 : 2, time: head.slice(0, 30), bytes: whole ? Buffer.concat([line.subarray(HEAD), Buffer.from("\n")]) : Buffer.from(line.subarray(HEAD)) });
    }
    // a record still being written: the rest comes with the next read
    if (at < b.length) this.rest = Buffer.from(b.subarray(at));
  }
}

/** reads FD from POS to its end into DECODER's entries; the position reached */
function readAll(fd: number, pos: number, decoder: Decoder, out: LogEntry[]): number {
  for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) decoder.feed(buf.subarray(0, n), out);
  return pos;
}

export interface LogsRequest {
  id: string;
  /** -f: go on until the container has exited and its log writer has written the rest */
  follow: boolean;
  /** --tail N: only the last N lines (then, with follow, what comes) */
  tail?: number;
  /** --since, --until: only lines from, and up to, these times (logTime's; a log without times has none) */
  since?: string;
  until?: string;
  /** the longest a follower waits for a change of the log before it looks again (ms; default 100) */
  pollMs?: number;
}

/**
 * `logs ID`: a detached container's output, entry by entry, across the log
 * writer's rotation (a container that has none throws here, before the first
 * entry).  The consumer may stop early (return()), which closes the file.
 */
export function logEntries(ctx: RuntimeContext, req: LogsRequest): AsyncGenerator<LogEntry> {
  const { id } = req;
  const state = readState(ctx.stateRoot, id);
  if (!state) throw notFound(id);
  const dir = containerDir(ctx.stateRoot, id);
  if (!state.run || !existsSync(`${dir}/log`)) throw new BunkerError(`logs: container "${id}" was not started with run -d`, { errno: "ENOENT", fix: "only detached containers keep a log" });
  return readEntries(state, dir, req);
}

async function* readEntries(state: ContainerState, dir: string, req: LogsRequest): AsyncGenerator<LogEntry> {
  const file = `${dir}/log`;
  const { since, until } = req;
  const wanted = (e: LogEntry) => (since === undefined && until === undefined) || (e.time !== undefined && (since === undefined || e.time >= since) && (until === undefined || e.time <= until));
  const beyond = (e: LogEntry) => until !== undefined && e.time !== undefined && e.time > until;
  // the rotated files, whole (or from where the last TAIL lines begin), oldest first; the current one stays open for -f
  const files = logFiles(dir);
  const start = req.tail === undefined ? { file: 0, offset: 0 } : tailStart(files, req.tail);
  let fd = -1, pos = 0, decoder = new Decoder();
  const entries: LogEntry[] = [];
  const changed = req.follow ? dirChanges(dir) : undefined;
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
        readAll(fd, pos, decoder, entries);
        closeSync(fd);
        decoder = new Decoder();
      }
      fd = next;
      pos = i === start.file ? start.offset : 0;
      for (const e of entries.splice(0)) {
        if (beyond(e)) return;
        if (wanted(e)) yield e;
      }
    }
    while (fd >= 0) {
      pos = readAll(fd, pos, decoder, entries);
      for (const e of entries.splice(0)) {
        if (beyond(e)) return;
        if (wanted(e)) yield e;
      }
      if (!req.follow) break;
      // the container is gone and its writer has written what it left in the pipe (asked before
      // the rotation check: a rotation before that is seen below, and none can come after)
      const done = !isAlive(state) && runningLogWriter(dir) === undefined;
      // rotated: the old file is complete once it has been renamed; finish it, go on with the one after it
      const now = inode(file);
      const ino = fstatSync(fd).ino;
      if (now !== -1 && now !== ino) {
        readAll(fd, pos, decoder, entries);
        closeSync(fd);
        fd = -1;
        fd = openSync(fileAfter(dir, ino), "r");
        pos = 0;
        decoder = new Decoder();
        continue;
      }
      if (done) {
        // what the writer wrote between the read above and its end
        readAll(fd, pos, decoder, entries);
        for (const e of entries.splice(0)) {
          if (beyond(e)) return;
          if (wanted(e)) yield e;
        }
        break;
      }
      if (until !== undefined && new Date().toISOString() > until) break; // nothing later can be wanted
      await changed!.next(req.pollMs ?? 100);
    }
  } finally {
    if (fd >= 0) closeSync(fd);
    changed?.close();
  }
}

/**
 * DIR's files change (inotify): next(MS) resolves at the next change, or
 * after MS at the latest (the container's end changes no file here), so a
 * follower sees a line as soon as it is written (an attached terminal's echo)
 */
function dirChanges(dir: string): { next(ms: number): Promise<void>; close(): void } {
  let wake: (() => void) | undefined;
  let pending = false;
  let w: FSWatcher | undefined;
  try {
    w = watch(dir, () => {
      pending = true;
      wake?.();
    });
  } catch {
    w = undefined; // removed meanwhile: the timeout alone
  }
  return {
    next: (ms) =>
      new Promise<void>((resolve) => {
        if (pending) {
          pending = false;
          return resolve();
        }
        const timer = setTimeout(() => done(), ms);
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          pending = false;
          resolve();
        };
        wake = done;
      }),
    close: () => w?.close(),
  };
}

/** --timestamps: each line of each stream begins with its time and a space (Docker's form) */
export function timestamper(): (e: LogEntry) => Buffer {
  const atStart = [true, true, true];
  return (e) => {
    const parts: Buffer[] = [];
    let at = 0;
    while (at < e.bytes.length) {
      if (atStart[e.stream] && e.time) parts.push(Buffer.from(`${e.time} `));
      const nl = e.bytes.indexOf(0x0a, at);
      const end = nl < 0 ? e.bytes.length : nl + 1;
      parts.push(e.bytes.subarray(at, end));
      atStart[e.stream] = nl >= 0;
      at = end;
    }
    return Buffer.concat(parts);
  };
}

/**
 * A --since/--until value as a log time: RFC 3339 ("2026-01-02T15:04:05Z"),
 * seconds since the epoch ("1700000000", "1700000000.5": the Engine API's
 * form), or a duration before NOW ("10m", "1h30m", "90s": the docker CLI's).
 */
export function logTime(value: string, what: string, now = Date.now()): string {
  const fixed = (ms: number, nanos?: string) => `${new Date(ms).toISOString().slice(0, 19)}.${nanos ?? String(ms % 1000).padStart(3, "0").padEnd(9, "0")}Z`;
  const epoch = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (epoch) return fixed(Number(epoch[1]) * 1000, (epoch[2] ?? "").padEnd(9, "0"));
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]!]!;
    return fixed(Math.floor(now - ms));
  }
  const utc = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(value);
  if (utc && !Number.isNaN(Date.parse(value))) return `${utc[1]}.${(utc[2] ?? "").padEnd(9, "0")}Z`; // as precise as a log's times
  const t = Date.parse(value);
  if (/^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(t)) return fixed(t);
  throw new BunkerError(`logs: ${what} must be a time (2026-01-02T15:04:05Z), seconds since the epoch or a duration such as 10m (got "${value}")`, { errno: "EINVAL" });
}

/** writes BYTES to FD whole; false when its reader has gone (`bunker logs ID | head`) */
export function writeAll(fd: number, bytes: Uint8Array): boolean {
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      const code = errnoCode(e);
      if (code === "EPIPE") return false;
      if (code !== "EAGAIN") throw e;
      Bun.sleepSync(1); // a non-blocking stdout that is full
    }
  }
  return true;
}
