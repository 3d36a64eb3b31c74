// Pure parts of image ownership and the storage driver choice.
import { describe, expect, test } from "bun:test";
import { flattenOwners, layerOwners } from "../../src/image/owners.ts";
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
  test("flattening: the merge keeps the layers' owners when the container sees them so, else the copier owns and the records give the container's", () => {
    const single = singleMaps(1001, 1001);
    const other: IdMaps = { uid: [sub.uid[0]!, { containerID: 1, hostID: 300000, size: 65536 }], gid: [sub.gid[0]!, { containerID: 1, hostID: 300000, size: 65536 }] };
    const subLayer = { kind: "subuid" as const, maps: sub };
    const identity: IdMaps = { uid: [{ containerID: 0, hostID: 0, size: 65537 }], gid: [{ containerID: 0, hostID: 0, size: 65537 }] };
    // root: the tar's ids copied, whatever the container's map (--userns=auto maps them to themselves)
    expect(flattenOwners([{ kind: "tar" }, undefined], identity, 0, 0)).toEqual({ ns: undefined, copierOwns: false, records: null });
    // root on layers a user unpacked: its records applied without a user namespace
    expect(flattenOwners([{ kind: "caller" }], undefined, 0, 0)).toEqual({ ns: undefined, copierOwns: true, records: undefined });
    // subuid layers, the container with the same map: copied in it
    expect(flattenOwners([subLayer, subLayer], sub, 1001, 1001)).toEqual({ ns: sub, copierOwns: false, records: null });
    // --userns=single on them: read in their map, every file the caller's (root inside)
    expect(flattenOwners([subLayer], single, 1001, 1001)).toEqual({ ns: sub, copierOwns: true, records: null });
    // another range: the records applied in the container's map
    expect(flattenOwners([subLayer], other, 1001, 1001)).toEqual({ ns: sub, copierOwns: true, records: other });
    // layers of the caller (no range when they were unpacked): one-id map, copied; a range now: the records
    expect(flattenOwners([{ kind: "caller" }, undefined], single, 1001, 1001)).toEqual({ ns: single, copierOwns: false, records: null });
    expect(flattenOwners([{ kind: "caller" }], undefined, 1001, 1001)).toEqual({ ns: single, copierOwns: false, records: null });
    expect(flattenOwners([{ kind: "caller" }], sub, 1001, 1001)).toEqual({ ns: single, copierOwns: true, records: sub });
    // mixed layers: read where the subordinate owners can be, owners from the records
    expect(flattenOwners([{ kind: "caller" }, subLayer], sub, 1001, 1001)).toEqual({ ns: sub, copierOwns: true, records: sub });
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
