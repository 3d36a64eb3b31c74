// The engine's event log (src/events.ts) and GET /events' filters: lines
// appended by several writers, read back whole and followed as the log grows
// and rotates; the C writers' line (c/events.c) has the same shape.
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerEventArgs, eventsPath, EventTail, recordEvent } from "../../src/events.ts";
import { matches } from "../../src/api/events.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempRoot = () => {
  const d = mkdtempSync(join(tmpdir(), "bunker-events-"));
  dirs.push(d);
  return join(d, "data"); // made by the first event
};

describe("the engine's event log", () => {
  test("events are read back in order, in Docker's shape, with a 19-digit timeNano", () => {
    const root = tempRoot();
    recordEvent(root, "container", "create", "c1", { image: "bb", name: "c1" });
    recordEvent(root, "network", "create", "f00", { name: "n", type: "bridge" });
    const all = new EventTail(root).backlog();
    expect(all.map((e) => `${e.Type} ${e.Action} ${e.Actor.ID}`)).toEqual(["container create c1", "network create f00"]);
    expect(all[0]!.Actor.Attributes).toEqual({ image: "bb", name: "c1" });
    expect(String(all[0]!.timeNano)).toMatch(/^\d{19}$/);
    expect(Math.abs(all[0]!.time - Date.now() / 1000)).toBeLessThan(5);
    expect(all[1]!.timeNano).toBeGreaterThanOrEqual(all[0]!.timeNano);
  });

  test("a follower sees what is appended after it started, a torn line once it is whole, and the rest of a rotated log", () => {
    const root = tempRoot();
    recordEvent(root, "image", "pull", "bb:latest", { name: "bb:latest" });
    const tail = new EventTail(root);
    tail.skipToEnd();
    expect(tail.next()).toEqual([]);
    recordEvent(root, "volume", "create", "v", { driver: "local" });
    expect(tail.next().map((e) => e.Actor.ID)).toEqual(["v"]);
    const file = eventsPath(root);
    appendFileSync(file, '{"Type":"container","Action":"die","Actor":{"ID":"x","Attributes":{"exitCode":"1"}},"time":1,"timeNano":1');
    expect(tail.next()).toEqual([]); // half a line: not yet
    appendFileSync(file, "000000000}\n");
    expect(tail.next().map((e) => `${e.Action} ${e.Actor.Attributes.exitCode}`)).toEqual(["die 1"]);
    // rotation: the old file's last lines, then the new one's
    appendFileSync(file, '{"Type":"container","Action":"stop","Actor":{"ID":"y","Attributes":{}},"time":1,"timeNano":2}\n');
    renameSync(file, `${file}.1`);
    recordEvent(root, "container", "destroy", "y");
    expect(tail.next().map((e) => e.Action)).toEqual(["stop", "destroy"]);
    expect(new EventTail(root).backlog().map((e) => e.Action)).toEqual(["pull", "create", "die", "stop", "destroy"]);
  });

  test("the C writers' arguments carry the attributes as JSON members", () => {
    const args = containerEventArgs("/d", "web_1", { image: "bb", "com.docker.compose.service": "web", name: "web_1" });
    expect(args).toEqual(["--events=/d/engine-events.jsonl", "--event-id=web_1", '--event-attrs="image":"bb","com.docker.compose.service":"web","name":"web_1"']);
    // c/events.c writes {"exitCode":"N", + these}: a JSON object again
    expect(JSON.parse(`{"exitCode":"0",${args[2]!.slice("--event-attrs=".length)}}`).name).toBe("web_1");
  });

  test("GET /events' filters: each key must match, one of its values suffices", () => {
    const e = (Type: "container" | "network", Action: string, ID: string, Attributes: Record<string, string>) => ({ Type, Action, Actor: { ID, Attributes }, time: 0, timeNano: 0 });
    const die = e("container", "die", "web_1", { image: "bb", name: "web_1", exitCode: "1", "com.docker.compose.project": "p" });
    const conn = e("network", "connect", "abcdef", { name: "net", container: "web_1" });
    expect(matches(die, {})).toBe(true);
    expect(matches(die, { type: ["container"], event: ["start", "die"] })).toBe(true);
    expect(matches(die, { type: ["network"] })).toBe(false);
    expect(matches(die, { container: ["web_1"] })).toBe(true);
    expect(matches(conn, { container: ["web_1"] })).toBe(true);
    expect(matches(die, { container: ["db_1"] })).toBe(false);
    expect(matches(die, { image: ["bb"] })).toBe(true);
    expect(matches(die, { label: ["com.docker.compose.project=p"] })).toBe(true);
    expect(matches(die, { label: ["com.docker.compose.project=q"] })).toBe(false);
    expect(matches(conn, { network: ["net"] })).toBe(true);
    expect(matches(conn, { network: ["abc"] })).toBe(true);
  });
});
