import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { Store } from "../../src/image/store.ts";
import { loadArchive, saveArchive } from "../../src/image/archive.ts";
import { parseReference, formatReference } from "../../src/image/reference.ts";
import { chainIds, sha256 } from "../../src/image/digest.ts";
import { buildImage, dockerArchive, multiArchIndex, ociLayoutFiles, tarOfFiles, writeLayoutDir } from "../lib/image-builder.ts";
import { removeDir, tempDir, xattr } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterEach(async () => { while (dirs.length) await removeDir(dirs.pop()!); });
function fresh(): string { const d = tempDir(); dirs.push(d); return d; }

describe("references", () => {
  test("docker.io normalization", () => {
    const f = (s: string) => formatReference(parseReference(s));
    expect(f("busybox")).toBe("docker.io/library/busybox:latest");
    expect(f("user/app:1")).toBe("docker.io/user/app:1");
    expect(f("127.0.0.1:5000/a/b")).toBe("127.0.0.1:5000/a/b:latest");
    expect(f("localhost/x:y")).toBe("localhost/x:y");
    const d = "sha256:" + "a".repeat(64);
    expect(parseReference(`busybox@${d}`)).toEqual({ registry: "docker.io", repository: "library/busybox", tag: undefined, digest: d });
    expect(() => parseReference("UPPER")).toThrow(/invalid image reference/);
    expect(() => parseReference("x@sha256:12")).toThrow(/digest/);
  });
  test("chain IDs", () => {
    const a = "sha256:" + "1".repeat(64), b = "sha256:" + "2".repeat(64);
    expect(chainIds([a, b])).toEqual([a, sha256(`${a} ${b}`)]);
  });
});

