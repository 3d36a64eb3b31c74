// Pure parts of image ownership and the storage driver choice.
import { describe, expect, test } from "bun:test";
import { copyOwnerMaps, layerOwners } from "../../src/image/owners.ts";
import { forcedStorageDriver, parseStorageDriver, probedStorageDriver } from "../../src/image/driver.ts";
import { singleMaps, type IdMaps } from "../../src/sys/idmap.ts";
import { encodePlan } from "../../src/sys/plan-encode.ts";
import { BunkerError } from "../../src/errors.ts";

const sub: IdMaps = {
  uid: [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 200000, size: 65536 }],
  gid: [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 200000, size: 65536 }],
};

describe("layer owners", () => {
  test("root keeps the tar's ids; a user with a range gets subordinate ids; without one, everything is the caller's", () => {
    expect(layerOwners(0, undefined)).toEqual({ kind: "tar" });
    expect(layerOwners(1001, sub)).toEqual({ kind: "subuid", maps: sub });
    expect(layerOwners(1001, undefined)).toEqual({ kind: "caller" });
  });
  test("a copied rootfs is chowned only when the container's map holds more than the caller", () => {
    expect(copyOwnerMaps(sub, 1001, 1001)).toBe(sub);
    expect(copyOwnerMaps(singleMaps(1001, 1001), 1001, 1001)).toBeUndefined();
    // root unpacks with the tar's ids already
    expect(copyOwnerMaps({ uid: [{ containerID: 0, hostID: 0, size: 65537 }], gid: [{ containerID: 0, hostID: 0, size: 65537 }] }, 0, 0)).toBeUndefined();
  });
  test("the chown-tree op is encoded as shim op 40 with its path", () => {
    const buf = encodePlan({ cloneFlags: 0, ops: [{ op: "chown-tree", path: "/s/tmp/layer-x" }] });
    const dv = new DataView(buf.buffer);
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true)]).toEqual([40, 0, 1]);
    const len = dv.getUint32(32, true);
    expect(new TextDecoder().decode(buf.subarray(36, 36 + len))).toBe("/s/tmp/layer-x");
  });
});

describe("storage driver", () => {
  test("--storage-driver wins over BUNKER_STORAGE_DRIVER; neither: not forced", () => {
    expect(forcedStorageDriver("copy", "overlay")).toEqual({ driver: "copy", why: "--storage-driver" });
    expect(forcedStorageDriver(undefined, "copy")).toEqual({ driver: "copy", why: "BUNKER_STORAGE_DRIVER" });
    expect(forcedStorageDriver(undefined, undefined)).toBeUndefined();
  });
  test("an unknown driver is one clear line naming where it came from", () => {
    expect(parseStorageDriver("overlay", "x")).toBe("overlay");
    try {
      forcedStorageDriver(undefined, "vfs");
      throw new Error("no error");
    } catch (e) {
      expect((e as BunkerError).format()).toBe('bunker: BUNKER_STORAGE_DRIVER: unknown storage driver "vfs": EINVAL (Invalid argument) — use overlay or copy');
    }
    expect(() => forcedStorageDriver("", undefined)).toThrow('--storage-driver: unknown storage driver ""');
  });
  test("probed: overlay when the mount works, else copy with the reason", () => {
    expect(probedStorageDriver(undefined).driver).toBe("overlay");
    const c = probedStorageDriver("bunker: cannot mount overlay on /merged: EINVAL (Invalid argument) [/merged]");
    expect(c).toEqual({ driver: "copy", why: "overlayfs cannot be mounted in a user namespace (cannot mount overlay on /merged: EINVAL (Invalid argument) [/merged])" });
  });
});
