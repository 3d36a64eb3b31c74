// Builds test images offline from the host's static busybox (Debian's
// busybox-static): three layers exercising whiteouts, an opaque dir,
// hardlinks, symlinks, xattrs, setuid and non-root owners; gzip, zstd or
// uncompressed; written as an OCI layout dir, an oci-archive, a docker-archive
// (`docker save`, pre-25 layout) or a multi-arch index.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { sha256 } from "../../src/image/digest.ts";
import { tarBytes, type TarInput } from "../../src/image/tarwriter.ts";
import { MT, type Descriptor, type ImageConfigFile, type Index, type Manifest, type Platform } from "../../src/image/types.ts";

export type Compression = "gzip" | "zstd" | "none";

export interface BuiltLayer {
  tar: Uint8Array;
  blob: Uint8Array;
  digest: string;
  diffId: string;
  mediaType: string;
}

export interface BuiltImage {
  layers: BuiltLayer[];
  config: ImageConfigFile;
  configBytes: Uint8Array;
  configDigest: string;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  manifestDigest: string;
  platform: Platform;
}

export interface BuildOptions {
  compression?: Compression;
  architecture?: string;
  /** extra layers appended after the standard three */
  extraLayers?: TarInput[][];
  /** replace the standard layers entirely */
  layers?: TarInput[][];
  config?: ImageConfigFile["config"];
  /** a label making otherwise equal images distinct */
  label?: string;
}

const enc = new TextEncoder();

export function busyboxBytes(): Uint8Array {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    try {
      return readFileSync(p);
    } catch {}
  }
  throw new Error("busybox not found: apt-get install -y busybox-static");
}

/** The three standard layers: base system, changes with whiteouts/opaque dir, an app layer. */
export function standardLayers(): TarInput[][] {
  const applets = ["sh", "ls", "cat", "echo", "id", "stat", "true", "env", "sleep", "readlink", "test", "ln", "mkdir", "touch", "rm"];
  const base: TarInput[] = [
    { name: "bin/", type: "dir", mode: 0o755 },
    { name: "bin/busybox", data: busyboxBytes(), mode: 0o755 },
    ...applets.map((a): TarInput => ({ name: `bin/${a}`, type: "symlink", linkname: "busybox" })),
    { name: "etc/", type: "dir", mode: 0o755 },
    { name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" },
    { name: "etc/group", data: "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n" },
    { name: "tmp/", type: "dir", mode: 0o1777 },
    { name: "home/app/", type: "dir", mode: 0o750, uid: 1000, gid: 1000 },
    { name: "home/app/owned", data: "app's file\n", mode: 0o640, uid: 1000, gid: 1000 },
    { name: "opq/", type: "dir" },
    { name: "opq/old-a", data: "old a\n" },
    { name: "opq/sub/old-b", data: "old b\n" },
    { name: "del/", type: "dir" },
    { name: "del/me", data: "delete me\n" },
    { name: "del/keep", data: "keep me\n" },
    { name: "data/shared", data: "shared inode\n" },
    { name: "data/attr", data: "has xattrs\n", xattrs: { "user.bunker.test": "hello" } },
  ];
  const changes: TarInput[] = [
    { name: "del/.wh.me" },
    { name: "opq/new", data: "new in layer 2\n" },
    { name: "opq/.wh..wh..opq" }, // after the layer's own entry on purpose
    { name: "bin/busybox-hardlink", type: "hardlink", linkname: "bin/busybox" },
    { name: "usr/lib/", type: "dir" },
    { name: "lib", type: "symlink", linkname: "usr/lib" },
    { name: "usr/lib/libfake.so", data: "not really\n" },
    { name: "data/link-to-shared", type: "hardlink", linkname: "data/shared" },
  ];
  const app: TarInput[] = [
    { name: "app/", type: "dir" },
    { name: "app/hello", data: "#!/bin/sh\necho hello from the image \"$@\"\n", mode: 0o755 },
    { name: "app/setuid", data: "suid\n", mode: 0o4755 },
    { name: "app/" + "long-name-".repeat(15) + "end", data: "long\n" },
    { name: "app/ünïcødé", data: "utf8\n" },
  ];
  return [base, changes, app];
}

function compress(tar: Uint8Array<ArrayBuffer>, c: Compression): { blob: Uint8Array; mediaType: string } {
  if (c === "gzip") return { blob: Bun.gzipSync(tar), mediaType: MT.ociLayerGzip };
  if (c === "zstd") return { blob: Bun.zstdCompressSync(tar), mediaType: MT.ociLayerZstd };
  return { blob: tar, mediaType: MT.ociLayer };
}

export function buildImage(opts: BuildOptions = {}): BuiltImage {
  const compression = opts.compression ?? "gzip";
  const layerInputs = [...(opts.layers ?? standardLayers()), ...(opts.extraLayers ?? [])];
  const layers = layerInputs.map((entries): BuiltLayer => {
    const tar = tarBytes(entries.map((e) => ({ mtime: 1700000000, ...e })));
    const { blob, mediaType } = compress(tar, compression);
    return { tar, blob, digest: sha256(blob), diffId: sha256(tar), mediaType };
  });
  const platform: Platform = { os: "linux", architecture: opts.architecture ?? "amd64" };
  const config: ImageConfigFile = {
    created: "2024-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: "linux",
    config: opts.config ?? {
      Env: ["PATH=/app:/bin", "GREETING=hi"],
      Entrypoint: ["/app/hello"],
      Cmd: ["world"],
      WorkingDir: "/app",
      User: "0",
      StopSignal: "SIGTERM",
      Labels: opts.label ? { label: opts.label } : undefined,
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created_by: "bunker test image builder" })),
  };
  const configBytes = enc.encode(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
  };
  const manifestBytes = enc.encode(JSON.stringify(manifest));
  return { layers, config, configBytes, configDigest, manifest, manifestBytes, manifestDigest: sha256(manifestBytes), platform };
}

