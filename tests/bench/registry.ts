// Push and pull throughput to Debian's docker-registry on 127.0.0.1 (plain
// HTTP, no auth), bunker vs skopeo, interleaved with the order rotated, each
// round on a fresh registry so neither tool can mount a blob it pushed in an
// earlier round (both remember where blobs are: bunker's sources/, skopeo's
// blob-info cache).  The image: BENCH_REGISTRY_MB (default 96) of random data
// in 3 gzip layers, as an OCI layout skopeo reads and bunker has loaded.
//   push: bunker push IMAGE REG/bunker:1   vs  skopeo copy oci:LAYOUT docker://REG/skopeo:1
//   pull: bunker pull into an empty store (download, verify, unpack)
//         vs skopeo copy docker://… dir:DIR (download and verify, no unpack)
// Usage: bun tests/bench/registry.ts (as root or a user).  Nothing is asserted.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { buildImage, ociLayoutFiles, writeLayoutDir } from "../lib/image-builder.ts";
import { TestRegistry } from "../registry/registry.ts";
import { fmt, lpad, median, pad, ratio, version } from "./stats.ts";

const N = Number(process.env.BENCH_N_REGISTRY || 5);
const MB = Number(process.env.BENCH_REGISTRY_MB || 96);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
if (!["docker-registry", "skopeo"].every((t) => Bun.which(t))) {
  console.log("registry bench skipped: docker-registry or skopeo missing (apt-get install docker-registry skopeo)");
  process.exit(0);
}

const work = join(process.env.TMPDIR || "/tmp", `bunker-bench-registry-${process.pid}`);
const layerBytes = Math.floor((MB << 20) / 3);
function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}
const image = buildImage({ compression: "gzip", label: "bench", layers: [0, 1, 2].map((i) => [{ name: `data${i}.bin`, data: random(layerBytes) }]) });
const bytes = image.layers.reduce((n, l) => n + l.blob.length, 0) + image.configBytes.length;
writeLayoutDir(`${work}/layout`, ociLayoutFiles([{ target: image, name: "bench" }]));

function run(argv: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_CONFIG_HOME: `${work}/config` } });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return performance.now() - t0;
}
const bunker = (dataRoot: string, ...args: string[]) => [BUNKER, "--data-root", dataRoot, ...args];
run(bunker(`${work}/store`, "load", "-i", `${work}/layout`));

type Tool = "bunker" | "skopeo";
const times: Record<"push" | "pull", Record<Tool, number[]>> = { push: { bunker: [], skopeo: [] }, pull: { bunker: [], skopeo: [] } };
for (let round = 0; round < N; round++) {
  const reg = new TestRegistry(`${work}/registry-${round}`, "none");
  await reg.start();
  try {
    const order: Tool[] = round % 2 ? ["skopeo", "bunker"] : ["bunker", "skopeo"];
    for (const tool of order) {
      const dest = `${reg.host}/bench/${tool}:1`;
      times.push[tool].push(tool === "bunker"
        ? run(bunker(`${work}/store`, "push", "-q", "localhost/oci-archive:bench", dest))
        : run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", `oci:${work}/layout:bench`, `docker://${dest}`]));
    }
    for (const tool of order) {
      const src = `${reg.host}/bench/${tool}:1`;
      const into = `${work}/pulled-${tool}-${round}`;
      times.pull[tool].push(tool === "bunker"
        ? run(bunker(into, "pull", "-q", src))
        : run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${src}`, `dir:${into}`]));
      // a rootless store's layers belong to subordinate ids: bunker removes them
      if (tool === "bunker") run(bunker(into, "image", "prune", "-a"));
    }
  } finally {
    reg.stop();
    await reg.proc?.exited;
  }
}
rmSync(work, { recursive: true, force: true });

console.log(`registry: push and pull of ${fmt(bytes / 1e6, 1)} MB (3 gzip layers of random data) to docker-registry on 127.0.0.1, ${N} interleaved rounds, medians`);
console.log(`  ${version(["skopeo", "--version"])}`);
for (const what of ["push", "pull"] as const) {
  const b = median(times[what].bunker), s = median(times[what].skopeo);
  console.log(`  ${pad(what, 5)} bunker ${lpad(fmt(b, 0), 6)} ms ${lpad(fmt(bytes / 1e3 / b, 0), 5)} MB/s   skopeo ${lpad(fmt(s, 0), 6)} ms ${lpad(fmt(bytes / 1e3 / s, 0), 5)} MB/s   skopeo/bunker ${ratio(s / b)}`);
}
