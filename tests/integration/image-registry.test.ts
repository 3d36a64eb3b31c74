// bunker pull / login against Debian's docker-registry (distribution 2.8) on
// 127.0.0.1: images built from busybox-static and pushed with skopeo; no
// auth, htpasswd Basic auth, and token auth with the test's token server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { chainIds } from "../../src/image/digest.ts";
import { buildImage, multiArchIndex, writeLayoutDir, ociLayoutFiles } from "../lib/image-builder.ts";
import { imageCli } from "../lib/image-cli.ts";
import { bunkerBinary, isRoot, ownerOf, USERS, type As } from "../lib/bunker.ts";
import { runInPty } from "../lib/pty.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";
import { PASSWORD, TestRegistry, USER, type AuthMode } from "../registry/registry.ts";
import { CountingProxy } from "../registry/counting-proxy.ts";

const tools = ["docker-registry", "skopeo", "htpasswd", "openssl"].every((t) => Bun.which(t));
const amd = buildImage({ compression: "gzip" });
const arm = buildImage({ compression: "zstd", architecture: "arm64" });
const plain = buildImage({ compression: "none", label: "plain" });

for (const mode of ["none", "basic", "token"] as AuthMode[]) {
  describe.skipIf(!tools)(`pull from docker-registry (auth: ${mode})`, () => {
    let dir: string;
    let reg: TestRegistry;
    beforeAll(async () => {
      dir = makeTempDir(`bunker-reg-${mode}`);
      reg = new TestRegistry(`${dir}/registry`, mode);
      writeLayoutDir(`${dir}/layout`, ociLayoutFiles([
        { target: multiArchIndex([amd, arm]), name: "multi" },
        { target: plain, name: "plain" },
      ]));
      await reg.start([[`oci:${dir}/layout:multi`, "test/busy:multi", true], [`oci:${dir}/layout:plain`, "test/busy:plain"]]);
    }, 60_000);
    afterAll(async () => {
      reg?.stop();
      await reg?.proc?.exited;
      if (dir) removeTree(dir);
    });
    const cli = (...args: string[]) => imageCli("root", ["--data-root", `${dir}/store`, ...args], { XDG_CONFIG_HOME: `${dir}/config` });

    test("pull a multi-arch image (this platform), then arm64, then by digest", async () => {
      if (mode !== "none") {
        const denied = await cli("pull", "--tls-verify=false", `${reg.host}/test/busy:multi`);
        expect(denied.code).toBe(125);
        expect(denied.stderr).toMatch(/denied access.*bunker login/);
        const login = await cli("login", "--tls-verify=false", "-u", USER, "-p", PASSWORD, reg.host);
        expect(login.stderr).toBe("");
        expect(login.stdout).toContain("Login Succeeded");
        expect(readFileSync(`${dir}/config/bunker/auth.json`, "utf8")).toContain(btoa(`${USER}:${PASSWORD}`));
        expect((await cli("login", "--tls-verify=false", "-u", USER, "-p", "wrong", reg.host)).code).toBe(125);
      }
      const r = await cli("pull", "-q", "--tls-verify=false", `${reg.host}/test/busy:multi`);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(amd.configDigest);
      const top = chainIds(amd.config.rootfs.diff_ids).at(-1)!;
      expect(readFileSync(`${dir}/store/layers/${top.slice(7)}/app/hello`, "utf8")).toContain("hello from the image");
      const a = await cli("pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", `${reg.host}/test/busy:multi`);
      expect(a.stdout.trim()).toBe(arm.configDigest);
      const d = await cli("pull", "-q", "--tls-verify=false", `${reg.host}/test/busy@${reg.digestOf("test/busy", "plain")}`);
      expect(d.stderr).toBe("");
      expect(d.stdout.trim()).toBe(plain.configDigest);
      const images = JSON.parse((await cli("images", "--format", "json")).stdout);
      expect(images.length).toBe(3);
      if (mode === "token") expect(reg.tokenRequests).toBeGreaterThan(0);
    }, 60_000);

    if (mode === "none") test("on a terminal, each layer's progress is drawn on stderr; on a pipe nothing is", async () => {
      const store = `${dir}/store-tty`;
      const r = await runInPty("root", [bunkerBinary(), "--data-root", store, "pull", "--tls-verify=false", `${reg.host}/test/busy:multi`], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      for (const l of amd.layers) expect(r.stdout).toContain(`\x1b[2K${l.digest.slice(7, 19)}: done`);
      expect(r.stdout).toContain(`Pulled: ${reg.host}/test/busy:multi (image ID ${amd.configDigest.slice(7, 19)})`);
      const piped = await imageCli("root", ["--data-root", `${store}-2`, "pull", "--tls-verify=false", `${reg.host}/test/busy:multi`]);
      expect(piped.stderr).toBe("");
      expect(piped.stdout).toBe(`Digest: ${reg.digestOf("test/busy", "multi")}\nPulled: ${reg.host}/test/busy:multi (image ID ${amd.configDigest.slice(7, 19)})\n`);
    }, 60_000);

    test("an unknown tag fails clearly; a plain-HTTP registry on 127.0.0.1 needs no --tls-verify=false (as Docker's)", async () => {
      const r = await cli("pull", "--tls-verify=false", `${reg.host}/test/busy:nope`);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/manifest unknown/);
      const s = await cli("pull", "-q", `${reg.host}/test/busy:plain`);
      expect(s.stderr).toBe("");
      expect(s.stdout.trim()).toBe(plain.configDigest);
      expect(existsSync(`${dir}/store/tmp`)).toBe(true);
    }, 60_000);
  });
}

