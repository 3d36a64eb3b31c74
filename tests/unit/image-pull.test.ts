// bunker's registry client against a fake distribution server (Bun.serve on
// 127.0.0.1): anonymous, Bearer token and Basic auth, a blob redirect to another
// host that must not receive Authorization, a connection cut mid-blob (resumed
// with Range), a corrupt blob, a manifest list with platform selection.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { pullImage } from "../../src/image/pull.ts";
import { Store } from "../../src/image/store.ts";
import { parseChallenge } from "../../src/image/registry.ts";
import { chainIds } from "../../src/image/digest.ts";
import { BunkerError } from "../../src/errors.ts";
import { blobsOf, buildImage, multiArchIndex, type BuiltImage } from "../lib/image-builder.ts";
import { removeDir, tempDir } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterEach(async () => { while (dirs.length) await removeDir(dirs.pop()!); });
function fresh(): string { const d = tempDir(); dirs.push(d); return d; }

const amd = buildImage({ compression: "gzip", label: "amd" });
const arm = buildImage({ compression: "zstd", architecture: "arm64" });
const index = multiArchIndex([arm, amd]);
const blobs = blobsOf([amd, arm], index);
const plainImg = buildImage({ compression: "none", label: "plain" });
for (const [d, b] of blobsOf([plainImg])) blobs.set(d, b);

// hostile documents: a manifest that is {}, one 2M levels deep, a manifest whose config has no rootfs
const enc = new TextEncoder();
const badConfig = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux" }));
const badConfigDigest = new Bun.CryptoHasher("sha256").update(badConfig).digest("hex");
blobs.set(`sha256:${badConfigDigest}`, badConfig);
const hostile: Record<string, Uint8Array> = {
  "lib/empty:1": enc.encode("{}"),
  "lib/deep:1": enc.encode(`{"schemaVersion":2,"layers":${"[".repeat(2_000_000)}${"]".repeat(2_000_000)}}`),
  "lib/badcfg:1": enc.encode(JSON.stringify({ ...amd.manifest, config: { ...amd.manifest.config, digest: `sha256:${badConfigDigest}`, size: badConfig.length } })),
  "lib/bigcfg:1": enc.encode(JSON.stringify({ ...amd.manifest, config: { ...amd.manifest.config, size: 2 ** 40 } })),
  "lib/huge:1": new Uint8Array(5 << 20).fill(0x20),
};

type Mode = "anon" | "bearer" | "basic";
const state = { mode: "anon" as Mode, cutOnce: new Set<string>(), corrupt: "", oversize: "", redirect: false, authSeenByCdn: [] as string[], rangeRequests: 0 };

let cdn: ReturnType<typeof Bun.serve>;
let reg: ReturnType<typeof Bun.serve>;
const BASIC = `Basic ${btoa("alice:secret")}`;

function serveBlob(req: Request, bytes: Uint8Array, key: string): Response {
  const range = req.headers.get("range");
  let start = 0;
  if (range) { state.rangeRequests++; start = Number(/bytes=(\d+)-/.exec(range)![1]); }
  const body = bytes.subarray(start);
  if (state.cutOnce.has(key) && !range) {
    state.cutOnce.delete(key);
    // send half, then break the connection
    const half = body.subarray(0, Math.floor(body.length / 2));
    const stream = new ReadableStream({
      start(c) { c.enqueue(half); setTimeout(() => c.close(), 20); },
    });
    return new Response(stream, { status: 200, headers: { "content-length": String(body.length) } });
  }
  return new Response(body as Uint8Array<ArrayBuffer>, { status: range ? 206 : 200, headers: { "content-length": String(body.length) } });
}

