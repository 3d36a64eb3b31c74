// Issue 11 item 6: what one layer may expand to.  A crafted gzip layer (1 GiB
// of zeros in one tar entry, ~1 MB compressed, made here) must stop at
// --max-layer-size and at the store filesystem's reserve (a 64 MiB tmpfs),
// with one line naming the layer, the sizes, the store and the fix, and leave
// the store as it was: no layer dir, no temp file, images.json unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createGzip } from "node:zlib";
import { buildImage, ociLayoutFiles, writeLayoutDir, type BuiltImage } from "../lib/image-builder.ts";
import { bunkerAs, chownTree, isRoot, makeTempDir, ownerOf, removeTree, USERS, type As } from "../lib/index.ts";
import { sha256 } from "../../src/image/digest.ts";
import { MT, type ImageConfigFile, type Manifest } from "../../src/image/types.ts";
import { TestRegistry } from "../registry/registry.ts";

const GiB = 2 ** 30;
const dir = makeTempDir("bunker-layer-bounds");
const mounts: string[] = [];
/** the tests' own store dirs, removed at the end even when a test fails */
const made: string[] = [];
function storeRoot(prefix: string, as: As): string {
  const d = makeTempDir(prefix, ownerOf(as));
  made.push(d);
  return d;
}

/** a ustar header of one regular file NAME of SIZE bytes */
function tarHeader(name: string, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, s: string) => h.set(new TextEncoder().encode(s), off);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, size.toString(8).padStart(11, "0") + "\0");
  put(136, "14540000000\0");
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  let sum = 0;
  for (const b of h) sum += b;
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** gzip of a tar holding SIZE zero bytes in one file (streamed: never SIZE bytes in memory), and the tar's sha256 */
async function zeroBomb(size: number): Promise<{ blob: Uint8Array; diffId: string }> {
  const hash = createHash("sha256");
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on("data", (c: Buffer) => out.push(c));
  const ended = new Promise((r) => gz.on("end", r));
  const write = (b: Uint8Array) => {
    hash.update(b);
    return gz.write(b) ? undefined : new Promise((r) => gz.once("drain", r));
  };
  await write(tarHeader("zeros", size));
  const zeros = new Uint8Array(1 << 20);
  for (let done = 0; done < size; done += zeros.length) await write(zeros);
  await write(new Uint8Array(1024)); // the end-of-archive blocks
  gz.end();
  await ended;
  return { blob: new Uint8Array(Buffer.concat(out)), diffId: `sha256:${hash.digest("hex")}` };
}

/** an image of the one layer BLOB (as buildImage makes them) */
function imageOf(blob: Uint8Array, diffId: string): BuiltImage {
  const config: ImageConfigFile = { architecture: "amd64", os: "linux", config: { Cmd: ["/zeros"] }, rootfs: { type: "layers", diff_ids: [diffId] } };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const layer = { tar: new Uint8Array(), blob, digest: sha256(blob), diffId, mediaType: MT.ociLayerGzip };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: blob.length }],
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  return { layers: [layer], config, configBytes, configDigest: sha256(configBytes), manifest, manifestBytes, manifestDigest: sha256(manifestBytes), platform: { os: "linux", architecture: "amd64" } };
}

let bomb: BuiltImage;
beforeAll(async () => {
  const { blob, diffId } = await zeroBomb(GiB);
  bomb = imageOf(blob, diffId);
  writeLayoutDir(`${dir}/bomb`, ociLayoutFiles([{ target: bomb, name: "bomb:1" }]));
  writeLayoutDir(`${dir}/small`, ociLayoutFiles([{ target: buildImage({ label: "bounds" }), name: "small:1" }]));
  chownTree(`${dir}/bomb`, ownerOf("user"));
  chownTree(`${dir}/small`, ownerOf("user"));
}, 120_000);

let reg: TestRegistry | undefined;
const registryTools = ["docker-registry", "skopeo"].every((t) => Bun.which(t));

afterAll(async () => {
  reg?.stop();
  await reg?.proc?.exited;
  for (const m of mounts) {
    Bun.spawnSync(["umount", m]);
    removeTree(m);
  }
  for (const d of made) removeTree(d);
  removeTree(dir);
});

/** what must not change when a load fails: the layers, the temp dir, images.json */
function snapshot(store: string) {
  return {
    layers: readdirSync(`${store}/layers`).sort(),
    tmp: readdirSync(`${store}/tmp`).sort(),
    images: readFileSync(`${store}/images.json`, "utf8"),
  };
}

