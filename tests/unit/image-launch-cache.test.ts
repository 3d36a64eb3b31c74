// The launch record of `run IMAGE`: read back only while it is true of the store.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readLaunchRecord, writeLaunchRecord, type LaunchRecord } from "../../src/image/launch-cache.ts";
import { resolveUser } from "../../src/oci/user.ts";

const root = mkdtempSync(join(tmpdir(), "bunker-launch-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const layer = join(root, "layers", "a");
mkdirSync(layer, { recursive: true });
const record: LaunchRecord = { ref: "test/app:1", id: "sha256:" + "1".repeat(64), lowerDirs: [layer], config: { Cmd: ["sh"] }, passwd: "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", group: "root:x:0:\nwheel:x:10:app\n" };
/** images.json replaced the way the store does it (a new file renamed into place) */
const writeIndex = (text: string) => {
  writeFileSync(join(root, "images.json.tmp"), text);
  renameSync(join(root, "images.json.tmp"), join(root, "images.json"));
};

describe("launch records", () => {
  test("no images.json: nothing is written", () => {
    writeLaunchRecord(root, record);
    expect(readLaunchRecord(root, record.ref)).toBeUndefined();
  });

  test("read back while images.json and the layers are as they were, for that reference only", () => {
    writeIndex('{"version":1,"images":[]}');
    writeLaunchRecord(root, record);
    expect(readLaunchRecord(root, record.ref)).toMatchObject({ id: record.id, lowerDirs: [layer], config: { Cmd: ["sh"] } });
    expect(readLaunchRecord(root, "test/app:2")).toBeUndefined();
  });

  test("a new images.json (a tag, an rmi, a pull) makes it stale", () => {
    writeIndex('{"version":1,"images":[]}');
    expect(readLaunchRecord(root, record.ref)).toBeUndefined();
    writeLaunchRecord(root, record);
    expect(readLaunchRecord(root, record.ref)).toBeDefined();
  });

  test("the resolved default user is kept; a record of the old format is not read", () => {
    writeLaunchRecord(root, { ...record, user: { uid: 1000, gid: 1000, additionalGids: [10] } });
    expect(readLaunchRecord(root, record.ref)?.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10] });
    const file = join(root, "launch", "test%2Fapp:1.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"v":3', '"v":2'));
    expect(readLaunchRecord(root, record.ref)).toBeUndefined();
  });

  test("a lost layer dir (or a file in its place) and an images.json written in place make it stale", () => {
    writeLaunchRecord(root, record);
    expect(readLaunchRecord(root, record.ref)).toBeDefined();
    rmSync(layer, { recursive: true });
    expect(readLaunchRecord(root, record.ref)).toBeUndefined();
    writeFileSync(layer, "not a dir");
    expect(readLaunchRecord(root, record.ref)).toBeUndefined();
    rmSync(layer);
    mkdirSync(layer);
    expect(readLaunchRecord(root, record.ref)).toBeDefined();
    // same inode and size, another mtime
    utimesSync(join(root, "images.json"), new Date(), new Date(Date.now() + 5000));
    expect(readLaunchRecord(root, record.ref)).toBeUndefined();
    rmSync(layer, { recursive: true });
  });

  test("the user resolves from the kept passwd and group", () => {
    expect(resolveUser("app", { passwd: record.passwd, group: record.group, of: "the image" })).toEqual({ uid: 1000, gid: 1000, additionalGids: [10], home: "/home/app" });
    expect(resolveUser("1000:wheel", { passwd: record.passwd, group: record.group, of: "the image" })).toMatchObject({ uid: 1000, gid: 10, additionalGids: [] });
    expect(() => resolveUser("ghost", { passwd: record.passwd, group: record.group, of: "the image" })).toThrow("unable to find user ghost: no matching entries in passwd file");
  });
});