// A registry with a certificate of its own CA (HTTPS, Basic auth): --cert-dir
// DIR (ca.crt, as podman's certs.d) makes it trusted; credentials can come
// from $REGISTRY_AUTH_FILE (podman's auth file) without a bunker login.
describe.skipIf(!tools)("pull from a TLS registry with its own CA (auth: basic)", () => {
  let dir: string;
  let reg: TestRegistry;
  beforeAll(async () => {
    dir = makeTempDir("bunker-reg-tls");
    reg = new TestRegistry(`${dir}/registry`, "basic", true);
    writeLayoutDir(`${dir}/layout`, ociLayoutFiles([{ target: plain, name: "plain" }]));
    await reg.start([[`oci:${dir}/layout:plain`, "test/busy:plain"]]);
  }, 60_000);
  afterAll(async () => {
    reg?.stop();
    await reg?.proc?.exited;
    if (dir) removeTree(dir);
  });

  for (const as of isRoot() ? USERS : ["root" as As]) {
    test(`as ${as}: an unknown CA fails naming --cert-dir; --cert-dir with credentials from $REGISTRY_AUTH_FILE pulls`, async () => {
      const home = makeTempDir(`bunker-reg-tls-${as}`, ownerOf(as));
      try {
        const cli = (env: Record<string, string>, ...args: string[]) => imageCli(as, ["--data-root", `${home}/store`, ...args], { XDG_CONFIG_HOME: `${home}/config`, ...env });
        const ref = `${reg.host}/test/busy:plain`;
        const untrusted = await cli({}, "pull", "-q", ref);
        expect(untrusted.code).toBe(125);
        expect(untrusted.stderr).toMatch(/^bunker: .*(certificate|self.signed|issuer).*--cert-dir/i);
        // trusted, but no credentials: denied
        const denied = await cli({}, "pull", "-q", "--cert-dir", reg.certDir, ref);
        expect(denied.code).toBe(125);
        expect(denied.stderr).toMatch(/denied access.*bunker login/);
        // podman's auth file
        const authFile = `${home}/auth.json`;
        writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: btoa(`${USER}:${PASSWORD}`) } } }));
        chmodSync(authFile, 0o644);
        const r = await cli({ REGISTRY_AUTH_FILE: authFile }, "pull", "-q", "--cert-dir", reg.certDir, ref);
        expect(r.stderr).toBe("");
        expect(r.stdout.trim()).toBe(plain.configDigest);
        expect(existsSync(`${home}/config/bunker/auth.json`)).toBe(false); // nothing was logged in
        // --tls-verify=false skips verification (with the credentials of the auth file)
        const insecure = await cli({ REGISTRY_AUTH_FILE: authFile }, "pull", "-q", "--tls-verify=false", ref);
        expect(insecure.code).toBe(0);
      } finally {
        await imageCli(as, ["--data-root", `${home}/store`, "rmi", "-f", plain.configDigest]);
        removeTree(home);
      }
    }, 60_000);
  }
});