beforeAll(() => {
  cdn = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    fetch(req) {
      const d = new URL(req.url).pathname.slice(1);
      state.authSeenByCdn.push(req.headers.get("authorization") ?? "");
      const b = blobs.get(d);
      return b ? serveBlob(req, b, d) : new Response("no", { status: 404 });
    },
  });
  reg = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    fetch(req) {
      const u = new URL(req.url);
      if (u.pathname === "/token") {
        if (req.headers.get("authorization") !== BASIC) return new Response("denied", { status: 401 });
        return Response.json({ token: `tok-${u.searchParams.get("scope")}` });
      }
      const auth = req.headers.get("authorization");
      if (state.mode === "bearer" && !auth?.startsWith("Bearer tok-repository:")) {
        return new Response("{}", { status: 401, headers: { "www-authenticate": `Bearer realm="http://127.0.0.1:${reg.port}/token",service="fake",scope="repository:x:pull"` } });
      }
      if (state.mode === "basic" && auth !== BASIC) return new Response("{}", { status: 401, headers: { "www-authenticate": `Basic realm="fake"` } });
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(u.pathname);
      if (u.pathname === "/v2/") return new Response("{}");
      if (!m) return new Response("{}", { status: 404 });
      const [, repo, kind, ref] = m;
      if (kind === "manifests") {
        const byTag: Record<string, [Uint8Array, string, string]> = {
          "lib/multi:1": [index.bytes, index.digest, index.index.mediaType!],
          "lib/plain:1": [plainImg.manifestBytes, plainImg.manifestDigest, plainImg.manifest.mediaType!],
        };
        const bad = hostile[`${repo}:${ref}`];
        if (bad) return new Response(bad as Uint8Array<ArrayBuffer>, { headers: { "content-type": amd.manifest.mediaType! } });
        const hit = byTag[`${repo}:${ref}`] ?? (blobs.has(ref!) ? [blobs.get(ref!)!, ref!, ref === index.digest ? index.index.mediaType! : amd.manifest.mediaType!] : undefined);
        if (!hit) return new Response("{}", { status: 404 });
        return new Response(hit[0] as Uint8Array<ArrayBuffer>, { headers: { "content-type": hit[2], "docker-content-digest": hit[1] } });
      }
      let b = blobs.get(ref!);
      if (!b) return new Response("{}", { status: 404 });
      if (state.corrupt === ref) { b = b.slice(); b[b.length - 1] ^= 1; }
      if (state.oversize === ref) { const big = new Uint8Array(b.length + (1 << 20)); big.set(b); b = big; }
      if (state.redirect) return Response.redirect(`http://127.0.0.1:${cdn.port}/${ref}`, 307);
      return serveBlob(req, b, ref!);
    },
  });
});
afterAll(() => { reg.stop(true); cdn.stop(true); });
afterEach(() => { Object.assign(state, { mode: "anon", cutOnce: new Set(), corrupt: "", oversize: "", redirect: false, authSeenByCdn: [], rangeRequests: 0 }); });

const host = () => `127.0.0.1:${reg.port}`;

async function pull(ref: string, opts = {}) {
  const store = new Store(fresh());
  const p = await pullImage(store, `${host()}/${ref}`, { insecure: true, ...opts });
  return { store, p };
}

function expectUnpacked(store: Store, img: BuiltImage) {
  const rec = store.get(img.configDigest);
  const dir = store.layerDir(chainIds(img.config.rootfs.diff_ids)[2]!);
  expect(readFileSync(`${dir}/app/hello`, "utf8")).toContain("hello from the image");
  return rec;
}

