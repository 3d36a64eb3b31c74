// A detached container's log as the engine reads it (src/container/logs.ts):
// CRI records (time, stream, whole or partial line) and the older raw form,
// tail, since/until, timestamps; and the attach input's detach keys
// (src/api/attach.ts).  No container runs: the state dir is written here.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logEntries, logTime, timestamper, type LogEntry } from "../../src/container/logs.ts";
import type { RuntimeContext } from "../../src/container/context.ts";
import { detachKeys, escapeFilter } from "../../src/container/attach.ts";

const root = mkdtempSync(join(tmpdir(), "bunker-logs-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ctx = { stateRoot: root } as RuntimeContext;

/** a stopped container ID whose log files are FILES (oldest first: log.N .. log) */
function container(id: string, files: string[]): void {
  const dir = join(root, id);
  mkdirSync(dir);
  writeFileSync(join(dir, "state.json"), JSON.stringify({ id, pid: 0, pidStart: "", run: { command: ["sh"], maps: { uid: [], gid: [] } } }));
  files.forEach((text, k) => writeFileSync(join(dir, k === files.length - 1 ? "log" : `log.${files.length - 1 - k}`), text));
}

const T = (s: number) => `2026-12-03T10:00:0${s}.000000000Z`;
const text = (es: LogEntry[], stream?: 1 | 2) => es.filter((e) => !stream || e.stream === stream).map((e) => e.bytes.toString()).join("");

async function entries(id: string, req: Partial<Parameters<typeof logEntries>[1]> = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of logEntries(ctx, { id, follow: false, ...req })) out.push(e);
  return out;
}

describe("the container log", () => {
  container("mixed", ["old a\nold b\n", `${T(1)} stdout F one\n${T(2)} stderr F two\n${T(3)} stdout P par\n${T(4)} stdout F tial\n`]);

  test("CRI records: streams apart, a partial line joined by what follows; an old raw file is stdout without times", async () => {
    const es = await entries("mixed");
    expect(text(es, 1)).toBe("old a\nold b\none\npartial\n");
    expect(text(es, 2)).toBe("two\n");
    expect(es.map((e) => e.time)).toEqual([undefined, T(1), T(2), T(3), T(4)]);
  });

  test("tail counts records from the end, across files", async () => {
    expect(text(await entries("mixed", { tail: 2 }))).toBe("partial\n");
    expect(text(await entries("mixed", { tail: 4 }))).toBe("one\ntwo\npartial\n");
    expect(text(await entries("mixed", { tail: 0 }))).toBe("");
  });

  test("since and until: by time, inclusive; lines without a time are left out", async () => {
    expect(text(await entries("mixed", { since: T(2) }))).toBe("two\npartial\n");
    expect(text(await entries("mixed", { until: T(2) }))).toBe("one\ntwo\n");
    expect(text(await entries("mixed", { since: T(2), until: T(3) }))).toBe("two\npar");
  });

  test("timestamps: each line begins with its time, a partial line's once", async () => {
    const stamp = timestamper();
    const out = (await entries("mixed")).map((e) => stamp(e).toString()).join("");
    expect(out).toBe(`old a\nold b\n${T(1)} one\n${T(2)} two\n${T(3)} partial\n`);
  });

  test("a record being written (no newline yet) waits; a line that is no record is passed on as it is", async () => {
    container("torn", [`${T(1)} stdout F whole\nnot a record\n${T(2)} stdout F cut`]);
    expect(text(await entries("torn"))).toBe("whole\nnot a record\n");
  });

  test("a container without a log is an error before the first entry", () => {
    mkdirSync(join(root, "oci"));
    writeFileSync(join(root, "oci", "state.json"), JSON.stringify({ id: "oci", pid: 0, pidStart: "" }));
    expect(() => logEntries(ctx, { id: "oci", follow: false })).toThrow('logs: container "oci" was not started with run -d');
  });
});

describe("logTime", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  test("RFC 3339 (nanoseconds kept), seconds since the epoch, durations before now", () => {
    expect(logTime("2026-12-03T10:00:01.123456789Z", "since")).toBe("2026-12-03T10:00:01.123456789Z");
    expect(logTime("2026-12-03T10:00:01Z", "since")).toBe("2026-12-03T10:00:01.000000000Z");
    expect(logTime("2026-12-03T11:00:01+01:00", "since")).toBe("2026-12-03T10:00:01.000000000Z");
    expect(logTime("1796292001.5", "since")).toBe("2026-12-03T10:00:01.500000000Z");
    expect(logTime("1796292001", "since")).toBe("2026-12-03T10:00:01.000000000Z");
    expect(logTime("10m", "since", now)).toBe("2026-12-03T11:50:00.000000000Z");
    expect(logTime("1h30m", "since", now)).toBe("2026-12-03T10:30:00.000000000Z");
    expect(logTime("1.5s", "since", now)).toBe("2026-12-03T11:59:58.500000000Z");
  });
  test("anything else is one line naming the flag and the forms", () => {
    expect(() => logTime("yesterday", "--since")).toThrow('logs: --since must be a time (2026-01-02T15:04:05Z), seconds since the epoch or a duration such as 10m (got "yesterday")');
    expect(() => logTime("10x", "until")).toThrow("until must be a time");
  });
});

describe("detach keys", () => {
  test("Docker's spelling: ctrl-p,ctrl-q by default; letters; a bad key is a 400", () => {
    expect([...detachKeys(null)]).toEqual([0x10, 0x11]);
    expect([...detachKeys("a,ctrl-@,ctrl-[")]).toEqual([0x61, 0, 0x1b]);
    expect(() => detachKeys("ctrl-pq")).toThrow('attach: detachKeys: "ctrl-pq" is no key');
  });
  test("the sequence detaches and is not passed on; a broken one is passed on whole", () => {
    const f = escapeFilter(detachKeys(null));
    expect(f(new Uint8Array([0x61, 0x10]))).toEqual({ pass: new Uint8Array([0x61]), detached: false });
    expect(f(new Uint8Array([0x62]))).toEqual({ pass: new Uint8Array([0x10, 0x62]), detached: false });
    expect(f(new Uint8Array([0x10, 0x10]))).toEqual({ pass: new Uint8Array([0x10]), detached: false });
    expect(f(new Uint8Array([0x11, 0x63]))).toEqual({ pass: new Uint8Array([]), detached: true });
  });
});
