// The image store used by an unprivileged user: load, list, the unpacked
// layers (owners kept in user.containers.override_stat and, with a subuid
// range, given as subordinate ids; whiteouts as 0/0 devices), an overlayfs mount of them in a user namespace, rmi of read-only dirs.
import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { asUserArgv, envFor, subRange, testUser } from "../lib/bunker.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";
import { imageCli } from "../lib/image-cli.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";
import { chainIds } from "../../src/image/digest.ts";
import { xattr } from "../lib/image-fixtures.ts";

const user = testUser();
const dir = makeTempDir("bunker-img-rootless", user);
afterAll(() => removeTree(dir));
const img = buildImage({ extraLayers: [[{ name: "ro/", type: "dir", mode: 0o555 }, { name: "ro/f", data: "x", mode: 0o444 }]] });
writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: img, tags: ["rootless/busy:1"] }]));
const store = `${dir}/store`;
const cli = (...args: string[]) => imageCli("user", ["--data-root", store, ...args]);

describe("image store as an unprivileged user", () => {
  test("load, images, layers on disk", async () => {
    const r = await cli("load", "-i", `${dir}/img.tar`);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Loaded image: rootless/busy:1\n");
    const list = JSON.parse((await cli("images", "--format", "json")).stdout);
    expect(list[0].Names).toEqual(["docker.io/rootless/busy:1"]);
    const layers = chainIds(img.config.rootfs.diff_ids).map((c) => `${store}/layers/${c.slice(7)}`);
    // image uid 1000 is subuid start + 999 (the test user has a range: tests/setup.sh)
    expect(statSync(`${layers[0]}/home/app/owned`).uid).toBe(subRange("/etc/subuid", "user")!.start + 999);
    expect(statSync(`${layers[0]}/etc/passwd`).uid).toBe(user.uid);
    expect(xattr(`${layers[0]}/home/app/owned`, "user.containers.override_stat")).toBe("1000:1000:0640:file");
    expect(xattr(`${layers[0]}/home/app`, "user.containers.override_stat")).toBe("1000:1000:0750:dir");
    expect(lstatSync(`${layers[1]}/del/me`).isCharacterDevice()).toBe(true);
    expect(statSync(`${layers[2]}/app/setuid`).mode & 0o7777).toBe(0o4755);
    expect(statSync(`${layers[3]}/ro`).mode & 0o777).toBe(0o555);
  });

  test("the layers mount as overlay (userxattr) in the user's namespace", async () => {
    const layers = chainIds(img.config.rootfs.diff_ids).map((c) => `${store}/layers/${c.slice(7)}`).reverse();
    const w = `${dir}/ov`;
    const script = `mkdir -p ${w}/u ${w}/w ${w}/m && mount -t overlay overlay -o lowerdir=${layers.join(":")},upperdir=${w}/u,workdir=${w}/w,userxattr ${w}/m && ls ${w}/m/del ${w}/m/opq && ${w}/m/bin/sh -c 'echo \$(id -u) > ${w}/m/tmp/x' && cat ${w}/m/tmp/x`;
    const r = Bun.spawnSync(asUserArgv("user", ["unshare", "-Urm", "sh", "-c", script]), { env: envFor("user") });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe(`${w}/m/del:\nkeep\n\n${w}/m/opq:\nnew\n0\n`);
  });

  test("rmi removes everything, read-only dirs included", async () => {
    const r = await cli("rmi", "rootless/busy:1");
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("Deleted: sha256:");
    expect(readdirSync(`${store}/layers`)).toEqual([]);
    expect(readdirSync(`${store}/blobs/sha256`)).toEqual([]);
  });

  test("errors are one clear line", async () => {
    const r = await cli("inspect", "no/such:image");
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("bunker: no such image: no/such:image (looked for docker.io/no/such:image, localhost/no/such:image): ENOENT (No such file or directory) — pull it first: bunker pull no/such:image\n");
  });
});
