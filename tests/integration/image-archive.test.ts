// bunker save / load against podman (and skopeo): our docker-archive loads in
// podman, podman's docker-archive and oci-archive load in bunker.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";
import { imageCli } from "../lib/image-cli.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";

const hasPodman = !!Bun.which("podman") && !!Bun.which("skopeo");
const dir = makeTempDir("bunker-img-archive");
afterAll(() => removeTree(dir));
const img = buildImage({ label: "interop" });
writeFileSync(`${dir}/in.tar`, dockerArchive([{ image: img, tags: ["interop/busy:1"] }]));
const cli = (...args: string[]) => imageCli("root", ["--data-root", `${dir}/store`, ...args]);
const podman = async (...args: string[]) => {
  const p = Bun.spawn(["podman", "--root", `${dir}/podman/root`, "--runroot", `${dir}/podman/run`, "--storage-driver", "vfs", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`podman ${args.join(" ")}: ${err}`);
  return out;
};

describe.skipIf(!hasPodman)("archives: interoperability with podman", () => {
  test("bunker save -> podman load, skopeo inspect", async () => {
    expect((await cli("load", "-i", `${dir}/in.tar`)).code).toBe(0);
    const s = await cli("save", "-o", `${dir}/saved.tar`, "interop/busy:1");
    expect(s.stderr).toBe("");
    const inspect = JSON.parse(Bun.spawnSync(["skopeo", "inspect", `docker-archive:${dir}/saved.tar`]).stdout.toString());
    expect(inspect.Layers.length).toBe(3);
    expect(await podman("load", "-i", `${dir}/saved.tar`)).toContain("docker.io/interop/busy:1");
    const id = (await podman("images", "-q", "--no-trunc", "docker.io/interop/busy:1")).trim();
    expect(id).toBe(img.configDigest);
  }, 120_000);

  test("podman save (docker-archive and oci-archive) -> bunker load", async () => {
    await podman("save", "-o", `${dir}/pod-docker.tar`, "docker.io/interop/busy:1");
    await podman("save", "--format", "oci-archive", "-o", `${dir}/pod-oci.tar`, "docker.io/interop/busy:1");
    const store = `${dir}/store2`;
    for (const f of ["pod-docker.tar", "pod-oci.tar"]) {
      const r = await imageCli("root", ["--data-root", store, "load", "-i", `${dir}/${f}`]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("interop/busy:1");
    }
    const images = JSON.parse((await imageCli("root", ["--data-root", store, "images", "--format", "json"])).stdout);
    expect(images.length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
