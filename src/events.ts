// The engine's event log (what `docker events` shows): one JSON line per
// thing that happened to a container, an image, a volume or a network,
// appended to DATA_ROOT/engine-events.jsonl by whoever did it — the CLI, the
// API server, a container's monitor or log writer (c/monitor.c, c/logwriter.c
// write a container's die event in the same shape) — so that a reader (GET
// /events) sees a `bunker run` from the CLI as well as a request of its own.
// No daemon keeps them: a line is written with one O_APPEND write (atomic
// for lines this small), and the log is bounded: past MAX_BYTES it becomes
// engine-events.jsonl.1 (the one older generation kept).  The OCI command
// `bunker events` (runc's stats and OOM events of one container) is another
// thing and reads none of this.
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync } from "./sys/fs-sync.ts";

export const EVENTS_FILE = "engine-events.jsonl";
const MAX_BYTES = 4 * 2 ** 20;

export type EventType = "container" | "image" | "volume" | "network";

/** one event as Docker's API sends it (the fields of events.Message a client reads) */
export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

export const eventsPath = (dataRoot: string) => `${dataRoot}/${EVENTS_FILE}`;

/** the wall clock as Docker's time (seconds) and timeNano (a 19-digit integer, written as text: a double loses its last digits) */
function now(): { time: number; timeNano: string } {
  const ms = performance.timeOrigin + performance.now();
  const time = Math.floor(ms / 1000);
  const ns = Math.min(999_999_999, Math.floor((ms - time * 1000) * 1e6));
  const digits = String(ns); // padded by hand: String.prototype.padStart is a builtin written in JavaScript (its first call costs every run)
  return { time, timeNano: `${time}${"000000000".slice(digits.length)}${digits}` };
}

/**
 * Appends TYPE ACTION of ID (with ATTRIBUTES) to DATA_ROOT's event log; ACTION
 * a list: one event each, in order, in one write (run's create and start).  An
 * event that cannot be written is dropped: what happened has happened, and
 * the operation that did it does not fail for its log.
 */
export function recordEvent(dataRoot: string, type: EventType, action: string | string[], id: string, attributes: Record<string, string> = {}): void {
  const file = eventsPath(dataRoot);
  const { time, timeNano } = now();
  const tail = `,"Actor":${JSON.stringify({ ID: id, Attributes: attributes })},"time":${time},"timeNano":${timeNano}}\n`;
  let line = "";
  for (const a of typeof action === "string" ? [action] : action) line += `{"Type":${JSON.stringify(type)},"Action":${JSON.stringify(a)}${tail}`;
  if (!line) return;
  try {
    if (statSync(file).size > MAX_BYTES) renameSync(file, `${file}.1`);
  } catch {
    /* no log yet */
  }
  try {
    mkdirSync(dataRoot, { recursive: true, mode: 0o700 });
    appendFileSync(file, line, { mode: 0o600 });
  } catch {
    /* a data root that cannot be made, or a full disk: see above */
  }
}

/** a container's attributes in its events, as Docker's: its labels, image and name */
export function containerEventAttributes(id: string, image: string | undefined, labels: Record<string, string> | undefined): Record<string, string> {
  return { ...(labels ?? {}), image: image ?? "", name: id };
}

/**
 * the arguments that make c/monitor.c or c/logwriter.c write container ID's
 * events (die, with its exitCode; destroy) into DATA_ROOT's log: its
 * ATTRIBUTES as JSON members, to which the C side adds exitCode
 */
export function containerEventArgs(dataRoot: string, id: string, attributes: Record<string, string>): string[] {
  return [`--events=${eventsPath(dataRoot)}`, `--event-id=${id}`, `--event-attrs=${JSON.stringify(attributes).slice(1, -1)}`];
}

/** the bytes of FILE from OFFSET to its end, and its inode; undefined when it is not there */
function readFrom(file: string, offset: number): { ino: number; bytes: Buffer } | undefined {
  let fd;
  try {
    fd = openSync(file, "r");
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const len = Math.max(0, st.size - offset);
    const bytes = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, bytes, got, len - got, offset + got);
      if (n <= 0) break;
      got += n;
    }
    return { ino: st.ino, bytes: bytes.subarray(0, got) };
  } finally {
    closeSync(fd);
  }
}

/** the complete lines of BYTES as events (a line being written, or one that is no event, is skipped) */
function parseLines(bytes: Buffer): { events: EngineEvent[]; used: number } {
  const end = bytes.lastIndexOf(0x0a) + 1;
  const events: EngineEvent[] = [];
  for (const line of bytes.subarray(0, end).toString("utf8").split("\n")) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as EngineEvent;
      if (typeof e.Type === "string" && typeof e.Action === "string" && typeof e.Actor?.ID === "string" && typeof e.timeNano === "number") events.push(e);
    } catch {
      /* a torn line of a crashed writer */
    }
  }
  return { events, used: end };
}

/**
 * A reader of DATA_ROOT's event log that follows it as it grows and rotates:
 * backlog() gives what is in it now (the older generation first), then each
 * next() what was appended since.
 */
export class EventTail {
  private ino = -1;
  private offset = 0;
  private readonly file: string;
  constructor(dataRoot: string) {
    this.file = eventsPath(dataRoot);
  }

  backlog(): EngineEvent[] {
    const old = readFrom(`${this.file}.1`, 0);
    const cur = readFrom(this.file, 0);
    const events = old ? parseLines(old.bytes).events : [];
    if (cur) {
      const p = parseLines(cur.bytes);
      events.push(...p.events);
      this.ino = cur.ino;
      this.offset = p.used;
    }
    return events;
  }

  /** skips what is in the log now: next() gives only what comes after */
  skipToEnd(): void {
    const cur = readFrom(this.file, 0);
    if (cur) {
      this.ino = cur.ino;
      this.offset = parseLines(cur.bytes).used;
    }
  }

  next(): EngineEvent[] {
    const events: EngineEvent[] = [];
    let cur = readFrom(this.file, this.offset);
    if (cur && cur.ino !== this.ino) {
      // rotated: the rest of the file this read, now the older generation, then the new one from its start
      const old = readFrom(`${this.file}.1`, this.offset);
      if (old && old.ino === this.ino) events.push(...parseLines(old.bytes).events);
      this.ino = cur.ino;
      this.offset = 0;
      cur = readFrom(this.file, 0);
    }
    if (cur) {
      const p = parseLines(cur.bytes);
      events.push(...p.events);
      this.offset += p.used;
    }
    return events;
  }
}