// Blob storage behind a redirect (S3, a CDN): a front in this process passes
// everything to the real registry (Basic auth) except blob GETs, which it
// answers with a 307 to a second server on another port holding the bytes it
// fetched from the registry.  The second server must never see credentials.
describe.skipIf(!tools)("pull through a blob redirect to another host (auth: basic)", () => {
  let dir: string;
  let reg: TestRegistry;
  let front: CountingProxy;
  let blobHost: ReturnType<typeof Bun.serve>;
  const parked = new Map<string, ArrayBuffer>();
  const redirected: string[] = [];
  const seenByBlobHost: (string | null)[] = [];
  beforeAll(async () => {
    dir = makeTempDir("bunker-reg-redirect");
    reg = new TestRegistry(`${dir}/registry`, "basic");
    writeLayoutDir(`${dir}/layout`, ociLayoutFiles([{ target: amd, name: "amd" }]));
    await reg.start([[`oci:${dir}/layout:amd`, "test/busy:amd"]]);
    blobHost = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        seenByBlobHost.push(req.headers.get("authorization"));
        const bytes = parked.get(new URL(req.url).pathname);
        return bytes ? new Response(bytes) : new Response("no such blob", { status: 404 });
      },
    });
    front = new CountingProxy(reg.host, async (req, upstream) => {
      const blob = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(new URL(req.url).pathname);
      if (req.method !== "GET" || !blob || upstream.status !== 200) return undefined;
      const key = `/storage/${crypto.randomUUID()}`;
      parked.set(key, await upstream.arrayBuffer());
      redirected.push(blob[1]!);
      return new Response(null, { status: 307, headers: { Location: `http://127.0.0.1:${blobHost.port}${key}` } });
    });
  }, 60_000);
  afterAll(async () => {
    front?.stop();
    blobHost?.stop(true);
    reg?.stop();
    await reg?.proc?.exited;
    if (dir) removeTree(dir);
  });

  for (const as of isRoot() ? USERS : ["root" as As]) {
    test(`as ${as}: the pull follows the redirects, verifies every digest, the image runs, the blob host never sees Authorization`, async () => {
      const home = makeTempDir(`bunker-reg-redirect-${as}`, ownerOf(as));
      try {
        const cli = (...args: string[]) => imageCli(as, ["--data-root", `${home}/store`, "--root", `${home}/state`, ...args], { XDG_CONFIG_HOME: `${home}/config` });
        const hostPort = front.host;
        expect((await cli("login", "--tls-verify=false", "-u", USER, "-p", PASSWORD, hostPort)).code).toBe(0);
        const before = redirected.length;
        const r = await cli("pull", "-q", "--tls-verify=false", `${hostPort}/test/busy:amd`);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).toBe(amd.configDigest);
        // the config and every layer came through the other host
        expect(new Set(redirected.slice(before))).toEqual(new Set([amd.configDigest, ...amd.layers.map((l) => l.digest)]));
        expect(seenByBlobHost.length).toBeGreaterThanOrEqual(amd.layers.length + 1);
        expect(seenByBlobHost.filter((a) => a !== null)).toEqual([]);
        const check = await cli("image", "check");
        expect(check.stderr).toBe("");
        expect(check.code).toBe(0);
        const run = await cli("run", `${hostPort}/test/busy:amd`, "redirected");
        expect(run.stderr).toBe("");
        expect(run.stdout).toBe("hello from the image redirected\n");
        expect(run.code).toBe(0);
      } finally {
        removeTree(home);
      }
    }, 60_000);
  }
});