/** a store holding one small image, owned by AS */
async function storeWith(as: As, root: string): Promise<string> {
  const store = `${root}/store-${as}`;
  const r = await bunkerAs(as, ["--data-root", store, "load", "-i", `${dir}/small`]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return store;
}

describe.skipIf(!isRoot())("layer bounds", () => {
  for (const as of USERS) {
    describe(as, () => {
      test("--max-layer-size stops a layer that expands past it; the store is as it was", async () => {
        const root = storeRoot(`bunker-bounds-${as}`, as);
        const store = await storeWith(as, root);
        const before = snapshot(store);
        const t0 = Date.now();
        const r = await bunkerAs(as, ["--data-root", store, "load", "--max-layer-size", "100m", "-i", `${dir}/bomb`]);
        expect(r.code).toBe(125);
        expect(r.stdout).toBe("");
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toBe(
          `bunker: layer ${bomb.layers[0]!.digest} is larger than --max-layer-size 100MiB uncompressed; nothing was stored: EFBIG (File too large) [${store}] — raise --max-layer-size (or $BUNKER_MAX_LAYER_SIZE) if you trust the image`,
        );
        expect(Date.now() - t0).toBeLessThan(30_000); // stopped, not unpacked to the end
        expect(snapshot(store)).toEqual(before);
        expect(existsSync(`${store}/blobs/sha256/${bomb.layers[0]!.digest.slice(7)}`)).toBe(false);
        // the environment sets the same bound (run's pulls have no flag)
        const e = await bunkerAs(as, ["--data-root", store, "load", "-i", `${dir}/bomb`], { env: { BUNKER_MAX_LAYER_SIZE: "50m" } });
        expect(e.code).toBe(125);
        expect(e.stderr).toContain("is larger than --max-layer-size 50MiB uncompressed");
        expect(snapshot(store)).toEqual(before);
        const bad = await bunkerAs(as, ["--data-root", store, "load", "--max-layer-size", "lots", "-i", `${dir}/bomb`]);
        expect(bad.stderr).toBe(`bunker: --max-layer-size: "lots" is not a size: EINVAL (Invalid argument) — use a number of bytes or a unit: 512k, 64m, 1.5g\n`);
      }, 120_000);

      test("the reserve: a layer that would fill the store's filesystem stops before it does", async () => {
        const mnt = makeTempDir(`bunker-bounds-tmpfs-${as}`);
        expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt]).exitCode).toBe(0);
        mounts.push(mnt);
        chownTree(mnt, ownerOf(as));
        const store = await storeWith(as, mnt);
        const before = snapshot(store);
        const r = await bunkerAs(as, ["--data-root", store, "load", "-i", `${dir}/bomb`]);
        expect(r.code).toBe(125);
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines).toHaveLength(1);
        // the default reserve: 5 % of 64 MiB (smaller than 1 GiB)
        expect(lines[0]).toMatch(
          new RegExp(
            `^bunker: layer ${bomb.layers[0]!.digest} does not fit: unpacking it would leave less than the reserve of 3\\.2MiB free on the image store's filesystem ` +
              `\\([0-9.]+[KM]iB free after [0-9.]+MiB of it\\); nothing was stored: ENOSPC \\(No space left on device\\) \\[${store}\\] — free space there, or use a --data-root on a larger filesystem, or lower --storage-reserve \\(or \\$BUNKER_STORAGE_RESERVE\\)$`,
          ),
        );
        expect(snapshot(store)).toEqual(before);
        // the space is given back: the filesystem is as full as before
        const df = () => Number(Bun.spawnSync(["df", "--output=used", "-B1", mnt]).stdout.toString().trim().split("\n")[1]);
        expect(df()).toBeLessThan(16 * 2 ** 20);
        // --storage-reserve as a share of the filesystem: stops earlier
        const p = await bunkerAs(as, ["--data-root", store, "load", "--storage-reserve", "50%", "-i", `${dir}/bomb`]);
        expect(p.code).toBe(125);
        expect(p.stderr).toContain("would leave less than the reserve of 32MiB free");
        const after = /free after ([0-9.]+)MiB of it/.exec(p.stderr);
        expect(Number(after?.[1])).toBeLessThan(32);
        expect(snapshot(store)).toEqual(before);
        // the store still works
        const again = await bunkerAs(as, ["--data-root", store, "images", "--format", "json"]);
        expect(JSON.parse(again.stdout).length).toBe(1);
      }, 120_000);

      test.skipIf(!registryTools)("pull --max-layer-size: the same bound, from a registry", async () => {
        if (!reg) {
          reg = new TestRegistry(`${dir}/registry`, "none");
          await reg.start([[`oci:${dir}/bomb:bomb:1`, "test/bomb:1"]]);
        }
        const root = storeRoot(`bunker-bounds-pull-${as}`, as);
        const store = await storeWith(as, root);
        const before = snapshot(store);
        const r = await bunkerAs(as, ["--data-root", store, "pull", "-q", "--tls-verify=false", "--max-layer-size", "64m", `${reg.host}/test/bomb:1`]);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe(
          `bunker: layer ${bomb.layers[0]!.digest} is larger than --max-layer-size 64MiB uncompressed; nothing was stored: EFBIG (File too large) [${store}] — raise --max-layer-size (or $BUNKER_MAX_LAYER_SIZE) if you trust the image\n`,
        );
        expect(snapshot(store)).toEqual(before);
      }, 120_000);
    });
  }
});