export interface BuiltIndex {
  index: Index;
  bytes: Uint8Array;
  digest: string;
  images: BuiltImage[];
}

export function multiArchIndex(images: BuiltImage[]): BuiltIndex {
  const index: Index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: images.map((i) => ({ mediaType: MT.ociManifest, digest: i.manifestDigest, size: i.manifestBytes.length, platform: i.platform })),
  };
  const bytes = enc.encode(JSON.stringify(index));
  return { index, bytes, digest: sha256(bytes), images };
}

/** Every blob of IMAGES (and index) by digest. */
export function blobsOf(images: BuiltImage[], index?: BuiltIndex): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (const i of images) {
    m.set(i.manifestDigest, i.manifestBytes);
    m.set(i.configDigest, i.configBytes);
    for (const l of i.layers) m.set(l.digest, l.blob);
  }
  if (index) m.set(index.digest, index.bytes);
  return m;
}

export interface LayoutRef {
  target: BuiltImage | BuiltIndex;
  /** org.opencontainers.image.ref.name */
  name?: string;
}

function descriptorOf(t: BuiltImage | BuiltIndex): Descriptor {
  return "index" in t
    ? { mediaType: MT.ociIndex, digest: t.digest, size: t.bytes.length }
    : { mediaType: MT.ociManifest, digest: t.manifestDigest, size: t.manifestBytes.length };
}

/** The files of an OCI image layout (path -> bytes). */
export function ociLayoutFiles(refs: LayoutRef[]): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set("oci-layout", enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  const index: Index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: refs.map((r) => ({ ...descriptorOf(r.target), annotations: r.name ? { "org.opencontainers.image.ref.name": r.name } : undefined })),
  };
  files.set("index.json", enc.encode(JSON.stringify(index)));
  for (const r of refs) {
    const images = "index" in r.target ? r.target.images : [r.target];
    for (const [d, b] of blobsOf(images, "index" in r.target ? r.target : undefined)) files.set(`blobs/sha256/${d.slice(7)}`, b);
  }
  return files;
}

export function writeLayoutDir(dir: string, files: Map<string, Uint8Array>): void {
  for (const [p, b] of files) {
    mkdirSync(`${dir}/${p}`.replace(/\/[^/]+$/, ""), { recursive: true });
    writeFileSync(`${dir}/${p}`, b);
  }
}

export function tarOfFiles(files: Map<string, Uint8Array>): Uint8Array<ArrayBuffer> {
  return tarBytes([...files].map(([name, data]) => ({ name, data })));
}

/** A `docker save` archive in the pre-25 layout (uncompressed <diffid>/layer.tar files). */
export function dockerArchive(images: { image: BuiltImage; tags: string[] }[]): Uint8Array<ArrayBuffer> {
  const files = new Map<string, Uint8Array>();
  const manifest = images.map(({ image, tags }) => {
    const cfg = `${image.configDigest.slice(7)}.json`;
    files.set(cfg, image.configBytes);
    const layers = image.layers.map((l) => {
      const name = `${l.diffId.slice(7)}/layer.tar`;
      files.set(name, l.tar);
      return name;
    });
    return { Config: cfg, RepoTags: tags, Layers: layers };
  });
  files.set("manifest.json", enc.encode(JSON.stringify(manifest)));
  return tarOfFiles(files);
}

/**
 * A one-layer image of the host's busybox with APPLETS as symlinks, an
 * /etc/passwd with root and app (1000), a /tmp, PATH=/bin and `sh` as its
 * command, as a `docker save` archive tagged TAG (what the client tests load).
 */
export function busyboxArchive(tag: string, applets: string[]): Uint8Array<ArrayBuffer> {
  const image = buildImage({
    compression: "none",
    layers: [[
      { name: "bin/", type: "dir", mode: 0o755 },
      { name: "bin/busybox", data: busyboxBytes(), mode: 0o755 },
      ...applets.map((a): TarInput => ({ name: `bin/${a}`, type: "symlink", linkname: "busybox" })),
      { name: "etc/", type: "dir", mode: 0o755 },
      { name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" },
      { name: "etc/group", data: "root:x:0:\napp:x:1000:\n" },
      { name: "tmp/", type: "dir", mode: 0o1777 },
    ]],
    config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
  });
  return dockerArchive([{ image, tags: [tag] }]);
}
