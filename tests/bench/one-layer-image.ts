// A one-layer image made with the host's tar and gzip (what a real image layer
// looks like, not our tar writer's output), for the benchmarks: the gzip layer
// blob, an OCI layout holding it (umoci, bunker load) and that layout as an
// oci-archive (bunker load).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Hasher, sha256File } from "../../src/image/digest.ts";
import { TarReader } from "../../src/image/tar.ts";
import { MT } from "../../src/image/types.ts";

export interface OneLayerImage {
  blob: string;
  /** OCI layout dir; the image's ref.name is "bench" */
  layout: string;
  /** the layout as an oci-archive */
  archive: string;
  /** uncompressed tar bytes and entries */
  bytes: number;
  entries: number;
  compressed: number;
}

/**
 * `tar -C CWD -cf - MEMBER | gzip -6` as a one-layer image in DIR; made once:
 * a later call with the same DIR returns what the first one made.
 */
export async function oneLayerImage(cwd: string, member: string, dir: string, config: object = {}): Promise<OneLayerImage> {
  const layout = join(dir, "layout");
  const archive = join(dir, "image.tar");
  const infoPath = join(dir, "layer.json");
  if (existsSync(infoPath)) return JSON.parse(readFileSync(infoPath, "utf8")) as OneLayerImage;
  mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
  const tmpBlob = join(dir, "layer.tar.gz");
  const tar = Bun.spawn(["tar", "-C", cwd, "--ignore-failed-read", "-cf", "-", member], { stdout: "pipe", stderr: "ignore" });
  const gzip = Bun.spawn(["gzip", "-6", "-n"], { stdin: "pipe", stdout: Bun.file(tmpBlob) });
  const diff = new Hasher();
  let entries = 0;
  const counter = new TarReader({ entry: () => void entries++, data: () => {}, entryEnd: () => {} });
  let unflushed = 0;
  for await (const c of tar.stdout) {
    diff.update(c);
    counter.push(c);
    gzip.stdin.write(c);
    // gzip is slower than tar: wait for it rather than buffer the whole tar in memory
    if ((unflushed += c.length) > 8 << 20) await gzip.stdin.flush(), (unflushed = 0);
  }
  await gzip.stdin.end();
  if ((await gzip.exited) !== 0 || (await tar.exited) > 1) throw new Error(`tar | gzip of ${join(cwd, member)} failed`);
  const digest = await sha256File(tmpBlob);
  const blob = join(layout, "blobs/sha256", digest.slice(7));
  Bun.spawnSync(["mv", tmpBlob, blob]);
  const compressed = Bun.file(blob).size;
  const put = (doc: object): { digest: string; size: number } => {
    const bytes = new TextEncoder().encode(JSON.stringify(doc));
    const d = new Bun.SHA256().update(bytes).digest("hex");
    writeFileSync(join(layout, "blobs/sha256", d), bytes);
    return { digest: `sha256:${d}`, size: bytes.length };
  };
  const configBlob = put({ architecture: "amd64", os: "linux", config, rootfs: { type: "layers", diff_ids: [diff.digest()] } });
  const manifest = put({
    schemaVersion: 2, mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, ...configBlob },
    layers: [{ mediaType: MT.ociLayerGzip, digest, size: compressed }],
  });
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({
    schemaVersion: 2, mediaType: MT.ociIndex,
    manifests: [{ mediaType: MT.ociManifest, ...manifest, annotations: { "org.opencontainers.image.ref.name": "bench" } }],
  }));
  if (Bun.spawnSync(["tar", "-C", layout, "-cf", archive, "."]).exitCode !== 0) throw new Error("tar of the OCI layout failed");
  const image: OneLayerImage = { blob, layout, archive, bytes: diff.bytes, entries, compressed };
  writeFileSync(infoPath, JSON.stringify(image));
  // other users (the rootless run) reuse what root made
  Bun.spawnSync(["chmod", "-R", "a+rX", dir]);
  return image;
}
