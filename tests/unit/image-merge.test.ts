// The copy driver's one flattening path: layer dirs in the store's overlay
// format (as the unpacker leaves them) merged by the shim's copy-layers op,
// then, when the copier owns everything, the owner records applied (chown-tree).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from "node:fs";
import type { TarInput } from "../../src/image/tarwriter.ts";
import { runStorePlan } from "../../src/sys/launch.ts";
import { copyLayersPlan } from "../../src/plan/store.ts";
import { OPAQUE_XATTR } from "../../src/image/whiteout.ts";
import { chownToImageOwners, imageOwnerMaps } from "../../src/image/owners.ts";
import { processIds, singleMaps } from "../../src/sys/idmap.ts";
import { removeDir, statInUserns, tempDir, unpack, xattr } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterEach(async () => { while (dirs.length) await removeDir(dirs.pop()!); });
function fresh(): string { const d = tempDir(); dirs.push(d); return d; }

const isRoot = processIds().uid === 0;
/** the namespace the test's merges run in: none as root, else a one-id map of the caller (the layers are the caller's) */
const ns = isRoot ? undefined : singleMaps(processIds().uid, processIds().gid);

/** LAYERS (bottom up) unpacked each into its own dir, as the store does (ROOTLESS: owners recorded, not given) */
async function layerDirs(layers: TarInput[][], rootless?: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const l of layers) {
    const d = fresh();
    await unpack(d, [l], { lowerDirs: [...out].reverse(), rootless });
    out.push(d);
  }
  return out;
}

async function merge(bottomUp: string[], copierOwns = false): Promise<string> {
  const dest = `${fresh()}/rootfs`;
  await runStorePlan(copyLayersPlan(dest, bottomUp, { userns: !!ns, copierOwns, opaqueXattr: OPAQUE_XATTR }), ns);
  return dest;
}

/** every path under DIR that is an overlay whiteout or a .wh. name */
function leftovers(dir: string, rel = ""): string[] {
  return readdirSync(`${dir}/${rel}`).flatMap((n) => {
    const p = rel ? `${rel}/${n}` : n;
    const st = lstatSync(`${dir}/${p}`);
    const bad = n.startsWith(".wh.") || (st.isCharacterDevice() && st.rdev === 0) || xattr(`${dir}/${p}`, "user.overlay.opaque") !== undefined;
    return [...(bad ? [p] : []), ...(st.isDirectory() ? leftovers(dir, p) : [])];
  });
}

