// bunker push to Debian's docker-registry (distribution 2.8) on 127.0.0.1,
// through a counting front (tests/registry/counting-proxy.ts) that sees every
// HEAD, upload, PATCH and manifest PUT; token auth, and Basic auth for the
// refused-credentials line.  Images are made by the tests (image-builder),
// loaded into a store of each user's own; what got pushed is checked with
// skopeo and by pulling it back by digest into an empty store and running it.
// Also the registry rules: registries.conf's unqualified-search-registries and
// insecure, plain HTTP for loopback registries, short names found locally.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { buildImage, multiArchIndex, ociLayoutFiles, writeLayoutDir } from "../lib/image-builder.ts";
import { imageCli } from "../lib/image-cli.ts";
import { bunkerBinary, isRoot, ownerOf, runAs, USERS, type As } from "../lib/bunker.ts";
import { runInPty } from "../lib/pty.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";
import { PASSWORD, TestRegistry, USER } from "../registry/registry.ts";
import { CountingProxy } from "../registry/counting-proxy.ts";

const tools = ["docker-registry", "skopeo", "htpasswd", "openssl"].every((t) => Bun.which(t));
const users: As[] = isRoot() ? USERS : ["root"];
const MiB = 1 << 20;
const app = buildImage({ compression: "gzip", label: "push-app" });
// 20 MiB that do not compress: two PATCH chunks of 16 MiB and less
const big = buildImage({ compression: "none", label: "push-big", extraLayers: [[{ name: "big.bin", data: randomBytes(20 * MiB) }]] });
const amd = buildImage({ compression: "gzip", label: "push-multi" });
const arm = buildImage({ compression: "zstd", architecture: "arm64", label: "push-multi" });

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** every line of S but the empty ones */
const lines = (s: string) => s.split("\n").filter(Boolean);

