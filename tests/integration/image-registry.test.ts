// bunker pull / login against Debian's docker-registry (distribution 2.8) on
// 127.0.0.1: images built from busybox-static and pushed with skopeo; no
// auth, htpasswd Basic auth, and token auth with the test's token server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { chainIds } from "../../src/image/digest.ts";
import { buildImage, multiArchIndex, writeLayoutDir, ociLayoutFiles } from "../lib/image-builder.ts";
import { imageCli } from "../lib/image-cli.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";
import { PASSWORD, TestRegistry, USER, type AuthMode } from "../registry/registry.ts";

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

    test("an unknown tag and a plain-HTTP registry without --tls-verify=false fail clearly", async () => {
      const r = await cli("pull", "--tls-verify=false", `${reg.host}/test/busy:nope`);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/manifest unknown/);
      const s = await cli("pull", `${reg.host}/test/busy:plain`);
      expect(s.code).toBe(125);
      expect(s.stderr).toMatch(/^bunker: cannot reach registry/);
      expect(existsSync(`${dir}/store/tmp`)).toBe(true);
    }, 60_000);
  });
}