describe("store and archives", () => {
  test("loads an OCI layout dir; layers unpacked once in overlay format", async () => {
    const store = new Store(fresh());
    const img = buildImage({ compression: "gzip" });
    const layout = fresh();
    writeLayoutDir(layout, ociLayoutFiles([{ target: img, name: "test.local/busy:1" }]));
    const loaded = await loadArchive(store, layout);
    expect(loaded).toEqual([{ manifestDigest: img.manifestDigest, names: ["test.local/busy:1"], notes: [] }]);
    const rec = store.get("test.local/busy:1");
    expect(rec.id).toBe(img.configDigest);
    expect(store.get(img.configDigest.slice(7, 19)).digest).toBe(img.manifestDigest);
    const layers = await store.ensureLayers(rec.digest);
    expect(layers.map((l) => l.chainId)).toEqual(chainIds(img.config.rootfs.diff_ids));
    const [l1, l2, l3] = layers.map((l) => l.dir);
    expect(statSync(`${l1}/bin/busybox`).mode & 0o777).toBe(0o755);
    expect(xattr(`${l1}/data/attr`, "user.bunker.test")).toBe("hello");
    expect(lstatSync(`${l2}/del/me`).isCharacterDevice()).toBe(true);
    expect(xattr(`${l2}/opq`, "user.overlay.opaque")).toBe("y");
    expect(readFileSync(`${l2}/bin/busybox-hardlink`).length).toBe(statSync(`${l1}/bin/busybox`).size);
    expect(statSync(`${l3}/app/setuid`).mode & 0o7777).toBe(0o4755);
    expect(existsSync(`${l3}/app/ünïcødé`)).toBe(true);
  });

  for (const compression of ["zstd", "none"] as const) {
    test(`loads an oci-archive with ${compression} layers`, async () => {
      const store = new Store(fresh());
      const img = buildImage({ compression });
      const file = `${fresh()}/img.tar`;
      writeFileSync(file, tarOfFiles(ociLayoutFiles([{ target: img, name: "latest" }])));
      const [l] = await loadArchive(store, file);
      expect(l!.names).toEqual(["localhost/oci-archive:latest"]);
      const layers = await store.ensureLayers(l!.manifestDigest);
      expect(readFileSync(`${layers[2]!.dir}/app/hello`, "utf8")).toContain("hello from the image");
    });
  }

  test("loads a multi-arch index choosing the platform", async () => {
    const store = new Store(fresh());
    const amd = buildImage(), arm = buildImage({ architecture: "arm64" });
    const file = `${fresh()}/multi.tar`;
    writeFileSync(file, tarOfFiles(ociLayoutFiles([{ target: multiArchIndex([arm, amd]), name: "example.com/multi:1" }])));
    const [l] = await loadArchive(store, file, { os: "linux", architecture: "arm64" });
    expect(l!.manifestDigest).toBe(arm.manifestDigest);
    await expect(loadArchive(store, file, { os: "linux", architecture: "s390x" })).rejects.toThrow(/no image for linux\/s390x/);
  });

  test("docker-archive (gzip'd too), tag, rmi, gc, save round trip", async () => {
    const root = fresh();
    const store = new Store(root);
    const img = buildImage();
    const file = `${fresh()}/docker.tar.gz`;
    writeFileSync(file, Bun.gzipSync(dockerArchive([{ image: img, tags: ["busybox:test", "other/name:v2"] }])));
    const [l] = await loadArchive(store, file);
    expect(l!.names).toEqual(["docker.io/library/busybox:test", "docker.io/other/name:v2"]);
    const rec = store.get("busybox:test");
    expect(rec.id).toBe(img.configDigest);
    expect(store.configOf(rec).config?.Entrypoint).toEqual(["/app/hello"]);
    // save, then load the saved archive into a second store: same image ID and layers
    const saved = `${fresh()}/saved.tar`;
    await saveArchive(store, ["busybox:test"], saved);
    const store2 = new Store(fresh());
    const [l2] = await loadArchive(store2, saved);
    expect(l2!.names).toEqual(["docker.io/library/busybox:test"]);
    expect(store2.get("busybox:test").id).toBe(img.configDigest);
    expect(spawnOk(["tar", "-tf", saved])).toContain("manifest.json");
    // tag moves names; rmi untags then removes; gc drops blobs and layers
    await store.addImage(rec.digest, ["docker.io/library/alias:1"]);
    expect(store.get("alias:1").id).toBe(rec.id);
    expect(readdirSync(`${root}/layers`).length).toBe(6);
  });

  test("a corrupt blob is rejected and the store is left as it was", async () => {
    const root = fresh();
    const store = new Store(root);
    const img = buildImage();
    const files = ociLayoutFiles([{ target: img, name: "x.io/bad:1" }]);
    const key = `blobs/sha256/${img.layers[1]!.digest.slice(7)}`;
    const bad = files.get(key)!.slice(); bad[bad.length - 5] ^= 0xff;
    files.set(key, bad);
    const file = `${fresh()}/bad.tar`;
    writeFileSync(file, tarOfFiles(files));
    await expect(loadArchive(store, file)).rejects.toThrow(/digest mismatch/);
    expect(store.listImages()).toEqual([]);
    expect(readdirSync(`${root}/layers`)).toEqual([]);
    expect(readdirSync(`${root}/tmp`)).toEqual([]);
  });

  test("a plain archive's large layers are read in place: stored once, verified, the archive untouched", async () => {
    const root = fresh();
    const store = new Store(root);
    // layer 1 (busybox) is over the 1 MiB in-place size: uncompressed in a docker-archive, named by its diff_id;
    // the extra layer is 3 MiB of random bytes, gzip (no smaller) in an oci-archive
    const random = new Uint8Array(3 << 20);
    for (let k = 0; k < random.length; k += 65536) crypto.getRandomValues(random.subarray(k, k + 65536));
    const img = buildImage({ compression: "none" });
    const big = buildImage({ compression: "gzip", extraLayers: [[{ name: "big/random", data: random }]] });
    const dir = fresh();
    writeFileSync(`${dir}/docker.tar`, dockerArchive([{ image: img, tags: ["x.io/plain:1"] }]));
    writeFileSync(`${dir}/oci.tar`, tarOfFiles(ociLayoutFiles([{ target: big, name: "x.io/big:1" }])));
    const before = readFileSync(`${dir}/docker.tar`);
    await loadArchive(store, `${dir}/docker.tar`);
    await loadArchive(store, `${dir}/oci.tar`);
    expect(readFileSync(`${dir}/docker.tar`).equals(before)).toBe(true);
    for (const d of [...img.layers.map((l) => l.diffId), big.layers.at(-1)!.digest]) {
      expect(sha256(readFileSync(`${root}/blobs/sha256/${d.slice(7)}`))).toBe(d);
    }
    expect(big.layers.at(-1)!.blob.length).toBeGreaterThan(1 << 20);
    const layers = await store.ensureLayers(store.get("x.io/big:1").digest);
    expect(readFileSync(`${layers.at(-1)!.dir}/big/random`).equals(Buffer.from(random))).toBe(true);
    // an OCI layout directory: its large blob is read in place too (into a second store)
    const root2 = fresh();
    const layout = fresh();
    writeLayoutDir(layout, ociLayoutFiles([{ target: big, name: "x.io/big:2" }]));
    await loadArchive(new Store(root2), layout);
    const d = big.layers.at(-1)!.digest;
    expect(sha256(readFileSync(`${root2}/blobs/sha256/${d.slice(7)}`))).toBe(d);
    expect(existsSync(`${layout}/blobs/sha256/${d.slice(7)}`)).toBe(true); // copied, not moved
    const l2 = await new Store(root2).ensureLayers(new Store(root2).get("x.io/big:2").digest);
    expect(readFileSync(`${l2.at(-1)!.dir}/big/random`).equals(Buffer.from(random))).toBe(true);
    expect(statSync(`${(await store.ensureLayers(store.get("x.io/plain:1").digest))[0]!.dir}/bin/busybox`).size).toBe(statSync("/bin/busybox").size);
    expect(readdirSync(`${root}/tmp`).filter((f) => !f.startsWith("inflight-"))).toEqual([]);
    // a layer already unpacked whose blob was lost gets it back from the archive
    rmSync(`${root}/blobs/sha256/${img.layers[0]!.diffId.slice(7)}`);
    await loadArchive(store, `${dir}/docker.tar`);
    expect(sha256(readFileSync(`${root}/blobs/sha256/${img.layers[0]!.diffId.slice(7)}`))).toBe(img.layers[0]!.diffId);
  });

  test("a docker-archive of two images sharing their layers (small and read in place) loads both", async () => {
    // (the second image's use of a shared small layer used to read a temp file already moved into the store)
    const root = fresh();
    const store = new Store(root);
    for (const compression of ["gzip", "none"] as const) {
      const a = buildImage({ compression, label: `a-${compression}` }), b = buildImage({ compression, label: `b-${compression}` });
      expect(a.layers.map((l) => l.digest)).toEqual(b.layers.map((l) => l.digest));
      const file = `${fresh()}/two.tar`;
      writeFileSync(file, dockerArchive([{ image: a, tags: [`x.io/a:${compression}`] }, { image: b, tags: [`x.io/b:${compression}`] }]));
      const loaded = await loadArchive(store, file);
      expect(loaded.map((l) => l.names)).toEqual([[`x.io/a:${compression}`], [`x.io/b:${compression}`]]);
      expect(store.get(`x.io/b:${compression}`).id).toBe(b.configDigest);
    }
    expect(await store.verify()).toEqual([]);
    expect(readdirSync(`${root}/tmp`).filter((f) => !f.startsWith("inflight-"))).toEqual([]);
  });

  test("a corrupt or truncated layer read in place is rejected, and the store is left as it was", async () => {
    const root = fresh();
    const store = new Store(root);
    const img = buildImage({ compression: "none" });
    const files = ociLayoutFiles([{ target: img, name: "x.io/bad:1" }]);
    const key = `blobs/sha256/${img.layers[0]!.digest.slice(7)}`;
    const good = files.get(key)!;
    expect(good.length).toBeGreaterThan(1 << 20);
    const bad = good.slice();
    bad[bad.length >> 1] ^= 0xff; // inside busybox: the tar still parses, the hashes do not match
    files.set(key, bad);
    const file = `${fresh()}/bad.tar`;
    writeFileSync(file, tarOfFiles(files));
    await expect(loadArchive(store, file)).rejects.toThrow(/layer blob: digest mismatch \(expected sha256:/);
    expect(store.listImages()).toEqual([]);
    expect(readdirSync(`${root}/layers`)).toEqual([]);
    expect(readdirSync(`${root}/tmp`)).toEqual([]);
    expect(existsSync(`${root}/blobs/sha256/${img.layers[0]!.digest.slice(7)}`)).toBe(false);
    // the same in an OCI layout directory
    const layout = fresh();
    writeLayoutDir(layout, files);
    await expect(loadArchive(store, layout)).rejects.toThrow(/layer blob: digest mismatch \(expected sha256:/);
    expect(store.listImages()).toEqual([]);
    expect(readdirSync(`${root}/layers`)).toEqual([]);
    // cut in the middle of that layer
    files.set(key, good);
    const whole = tarOfFiles(files);
    const at = Buffer.from(whole).indexOf(Buffer.from(good.subarray(4096, 4160)));
    expect(at).toBeGreaterThan(0);
    writeFileSync(file, whole.subarray(0, at + 1000));
    await expect(loadArchive(store, file)).rejects.toThrow(/truncated/);
    expect(store.listImages()).toEqual([]);
    expect(readdirSync(`${root}/layers`)).toEqual([]);
    expect(readdirSync(`${root}/tmp`)).toEqual([]);
  });

  test("a malicious layer fails, and leaves no layer dir behind", async () => {
    const root = fresh();
    const store = new Store(root);
    const img = buildImage({ layers: [[{ name: "ok", data: "1" }, { name: "l", type: "symlink", linkname: "../../../../../../../tmp" }, { name: "l/pwned", data: "x" }]] });
    const layout = fresh();
    writeLayoutDir(layout, ociLayoutFiles([{ target: img, name: "x.io/evil:1" }]));
    await expect(loadArchive(store, layout)).rejects.toThrow(/unsafe layer/);
    expect(existsSync("/tmp/pwned")).toBe(false);
    expect(readdirSync(`${root}/layers`)).toEqual([]);
    expect(store.listImages()).toEqual([]);
  });

  test("concurrent loads of images sharing layers do not corrupt the store", async () => {
    const root = fresh();
    const a = buildImage({ label: "a" }), b = buildImage({ label: "b" });
    const fa = `${fresh()}/a.tar`, fb = `${fresh()}/b.tar`;
    writeFileSync(fa, tarOfFiles(ociLayoutFiles([{ target: a, name: "x.io/a:1" }])));
    writeFileSync(fb, tarOfFiles(ociLayoutFiles([{ target: b, name: "x.io/b:1" }])));
    await Promise.all([loadArchive(new Store(root), fa), loadArchive(new Store(root), fb), loadArchive(new Store(root), fa)]);
    const store = new Store(root);
    expect(store.listImages().map((i) => i.names[0]).sort()).toEqual(["x.io/a:1", "x.io/b:1"]);
    expect(readdirSync(`${root}/layers`).length).toBe(6);
  });
});

function spawnOk(argv: string[]): string {
  const r = Bun.spawnSync(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
}

describe("store checks", () => {
  test("verify reports a lost layer dir, a lost blob and a changed blob; use fails clearly", async () => {
    const root = fresh();
    const store = new Store(root);
    const img = buildImage();
    const layout = fresh();
    writeLayoutDir(layout, ociLayoutFiles([{ target: img, name: "x.io/v:1" }]));
    await loadArchive(store, layout);
    expect(await store.verify()).toEqual([]);
    const c3 = chainIds(img.config.rootfs.diff_ids)[2];
    await removeDir(store.layerDir(c3!));
    rmSync(store.blobPath(img.layers[0]!.digest));
    writeFileSync(store.blobPath(img.configDigest), "{}");
    const problems = await store.verify();
    expect(problems.join("\n")).toMatch(/layer blob .*missing/);
    expect(problems.join("\n")).toMatch(/digest mismatch/);
    await expect(store.ensureLayers(img.manifestDigest)).rejects.toThrow(/digest mismatch|lost/);
  });

  test("docker save 25+ form (manifest.json pointing into blobs/sha256)", async () => {
    const store = new Store(fresh());
    const img = buildImage({ compression: "none" });
    const files = ociLayoutFiles([{ target: img, name: "latest" }]);
    files.set("manifest.json", new TextEncoder().encode(JSON.stringify([{
      Config: `blobs/sha256/${img.configDigest.slice(7)}`,
      RepoTags: ["moby/new:25"],
      Layers: img.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    }])));
    const file = `${fresh()}/d25.tar`;
    writeFileSync(file, tarOfFiles(files));
    const [l] = await loadArchive(store, file);
    expect(l!.names).toEqual(["docker.io/moby/new:25"]);
    expect(store.get("moby/new:25").id).toBe(img.configDigest);
  });
});

describe("gc and work in progress", () => {
  test("gc keeps what a live pull or load marked, and drops stale marks", async () => {
    const root = fresh();
    const store = new Store(root);
    const d = store.putBlob("orphan but in flight");
    const release = store.inflight([d], []);
    await store.gc();
    expect(store.hasBlob(d)).toBe(true);
    release();
    await store.gc();
    expect(store.hasBlob(d)).toBe(false);
    const e = store.putBlob("marked by a dead process");
    writeFileSync(`${root}/tmp/inflight-999999-x.json`, JSON.stringify({ pid: 999999, blobs: [e.slice(7)], layers: [] }));
    await store.gc();
    expect(store.hasBlob(e)).toBe(false);
    expect(readdirSync(`${root}/tmp`)).toEqual([]);
  });
});