describe.skipIf(!tools)("push to docker-registry (auth: token) through a counting front", () => {
  let dir: string;
  let reg: TestRegistry;
  let front: CountingProxy;
  beforeAll(async () => {
    dir = makeTempDir("bunker-push");
    reg = new TestRegistry(`${dir}/registry`, "token");
    writeLayoutDir(`${dir}/layout`, ociLayoutFiles([{ target: app, name: "app" }, { target: big, name: "big" }, { target: multiArchIndex([amd, arm]), name: "multi" }]));
    await reg.start([[`oci:${dir}/layout:multi`, "test/busy:multi", true]]);
    front = new CountingProxy(reg.host);
  }, 60_000);
  afterAll(async () => {
    front?.stop();
    reg?.stop();
    await reg?.proc?.exited;
    if (dir) removeTree(dir);
  });

  for (const as of users) {
    describe(`as ${as}`, () => {
      let home: string;
      let cli: (...args: string[]) => ReturnType<typeof imageCli>;
      const repo = (name: string) => `${front.host}/${as}/${name}`;
      const skopeo = async (ref: string) => {
        const r = await runAs("root", ["skopeo", "inspect", "--tls-verify=false", "--creds", `${USER}:${PASSWORD}`, `docker://${ref}`], { timeoutMs: 30_000 });
        expect(r.stderr).toBe("");
        return JSON.parse(r.stdout) as { Digest: string; Layers: string[] };
      };
      beforeAll(async () => {
        home = makeTempDir(`bunker-push-${as}`, ownerOf(as));
        cli = (...args: string[]) => imageCli(as, ["--data-root", `${home}/store`, "--root", `${home}/state`, ...args], { XDG_CONFIG_HOME: `${home}/config` });
        const loaded = await cli("load", "-i", `${dir}/layout`);
        expect(loaded.stderr).toBe("");
        expect((await cli("tag", "localhost/oci-archive:app", "localhost/app")).code).toBe(0);
      }, 60_000);
      afterAll(() => home && removeTree(home));

      test("refused without a login; after it, a short name is pushed, skopeo sees it, a second push only HEADs, the image pulled back by digest runs", async () => {
        const denied = await cli("push", "app", repo("app:1"));
        expect(denied.code).toBe(125);
        expect(lines(denied.stderr)).toHaveLength(1);
        expect(denied.stderr).toMatch(/^bunker: registry .* denied access: the registry wants a login.*bunker login/);
        expect((await cli("login", "-u", USER, "-p", PASSWORD, front.host)).code).toBe(0);

        front.seen = [];
        const r = await cli("push", "app", repo("app:1"));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const blobs = app.layers.length + 1;
        // the stored manifest's bytes: its digest is the one the store has
        expect(r.stdout).toBe(`Pushed: ${repo("app:1")} (blobs: ${blobs} uploaded, 0 already there, 0 mounted)\nDigest: ${app.manifestDigest}\n`);
        expect(front.count("HEAD", /\/blobs\/sha256:/)).toHaveLength(blobs);
        expect(front.count("POST", /\/blobs\/uploads\/$/)).toHaveLength(blobs);
        // small blobs go whole: one PUT with the body, no PATCH
        expect(front.count("PATCH", /\/blobs\/uploads\//)).toHaveLength(0);
        const puts = front.count("PUT", /\/blobs\/uploads\//);
        expect(puts.map((p) => p.query.get("digest")).sort()).toEqual([app.configDigest, ...app.layers.map((l) => l.digest)].sort());
        expect(puts.every((p) => p.status === 201 && p.bodyBytes > 0)).toBe(true);
        const manifestPut = front.count("PUT", /\/manifests\//);
        expect(manifestPut.map((p) => [p.path, p.status])).toEqual([[`/v2/${as}/app/manifests/1`, 201]]);

        const seen = await skopeo(repo("app:1"));
        expect(seen.Digest).toBe(app.manifestDigest);
        expect(seen.Layers).toEqual(app.layers.map((l) => l.digest));

        front.seen = [];
        const again = await cli("push", "-q", "localhost/app", repo("app:1"));
        expect(again.stderr).toBe("");
        expect(again.stdout).toBe(`${app.manifestDigest}\n`);
        expect(front.count("HEAD", /\/blobs\/sha256:/).map((h) => h.status)).toEqual(Array(blobs).fill(200));
        expect(front.seen.filter((s) => /\/blobs\/uploads\//.test(s.path))).toEqual([]);
        expect(front.count("PUT", /\/manifests\//)).toHaveLength(1);

        // an empty store (another data root) pulls it back by digest and runs it
        const other = (...args: string[]) => imageCli(as, ["--data-root", `${home}/store2`, "--root", `${home}/state`, ...args], { XDG_CONFIG_HOME: `${home}/config` });
        const pulled = await other("pull", "-q", `${repo("app")}@${app.manifestDigest}`);
        expect(pulled.stderr).toBe("");
        expect(pulled.stdout.trim()).toBe(app.configDigest);
        const run = await other("run", `${repo("app")}@${app.manifestDigest}`, "pushed");
        expect(run.stderr).toBe("");
        expect(run.stdout).toBe("hello from the image pushed\n");
      }, 120_000);

      test("a 20 MiB layer goes in PATCH chunks with Content-Range; a push to another repository mounts every blob", async () => {
        front.seen = [];
        const r = await cli("push", "localhost/oci-archive:big", repo("big:1"));
        expect(r.stderr).toBe("");
        expect(r.stdout).toContain(`Digest: ${big.manifestDigest}\n`);
        const large = big.layers.at(-1)!;
        expect(large.blob.length).toBeGreaterThan(16 * MiB);
        const patches = front.count("PATCH", /\/blobs\/uploads\//);
        expect(patches.map((p) => [p.contentRange, p.bodyBytes, p.status])).toEqual([
          [`0-${16 * MiB - 1}`, 16 * MiB, 202],
          [`${16 * MiB}-${large.blob.length - 1}`, large.blob.length - 16 * MiB, 202],
        ]);
        const close = front.count("PUT", /\/blobs\/uploads\//).find((p) => p.query.get("digest") === large.digest)!;
        expect([close.bodyBytes, close.status]).toEqual([0, 201]);
        expect((await skopeo(repo("big:1"))).Layers).toEqual(big.layers.map((l) => l.digest));

        front.seen = [];
        const m = await cli("push", "localhost/oci-archive:big", repo("mirror:1"));
        expect(m.stderr).toBe("");
        const blobs = big.layers.length + 1;
        expect(m.stdout).toBe(`Pushed: ${repo("mirror:1")} (blobs: 0 uploaded, 0 already there, ${blobs} mounted)\nDigest: ${big.manifestDigest}\n`);
        const mounts = front.count("POST", /\/blobs\/uploads\/$/);
        expect(mounts.map((p) => [p.query.get("from"), p.status])).toEqual(Array(blobs).fill([`${as}/big`, 201]));
        expect(front.count("PATCH", /./)).toHaveLength(0);
        expect((await skopeo(repo("mirror:1"))).Digest).toBe(big.manifestDigest);
      }, 120_000);

      test("a registry failing half-way: one line with its error code and message; the push run again uploads only what did not get there", async () => {
        let fail = true;
        const flaky = new CountingProxy(reg.host, undefined, (req) => {
          if (!fail || req.method !== "PATCH") return undefined;
          fail = false;
          return Response.json({ errors: [{ code: "UNAVAILABLE", message: "storage is full, try later" }] }, { status: 503 });
        });
        try {
          const dest = `${flaky.host}/${as}/flaky:1`;
          const r = await cli("push", "--creds", `${USER}:${PASSWORD}`, "localhost/oci-archive:big", dest);
          expect(r.code).toBe(125);
          expect(lines(r.stderr)).toHaveLength(1);
          expect(r.stderr).toMatch(/^bunker: registry 127\.0\.0\.1:\d+ refused bytes 0-16777215 of blob sha256:[a-f0-9]{64}: UNAVAILABLE: storage is full, try later \(HTTP 503\): EPROTO/);
          expect(flaky.count("PUT", /\/manifests\//)).toHaveLength(0);
          flaky.seen = [];
          const again = await cli("push", "--creds", `${USER}:${PASSWORD}`, "localhost/oci-archive:big", dest);
          expect(again.stderr).toBe("");
          const blobs = big.layers.length + 1;
          expect(again.stdout).toBe(`Pushed: ${dest} (blobs: 1 uploaded, ${blobs - 1} already there, 0 mounted)\nDigest: ${big.manifestDigest}\n`);
          expect(flaky.count("PATCH", /./)).toHaveLength(2);
        } finally {
          flaky.stop();
        }
      }, 120_000);

      test("--compression-format zstd: gzip layers recompressed, an OCI manifest of zstd layers that pulls and runs; again, every blob is there", async () => {
        const r = await cli("push", "-q", "--compression-format", "zstd", "localhost/app", repo("zstd:1"));
        expect(r.stderr).toBe("");
        const digest = r.stdout.trim();
        expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
        expect(digest).not.toBe(app.manifestDigest);
        const raw = await runAs("root", ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", `${USER}:${PASSWORD}`, `docker://${repo("zstd:1")}`]);
        const m = JSON.parse(raw.stdout) as { mediaType: string; config: { digest: string }; layers: { mediaType: string }[] };
        expect([m.mediaType, m.config.digest]).toEqual(["application/vnd.oci.image.manifest.v1+json", app.configDigest]);
        expect(m.layers.map((l) => l.mediaType)).toEqual(app.layers.map(() => "application/vnd.oci.image.layer.v1.tar+zstd"));
        front.seen = [];
        expect((await cli("push", "-q", "--compression-format", "zstd", "localhost/app", repo("zstd:1"))).stdout.trim()).toBe(digest);
        expect(front.count("HEAD", /\/blobs\/sha256:/).map((h) => h.status)).toEqual(Array(app.layers.length + 1).fill(200));
        const other = (...args: string[]) => imageCli(as, ["--data-root", `${home}/store3`, "--root", `${home}/state`, ...args], { XDG_CONFIG_HOME: `${home}/config` });
        const run = await other("run", `${repo("zstd")}@${digest}`, "zstd");
        expect(run.stderr).toBe("");
        expect(run.stdout).toBe("hello from the image zstd\n");
      }, 120_000);

      test("an image pulled from an index goes alone until the store holds every platform, then as that index (same digest)", async () => {
        const src = `${reg.host}/test/busy:multi`;
        expect((await cli("login", "-u", USER, "-p", PASSWORD, reg.host)).code).toBe(0);
        expect((await cli("pull", "-q", src)).stdout.trim()).toBe(amd.configDigest);
        const one = await cli("push", src, repo("multi:1"));
        expect(one.code).toBe(0);
        expect(one.stderr).toMatch(/^bunker: note: .*index sha256:[a-f0-9]{64} has 2 platforms and the store holds 1: pushing this image only \(missing: linux\/arm64;/);
        expect(one.stdout).toContain(`Digest: ${amd.manifestDigest}\n`);
        expect((await cli("pull", "-q", "--platform", "linux/arm64", src)).stdout.trim()).toBe(arm.configDigest);
        const all = await cli("push", src, repo("multi:1"));
        expect(all.stderr).toBe("");
        expect(all.stdout).toBe(`Pushed: ${repo("multi:1")} (an index of 2 platforms, blobs: ${arm.layers.length + 1} uploaded, ${amd.layers.length + 1} already there, 0 mounted)\nDigest: ${reg.digestOf("test/busy", "multi")}\n`);
        const raw = await runAs("root", ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", `${USER}:${PASSWORD}`, `docker://${repo("multi:1")}`]);
        expect(new Bun.CryptoHasher("sha256").update(raw.stdout).digest("hex")).toBe(reg.digestOf("test/busy", "multi").slice(7));
      }, 120_000);
    });
  }
});

describe.skipIf(!tools)("push to docker-registry (auth: basic): refused credentials", () => {
  let dir: string;
  let reg: TestRegistry;
  beforeAll(async () => {
    dir = makeTempDir("bunker-push-basic");
    reg = new TestRegistry(`${dir}/registry`, "basic");
    writeLayoutDir(`${dir}/layout`, ociLayoutFiles([{ target: app, name: "app" }]));
    await reg.start();
  }, 60_000);
  afterAll(async () => {
    reg?.stop();
    await reg?.proc?.exited;
    if (dir) removeTree(dir);
  });

  test("wrong --creds: one line with the registry's error code, exit 125; an ID without DEST names the fix", async () => {
    const cli = (...args: string[]) => imageCli("root", ["--data-root", `${dir}/store`, ...args], { XDG_CONFIG_HOME: `${dir}/config` });
    expect((await cli("load", "-i", `${dir}/layout`)).code).toBe(0);
    const r = await cli("push", "--creds", `${USER}:wrong`, "localhost/oci-archive:app", `${reg.host}/x/app:1`);
    expect(r.code).toBe(125);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^bunker: registry 127\.0\.0\.1:\d+ denied access: the credentials were refused: UNAUTHORIZED: authentication required \(HTTP 401\): EACCES/);
    const id = await cli("push", app.configDigest.slice(7, 19));
    expect(id.code).toBe(125);
    expect(id.stderr).toMatch(/^bunker: push: [a-f0-9]{12} is not a name to push to: EINVAL .* — give the destination: bunker push /);
    const ok = await cli("push", "-q", "--creds", `${USER}:${PASSWORD}`, "localhost/oci-archive:app", `${reg.host}/x/app:1`);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe(`${app.manifestDigest}\n`);
    // on a terminal each blob's row is drawn on stderr (here: mounted from x/app)
    const tty = await runInPty("root", [bunkerBinary(), "--data-root", `${dir}/store`, "push", "--creds", `${USER}:${PASSWORD}`, "localhost/oci-archive:app", `${reg.host}/x/tty:1`], { timeoutMs: 60_000 });
    expect(tty.code).toBe(0);
    for (const l of app.layers) expect(tty.stdout).toContain(`\x1b[2K${l.digest.slice(7, 19)}: mounted`);
    expect(tty.stdout).toContain(`Digest: ${app.manifestDigest}`);
  }, 60_000);
});

// registries.conf: a short name expands to the search registries (and says
// to what when it fails); an image tagged localhost/NAME is found by NAME;
// insecure = true lets a registry with an unknown CA be used, and a rule
// with insecure = false takes plain HTTP away from a loopback registry.
describe.skipIf(!tools)("registry rules: short names, insecure registries", () => {
  let dir: string;
  let plainReg: TestRegistry;
  let tlsReg: TestRegistry;
  beforeAll(async () => {
    dir = makeTempDir("bunker-rules");
    plainReg = new TestRegistry(`${dir}/plain`, "none");
    tlsReg = new TestRegistry(`${dir}/tls`, "none", true);
    writeLayoutDir(`${dir}/layout`, ociLayoutFiles([{ target: app, name: "app" }]));
    await plainReg.start([[`oci:${dir}/layout:app`, "team/app:1"]]);
    await tlsReg.start([[`oci:${dir}/layout:app`, "team/app:1"]]);
  }, 60_000);
  afterAll(async () => {
    plainReg?.stop();
    tlsReg?.stop();
    await plainReg?.proc?.exited;
    await tlsReg?.proc?.exited;
    if (dir) removeTree(dir);
  });

  for (const as of users) {
    test(`as ${as}: search registries, localhost/NAME run as NAME, insecure rules, run --tls-verify=false`, async () => {
      const home = makeTempDir(`bunker-rules-${as}`, ownerOf(as));
      try {
        const cli = (...args: string[]) => imageCli(as, ["--data-root", `${home}/store`, "--root", `${home}/state`, ...args], { XDG_CONFIG_HOME: `${home}/config` });
        const conf = `${home}/config/bunker/registries.conf`;
        await runAs(as, ["mkdir", "-p", `${home}/config/bunker`]);
        const writeConf = (text: string) => writeFileSync(conf, text, { mode: 0o644 });

        // plain HTTP to a loopback registry needs no flag; a short name expands to the search list
        writeConf(`unqualified-search-registries = ["${plainReg.host}"]\n`);
        const short = await cli("pull", "-q", "team/app:1");
        expect(short.stderr).toBe("");
        expect(short.stdout.trim()).toBe(app.configDigest);
        const nope = await cli("pull", "team/nope");
        expect(nope.code).toBe(125);
        expect(lines(nope.stderr)).toHaveLength(1);
        expect(nope.stderr).toContain(`bunker: cannot pull team/nope: expanded to ${plainReg.host}/team/nope:latest by unqualified-search-registries of ${conf}; ${plainReg.host}/team/nope:latest: manifest unknown`);

        // a local image tagged localhost/NAME runs as NAME; a missing one says where it was looked for
        expect((await cli("tag", `${plainReg.host}/team/app:1`, "localhost/shorty")).code).toBe(0);
        const run = await cli("run", "shorty", "short");
        expect(run.stderr).toBe("");
        expect(run.stdout).toBe("hello from the image short\n");
        const missing = await cli("run", "--pull", "never", "ghost");
        expect(missing.code).toBe(125);
        expect(missing.stderr).toContain(`no such image: ghost (looked for docker.io/library/ghost:latest, localhost/ghost:latest, ${plainReg.host}/ghost:latest)`);

        // a registry with a certificate of an unknown CA: refused, unless a rule says insecure
        const tlsRef = `${tlsReg.host}/team/app:1`;
        const untrusted = await cli("pull", "-q", tlsRef);
        expect(untrusted.code).toBe(125);
        expect(untrusted.stderr).toMatch(/^bunker: cannot reach registry .*(certificate|self.signed|issuer)/i);
        writeConf(`[[registry]]\nlocation = "${tlsReg.host}"\ninsecure = true\n\n[[registry]]\nlocation = "${plainReg.host}"\ninsecure = false\n`);
        const insecure = await cli("pull", "-q", tlsRef);
        expect(insecure.stderr).toBe("");
        expect(insecure.stdout.trim()).toBe(app.configDigest);

        // insecure = false on the loopback registry: HTTPS only, unless --tls-verify=false
        const strict = await cli("pull", "-q", `${plainReg.host}/team/app:1`);
        expect(strict.code).toBe(125);
        expect(strict.stderr).toMatch(/^bunker: cannot reach registry/);
        const runInsecure = await cli("run", "--pull", "always", "--tls-verify=false", `${plainReg.host}/team/app:1`, "flagged");
        expect(runInsecure.stderr).toBe("");
        expect(runInsecure.stdout).toBe("hello from the image flagged\n");

        // a bad file is one line naming it and the line
        writeConf(`[[registry]]\nlocation = "${plainReg.host}"\ninsecure = yes\n`);
        const bad = await cli("pull", `${plainReg.host}/team/app:1`);
        expect(bad.code).toBe(125);
        expect(lines(bad.stderr)).toHaveLength(1);
        expect(bad.stderr).toContain(`bunker: ${conf}: not TOML`);
      } finally {
        removeTree(home);
      }
    }, 120_000);
  }
});
