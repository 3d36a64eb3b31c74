import { describe, expect, test } from "bun:test";
import { parseId, resolveUser, homeOf, type UserFiles } from "../../src/oci/user.ts";
import { passwdEntry } from "../../src/sys/passwd.ts";
import { checkUserMapped } from "../../src/container/run.ts";

const files: UserFiles = {
  passwd: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nbad:x:12a:0::/:/bin/sh\n",
  group: "root:x:0:\nwheel:x:10:app\nstaff:x:50:root,app\napp:x:1000:\n",
  of: "the rootfs",
  etc: "/r/etc",
};

describe("resolveUser (images and --rootfs alike, Docker's rules)", () => {
  test("a name: its primary group and the groups that list it", () => {
    expect(resolveUser("app", files)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 50], home: "/home/app" });
    expect(resolveUser(undefined, files)).toEqual({ uid: 0, gid: 0, additionalGids: [50], home: "/root" });
  });

  test("a uid: the passwd entry's group and groups when it has one, else gid 0 and none", () => {
    expect(resolveUser("1000", files)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 50], home: "/home/app" });
    expect(resolveUser("4242", files)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: undefined });
  });

  test("a group given: it replaces the primary group, no supplementary groups", () => {
    expect(resolveUser("app:wheel", files)).toMatchObject({ uid: 1000, gid: 10, additionalGids: [] });
    expect(resolveUser("app:7", files)).toMatchObject({ uid: 1000, gid: 7, additionalGids: [] });
  });

  test("unknown names and bad ids: one error naming the file", () => {
    expect(() => resolveUser("ghost", files)).toThrow("unable to find user ghost: no matching entries in passwd file");
    try {
      resolveUser("app:ghosts", files);
      throw new Error("resolved");
    } catch (e) {
      expect((e as { format(): string }).format()).toBe("bunker: unable to find group ghosts: no matching entries in group file: ENOENT (No such file or directory) [/r/etc/group] — use a numeric gid or a group the rootfs's /etc/group defines");
    }
    expect(() => resolveUser("bad", files)).toThrow(`the rootfs's /etc/passwd: bad: "12a" is not a user or group id`);
    expect(() => resolveUser("4294967295", files)).toThrow("is not a user or group id");
    expect(() => resolveUser("app", { ...files, passwd: undefined })).toThrow("unable to find user app: no matching entries in passwd file");
    for (const bad of ["a:b:c", ":wheel", "app:"]) expect(() => resolveUser(bad, files)).toThrow(`user "${bad}" is not USER[:GROUP]`);
  });

  test("parseId and homeOf", () => {
    expect(parseId("4294967294", "x")).toBe(4294967294);
    for (const s of ["", "-1", "1e3", "4294967295", "00000000001"]) expect(() => parseId(s, "x")).toThrow("is not a user or group id");
    expect(homeOf(files.passwd!, 1000)).toBe("/home/app");
    expect(homeOf(files.passwd!, 5)).toBeUndefined();
    expect(passwdEntry(files.passwd!, 1000)?.[0]).toBe("app");
    expect(passwdEntry("a:x:7:7::/a:/bin/sh\nb:x:7:7::/b:/bin/sh\n", 7)?.[0]).toBe("a"); // the first, as getpwuid
  });

  test("checkUserMapped: a supplementary group outside the map is refused, naming it", () => {
    const maps = { uid: [{ containerID: 0, hostID: 100000, size: 1001 }], gid: [{ containerID: 0, hostID: 100000, size: 1001 }] };
    expect(() => checkUserMapped({ uid: 1000, gid: 1000, additionalGids: [10, 50] }, maps, process.getuid!())).not.toThrow();
    expect(() => checkUserMapped({ uid: 1000, gid: 1000, additionalGids: [10, 5000] }, maps, process.getuid!())).toThrow("run: supplementary group 5000 of user 1000:1000 is not mapped");
    expect(() => checkUserMapped({ uid: 1000, gid: 2000, additionalGids: [5000] }, maps, process.getuid!())).toThrow("run: user 1000:2000 is not mapped");
  });
});
