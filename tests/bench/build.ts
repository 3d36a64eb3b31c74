// The build benchmark behind `make bench` (tests/bench/run.sh runs it as the
// unprivileged test user): one representative Dockerfile — two stages, three
// RUNs, a COPY of a 50 MB context, a COPY --from — built cold (--no-cache)
// and again from the cache, by bunker build, buildah bud and podman build
// (each with a private store: vfs, rootless; RUN without network, bunker's
// default), interleaved with the order
// rotated each round, BENCH_BUILD_N rounds; prints medians and ratios.
// Nothing is asserted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxArchive } from "../lib/image-builder.ts";
import { fmt, lpad, median, pad, ratio, version } from "./stats.ts";

const N = Number(process.env.BENCH_BUILD_N || 3);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
const IMAGE = "localhost/bench-bb:1";
const work = mkdtempSync(join(process.env.BENCH_BUILD_TMP || tmpdir(), "bunker-build-bench-"));

const DOCKERFILE = `FROM ${IMAGE} AS build
COPY data /data
RUN cat /data/* | wc -c > /size
RUN echo second > /second && rm /data/part00
FROM ${IMAGE}
COPY --from=build /size /size
RUN cat /size
CMD ["cat", "/size"]
`;

function sh(argv: string[], what: string): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { cwd: work, stdout: "pipe", stderr: "pipe", env: { ...process.env, BUILDAH_LAYERS: "true" } });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${what}: ${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().slice(-2000)}`);
  return ms;
}

interface Tool {
  name: string;
  setup(): void;
  build(noCache: boolean): string[];
  cleanup(): void;
}

const ctx = join(work, "ctx");
const store = (n: string) => join(work, n);
const containersArgs = (n: string) => ["--root", `${store(n)}/root`, "--runroot", `${store(n)}/run`, "--storage-driver", "vfs"];

const tools: Tool[] = [
  {
    name: "bunker build",
    setup: () => void sh([BUNKER, "--data-root", store("bunker"), "load", "-q", "-i", join(work, "bb.tar")], "bunker load"),
    build: (noCache) => [BUNKER, "--data-root", store("bunker"), "build", "-q", ...(noCache ? ["--no-cache"] : []), "-t", "localhost/bench:1", ctx],
    cleanup: () => void Bun.spawnSync([BUNKER, "unshare", "rm", "-rf", store("bunker")]),
  },
];
if (Bun.which("buildah"))
  tools.push({
    name: "buildah bud",
    setup: () => void sh(["buildah", ...containersArgs("buildah"), "pull", "-q", `docker-archive:${join(work, "bb.tar")}`], "buildah pull"),
    build: (noCache) => ["buildah", ...containersArgs("buildah"), "bud", "-q", "--layers", "--isolation", "oci", "--runtime", "runc", "--network", "none", ...(noCache ? ["--no-cache"] : []), "-t", "localhost/bench:1", ctx],
    cleanup: () => void Bun.spawnSync(["buildah", ...containersArgs("buildah"), "unshare", "rm", "-rf", store("buildah")]),
  });
if (Bun.which("podman"))
  tools.push({
    name: "podman build",
    setup: () => void sh(["podman", ...containersArgs("podman"), "--cgroup-manager", "cgroupfs", "load", "-q", "-i", join(work, "bb.tar")], "podman load"),
    // runc (buildah's too): Debian's default is crun, which refuses a hybrid cgroup host (this machine's)
    build: (noCache) => ["podman", ...containersArgs("podman"), "--cgroup-manager", "cgroupfs", "--runtime", "runc", "build", "-q", "--layers", "--network", "none", ...(noCache ? ["--no-cache"] : []), "-t", "localhost/bench:1", ctx],
    cleanup: () => void Bun.spawnSync(["podman", ...containersArgs("podman"), "unshare", "rm", "-rf", store("podman")]),
  });

try {
  writeFileSync(join(work, "bb.tar"), busyboxArchive(IMAGE, ["sh", "cat", "wc", "echo", "rm"]));
  mkdirSync(join(ctx, "data"), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(ctx, "data", `part${String(i).padStart(2, "0")}`), crypto.getRandomValues(new Uint8Array(1 << 20)).map((b, j) => (j % 4096 ? b : 0)));
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
  for (const t of tools) t.setup();
  const times = new Map(tools.map((t) => [t.name, { cold: [] as number[], cached: [] as number[] }]));
  for (let round = 0; round < N; round++) {
    const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
    for (const t of order) {
      times.get(t.name)!.cold.push(sh(t.build(true), t.name));
      times.get(t.name)!.cached.push(sh(t.build(false), t.name));
    }
  }
  console.log(`\nbuild: 2 stages, 3 RUNs, a 50 MB COPY (rootless, ${N} rounds interleaved, medians in ms)`);
  for (const t of tools) console.log(`  ${pad(t.name, 14)} ${version(t.name.startsWith("bunker") ? [BUNKER, "--version"] : [t.name.split(" ")[0]!, "--version"])}`);
  const ours = times.get("bunker build")!;
  console.log(`  ${pad("", 14)} ${lpad("cold", 9)} ${lpad("cached", 9)} ${lpad("cold vs bunker", 15)} ${lpad("cached vs bunker", 17)}`);
  for (const t of tools) {
    const x = times.get(t.name)!;
    console.log(`  ${pad(t.name, 14)} ${lpad(fmt(median(x.cold), 0), 9)} ${lpad(fmt(median(x.cached), 0), 9)} ${lpad(ratio(median(x.cold) / median(ours.cold)), 15)} ${lpad(ratio(median(x.cached) / median(ours.cached)), 17)}`);
  }
} finally {
  for (const t of tools) t.cleanup();
  rmSync(work, { recursive: true, force: true });
}
