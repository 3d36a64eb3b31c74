// The unpack benchmark behind `make bench` (started by tests/bench/run.sh, as
// root and as the unprivileged test user): one large gzip layer made from a
// host directory (BENCH_UNPACK_SRC, default /usr/share) unpacked on tmpfs by
//   bunker load   an oci-archive holding the layer: what `load` and `pull` run
//                 (blob hashed into the store, gunzip + diff_id + safe unpack)
//   tar -xzf      GNU tar (gzip runs as a second process)
//   umoci unpack --rootless, and `umoci raw unpack` (no mtree manifest walk)
// interleaved, BENCH_UNPACK_N rounds; prints medians, MB/s, files/s and ratios.
// Usage: bun tests/bench/unpack.ts WORKDIR (on tmpfs; the layer is built there
// once and reused by later runs with the same WORKDIR).  Nothing is asserted.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Hasher, sha256File } from "../../src/image/digest.ts";
import { TarReader } from "../../src/image/tar.ts";
import { MT } from "../../src/image/types.ts";
import { fmt, lpad, median, pad, ratio, version } from "./stats.ts";

const N = Number(process.env.BENCH_UNPACK_N || 3);
const SRC = process.env.BENCH_UNPACK_SRC || "/usr/share";
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
const work = process.argv[2];
if (!work) throw new Error("usage: unpack.ts WORKDIR (a directory on tmpfs)");

interface Layer {
  blob: string;
  layout: string;
  archive: string;
  /** uncompressed tar bytes and entries */
  bytes: number;
  entries: number;
  compressed: number;
}

/** tar -c of SRC, gzip -6: the layer blob, an OCI layout holding it (umoci) and that layout as an oci-archive (bunker load). */
async function buildLayer(): Promise<Layer> {
  const layout = join(work, "layout");
  const archive = join(work, "image.tar");
  const infoPath = join(work, "layer.json");
  if (existsSync(infoPath)) return JSON.parse(readFileSync(infoPath, "utf8")) as Layer;
  mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
  const tmpBlob = join(work, "layer.tar.gz");
  const tar = Bun.spawn(["tar", "-C", dirname(SRC), "--ignore-failed-read", "-cf", "-", basename(SRC)], { stdout: "pipe", stderr: "ignore" });
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
  if ((await gzip.exited) !== 0 || (await tar.exited) > 1) throw new Error(`tar | gzip of ${SRC} failed`);
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
  const config = put({
    architecture: "amd64", os: "linux", config: { Cmd: ["/bin/true"] },
    rootfs: { type: "layers", diff_ids: [diff.digest()] },
  });
  const manifest = put({
    schemaVersion: 2, mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, ...config },
    layers: [{ mediaType: MT.ociLayerGzip, digest, size: compressed }],
  });
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({
    schemaVersion: 2, mediaType: MT.ociIndex,
    manifests: [{ mediaType: MT.ociManifest, ...manifest, annotations: { "org.opencontainers.image.ref.name": "bench" } }],
  }));
  if (Bun.spawnSync(["tar", "-C", layout, "-cf", archive, "."]).exitCode !== 0) throw new Error("tar of the OCI layout failed");
  const layer: Layer = { blob, layout, archive, bytes: diff.bytes, entries, compressed };
  writeFileSync(infoPath, JSON.stringify(layer));
  // the rootless run reuses what the root run built
  Bun.spawnSync(["chmod", "-R", "a+rX", work]);
  return layer;
}

/** rm -rf that also gets through directories unpacked read-only (umoci, rootless tar). */
function clear(path: string): void {
  if (!existsSync(path)) return;
  Bun.spawnSync(["chmod", "-R", "u+rwx", path], { stderr: "ignore" });
  rmSync(path, { recursive: true, force: true });
}

interface Candidate {
  name: string;
  /** argv that unpacks the layer into OUT (which does not exist yet) */
  argv: (l: Layer, out: string) => string[];
  mkdir?: boolean;
}

const candidates: Candidate[] = [
  { name: "bunker load", argv: (l, out) => [BUNKER, "--data-root", out, "load", "-q", "-i", l.archive] },
  { name: "tar -xzf", mkdir: true, argv: (l, out) => ["tar", "-xzf", l.blob, "-C", out] },
];
if (Bun.which("umoci")) {
  candidates.push({ name: "umoci unpack", argv: (l, out) => ["umoci", "unpack", "--rootless", "--image", `${l.layout}:bench`, out] });
  candidates.push({ name: "umoci raw", argv: (l, out) => ["umoci", "raw", "unpack", "--rootless", "--image", `${l.layout}:bench`, out] });
}

const t0 = performance.now();
const layer = await buildLayer();
const built = performance.now() - t0;
const MB = 1e6;
console.log(`# unpack: ${SRC} as one gzip layer: ${fmt(layer.bytes / MB, 0)} MB tar (${fmt(layer.compressed / MB, 0)} MB gzip -6), ${layer.entries} entries${built > 1000 ? `; built in ${fmt(built / 1000, 1)} s` : ""}`);
console.log(`# on ${work} (${version(["stat", "-f", "-c", "%T", work])}), as uid ${process.getuid!()}, ${N} rounds interleaved, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
console.log(`# ${version([BUNKER, "--version"])}; ${version(["tar", "--version"])}; ${Bun.which("umoci") ? version(["umoci", "--version"]) : "umoci: not installed"}`);

const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
const failed = new Map<string, string>();
const out = join(work, "out");
for (let i = 0; i < N; i++) {
  for (let k = 0; k < candidates.length; k++) {
    const c = candidates[(i + k) % candidates.length]!;
    if (failed.has(c.name)) continue;
    clear(out);
    if (c.mkdir) mkdirSync(out);
    const start = performance.now();
    const r = Bun.spawnSync(c.argv(layer, out), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - start;
    if (r.exitCode === 0) times.get(c.name)!.push(ms);
    else failed.set(c.name, `exit ${r.exitCode}: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  }
}
clear(out);

const tarMedian = median(times.get("tar -xzf")!);
console.log("");
console.log(`unpack of one ${fmt(layer.bytes / MB, 0)} MB gzip layer on tmpfs (seconds, median of ${N})`);
console.log(`${pad("tool", 14)}${lpad("median", 9)}${lpad("min", 9)}${lpad("MB/s", 8)}${lpad("files/s", 9)}${lpad("vs tar", 9)}`);
for (const c of candidates) {
  const t = times.get(c.name)!;
  if (failed.has(c.name)) {
    console.log(`${pad(c.name, 14)} failed: ${failed.get(c.name)}`);
    continue;
  }
  const m = median(t);
  console.log(`${pad(c.name, 14)}${lpad(fmt(m / 1000), 9)}${lpad(fmt(Math.min(...t) / 1000), 9)}${lpad(fmt(layer.bytes / MB / (m / 1000), 0), 8)}` +
    `${lpad(fmt(layer.entries / (m / 1000), 0), 9)}${lpad(ratio(m / tarMedian), 9)}`);
}