describe("pull", () => {
  test("WWW-Authenticate parsing", () => {
    expect(parseChallenge(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`)).toEqual({
      scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" },
    });
  });

  test("anonymous: a manifest list resolves to this platform", async () => {
    const { store, p } = await pull("lib/multi:1");
    expect(p.manifestDigest).toBe(amd.manifestDigest);
    expect(p.repoDigest).toBe(`${host()}/lib/multi@${index.digest}`);
    expectUnpacked(store, amd);
    expect(store.get(`${host()}/lib/multi:1`).id).toBe(amd.configDigest);
    expect(readdirSync(store.tmp).filter((f) => !f.endsWith(".lock"))).toEqual([]);
  });

  test("--platform picks another manifest (zstd layers)", async () => {
    const { store, p } = await pull("lib/multi:1", { platform: { os: "linux", architecture: "arm64" } });
    expect(p.manifestDigest).toBe(arm.manifestDigest);
    expectUnpacked(store, arm);
  });

  test("by digest, uncompressed layers", async () => {
    const { p } = await pull(`lib/plain@${plainImg.manifestDigest}`);
    expect(p.name).toBeUndefined();
    expect(p.id).toBe(plainImg.configDigest);
  });

  test("Bearer token auth with credentials", async () => {
    state.mode = "bearer";
    const { store } = await pull("lib/multi:1", { credentials: { username: "alice", password: "secret" } });
    expectUnpacked(store, amd);
    await expect(pull("lib/multi:1", { credentials: { username: "alice", password: "wrong" } })).rejects.toThrow(/token server refused/);
  });

  test("Basic auth; without credentials a clear error naming bunker login", async () => {
    state.mode = "basic";
    const { store } = await pull("lib/multi:1", { credentials: { username: "alice", password: "secret" } });
    expectUnpacked(store, amd);
    await expect(pull("lib/multi:1", { credentials: undefined })).rejects.toThrow(/wants a login/);
  });

  test("a blob redirect to another host gets no Authorization", async () => {
    state.mode = "basic";
    state.redirect = true;
    const { store } = await pull("lib/multi:1", { credentials: { username: "alice", password: "secret" } });
    expectUnpacked(store, amd);
    expect(state.authSeenByCdn.length).toBeGreaterThan(0);
    expect(state.authSeenByCdn.every((a) => a === "")).toBe(true);
  });

  test("a connection cut mid-blob is resumed with Range", async () => {
    for (const l of amd.layers) state.cutOnce.add(l.digest);
    const { store } = await pull("lib/multi:1");
    expectUnpacked(store, amd);
    expect(state.rangeRequests).toBeGreaterThanOrEqual(1);
  });

  test("a corrupt blob fails with a digest mismatch and stores nothing", async () => {
    state.corrupt = amd.layers[0]!.digest;
    const root = fresh();
    const store = new Store(root);
    await expect(pullImage(store, `${host()}/lib/multi:1`, { insecure: true })).rejects.toThrow(/digest mismatch/);
    expect(store.listImages()).toEqual([]);
    expect(store.hasBlob(amd.layers[0]!.digest)).toBe(false);
    expect(readdirSync(store.layers)).toEqual([]);
  });

  test("hostile manifests and configs: one line naming the field, nothing stored", async () => {
    const cases: [string, RegExp][] = [
      ["lib/empty:1", /^bunker: 127\.0\.0\.1:\d+\/lib\/empty:1: manifest: schemaVersion: is required: EINVAL \(Invalid argument\)$/],
      ["lib/deep:1", /^bunker: 127\.0\.0\.1:\d+\/lib\/deep:1: manifest: JSON nested deeper than 100 levels at line 1, column 128 \(byte 127\): EINVAL \(Invalid argument\)$/],
      ["lib/bigcfg:1", new RegExp(`^bunker: 127\\.0\\.0\\.1:\\d+/lib/bigcfg:1: config ${amd.configDigest}: too large: 1099511627776 bytes, at most 33554432 are read: EINVAL \\(Invalid argument\\) — is it the right file\\?$`)],
      ["lib/huge:1", /^bunker: manifest lib\/huge:1 is too large \(5242880 bytes, at most 4194304 are read\): EFBIG \(File too large\)$/],
      ["lib/badcfg:1", new RegExp(`^bunker: 127\\.0\\.0\\.1:\\d+/lib/badcfg:1: config sha256:${badConfigDigest}: rootfs: is required: EINVAL \\(Invalid argument\\)$`)],
    ];
    for (const [ref, msg] of cases) {
      const store = new Store(fresh());
      const err = await pullImage(store, `${host()}/${ref}`, { insecure: true }).catch((e) => e);
      expect(err).toBeInstanceOf(BunkerError);
      expect((err as BunkerError).format()).toMatch(msg);
      expect(readdirSync(store.layers)).toEqual([]);
    }
  });

  test("a registry that sends more than a blob's size is cut off there; nothing is kept", async () => {
    state.oversize = amd.layers[0]!.digest;
    const store = new Store(fresh());
    await expect(pullImage(store, `${host()}/lib/multi:1`, { insecure: true })).rejects.toThrow(`blob ${amd.layers[0]!.digest} from ${host()}/lib/multi: the registry sent more than its ${amd.layers[0]!.blob.length} bytes`);
    expect(store.listImages()).toEqual([]);
    expect(store.hasBlob(amd.layers[0]!.digest)).toBe(false);
    expect(readdirSync(store.tmp).filter((f) => f.startsWith("partial-"))).toEqual([]);
  });

  test("a download stops at the store's reserve and keeps its partial file for a resume", async () => {
    const store = new Store(fresh(), { reserve: { percent: 100 } });
    await expect(pullImage(store, `${host()}/lib/multi:1`, { insecure: true })).rejects.toThrow(/does not fit: downloading it would leave less than the reserve .* the partial download is kept: pulling again resumes it/);
    expect(store.listImages()).toEqual([]);
    expect(readdirSync(store.tmp).some((f) => f.startsWith("partial-"))).toBe(true);
  });

  test("an unknown tag is a clear error", async () => {
    await expect(pull("lib/nope:1")).rejects.toThrow(/manifest unknown/);
  });
});