describe("merging layer dirs (copy-layers)", () => {
  test("whiteouts delete, opaque dirs hide the layers below (also with the marker after the layer's own entries)", async () => {
    const layers = await layerDirs([
      [
        { name: "a/x", data: "1" }, { name: "a/y", data: "2" },
        { name: "b/old1", data: "3" }, { name: "b/sub/old2", data: "4" },
        { name: "c/keep", data: "5" }, { name: "gone/deep/f", data: "6" },
        { name: "f", data: "a file" }, { name: "o/old", data: "7" },
      ],
      [
        { name: "a/.wh.x" },
        { name: "b/new", data: "n" },
        { name: "b/sub/new2", data: "n2" },
        { name: "b/.wh..wh..opq" },
        { name: ".wh.gone" },
        { name: "f/", type: "dir", mode: 0o750 }, { name: "f/inner", data: "now a dir" },
        { name: "o/.wh..wh..opq" }, { name: "o/new", data: "8" },
      ],
      [{ name: "gone/again", data: "back" }],
    ]);
    const d = await merge(layers);
    expect(readdirSync(`${d}/a`)).toEqual(["y"]);
    expect(readdirSync(`${d}/b`).sort()).toEqual(["new", "sub"]);
    // the marker is about the layers below: b/sub of this layer stays whole, the lower b/sub is gone
    expect(readdirSync(`${d}/b/sub`)).toEqual(["new2"]);
    expect(readdirSync(`${d}/o`)).toEqual(["new"]);
    expect(readdirSync(`${d}/c`)).toEqual(["keep"]);
    // a deleted dir made again above: only the new content
    expect(readdirSync(`${d}/gone`)).toEqual(["again"]);
    expect(statSync(`${d}/f`).mode & 0o7777).toBe(0o750);
    expect(readFileSync(`${d}/f/inner`, "utf8")).toBe("now a dir");
    expect(leftovers(d)).toEqual([]);
    // the layers are left as they were
    expect(readdirSync(`${layers[0]}/b/sub`)).toEqual(["old2"]);
  });

  test("a hard link within a layer stays one; across layers it is a copy, as overlayfs shows it", async () => {
    const layers = await layerDirs([
      [{ name: "lib/libm.so", data: "ELFm" }],
      [{ name: "x/a", data: "linked" }, { name: "x/b", type: "hardlink", linkname: "x/a" }, { name: "bin/m", type: "hardlink", linkname: "lib/libm.so" }],
    ]);
    const d = await merge(layers);
    expect(statSync(`${d}/x/b`).ino).toBe(statSync(`${d}/x/a`).ino);
    expect(statSync(`${d}/x/a`).nlink).toBe(2);
    expect(readFileSync(`${d}/bin/m`, "utf8")).toBe("ELFm");
    expect(statSync(`${d}/bin/m`).ino).not.toBe(statSync(`${d}/lib/libm.so`).ino);
  });

  const owned: TarInput[][] = [
    [
      { name: "home/", type: "dir", mode: 0o755, uid: 1000, gid: 1000 },
      { name: "home/u/", type: "dir", mode: 0o750, uid: 1000, gid: 1001 },
      { name: "home/u/f", data: "x", mode: 0o4711, uid: 1000, gid: 1001 },
      { name: "rootfile", data: "y", mode: 0o644 },
    ],
    // home again, now root's: the merged dir has this layer's record (none), not the lower one's
    [{ name: "home/", type: "dir", mode: 0o755 }, { name: "top", data: "z", uid: 7, gid: 8, mode: 0o600 }],
  ];

  test("owner records are kept (the topmost layer's for a dir in several); owners copied", async () => {
    const d = await merge(await layerDirs(owned, true));
    expect(xattr(`${d}/home/u/f`, "user.containers.override_stat")).toBe("1000:1001:04711:file");
    expect(xattr(`${d}/home/u`, "user.containers.override_stat")).toBe("1000:1001:0750:dir");
    expect(xattr(`${d}/top`, "user.containers.override_stat")).toBe("7:8:0600:file");
    expect(xattr(`${d}/home`, "user.containers.override_stat")).toBeUndefined();
    expect(xattr(`${d}/rootfile`, "user.containers.override_stat")).toBeUndefined();
    expect(statSync(`${d}/home/u/f`).mode & 0o7777).toBe(0o4711);
  });

  test.skipIf(!isRoot)("copier owns: every file root's, set-id bits kept (root on chowned layers)", async () => {
    const layers = await layerDirs(owned, false);
    expect(statSync(`${layers[0]}/home/u/f`).uid).toBe(1000);
    const d = await merge(layers, true);
    for (const p of ["home", "home/u", "home/u/f", "top", "rootfile"]) expect([statSync(`${d}/${p}`).uid, statSync(`${d}/${p}`).gid]).toEqual([0, 0]);
    expect(statSync(`${d}/home/u/f`).mode & 0o7777).toBe(0o4711);
    expect(statSync(`${d}`).uid).toBe(0);
  });

  // the records applied give the image's owners: as root on the host, as a user with a range in its map
  const recordMaps = isRoot ? undefined : imageOwnerMaps();
  test.skipIf(!isRoot && !recordMaps)("copier owns, then the records give the image's owners in the container's map", async () => {
    const d = await merge(await layerDirs(owned, true), true);
    expect(statSync(`${d}/home/u/f`).uid).toBe(processIds().uid);
    await chownToImageOwners(d, recordMaps);
    expect(await statInUserns(`${d}/home/u/f`, recordMaps)).toEqual([1000, 1001, 0o4711]);
    expect(await statInUserns(`${d}/top`, recordMaps)).toEqual([7, 8, 0o600]);
    expect(await statInUserns(`${d}/home`, recordMaps)).toEqual([0, 0, 0o755]);
    expect(await statInUserns(`${d}/rootfile`, recordMaps)).toEqual([0, 0, 0o644]);
    expect(existsSync(`${d}/home/u`)).toBe(true);
  });
});
