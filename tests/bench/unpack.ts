// The unpack benchmark behind `make bench` (started by tests/bench/run.sh, as
// root and as the unprivileged test user): one large gzip layer made from a
// host directory (BENCH_UNPACK_SRC, default /usr/share) unpacked on tmpfs by
//   bunker load   an oci-archive holding the layer: what `load` and `pull` run
//                 (blob hashed into the store, gunzip + diff_id + safe unpack)
//   tar -xzf      GNU tar (gzip runs as a second process)
//   umoci unpack --rootless, and `umoci raw unpack` (no mtree manifest walk),
//                 unprivileged runs only and once each (they take minutes)
// interleaved, BENCH_UNPACK_N rounds; prints medians, MB/s, files/s and ratios.
// Usage: bun tests/bench/unpack.ts LAYERDIR SCRATCHDIR, both on tmpfs: the layer
// is built in LAYERDIR once and reused by later runs (root's, then the test
// user's); tools unpack into SCRATCHDIR.  Nothing is asserted.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { oneLayerImage, type OneLayerImage as Layer } from "./one-layer-image.ts";
import { fmt, lpad, median, pad, ratio, version } from "./stats.ts";

const N = Number(process.env.BENCH_UNPACK_N || 3);
const SRC = process.env.BENCH_UNPACK_SRC || "/usr/share";
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
const [work, scratch] = process.argv.slice(2);
if (!work || !scratch) throw new Error("usage: unpack.ts LAYERDIR SCRATCHDIR (directories on tmpfs)");

/**
 * rm -rf that also gets through directories unpacked read-only (umoci, rootless
 * tar) and through a rootless bunker store, whose layers belong to the user's
 * subordinate ids: `bunker rmi` removes those in a user namespace.
 */
function clear(path: string): void {
  if (!existsSync(path)) return;
  if (existsSync(join(path, "layers"))) {
    const ids = Bun.spawnSync([BUNKER, "--data-root", path, "images", "-q"]).stdout.toString().split("\n").filter(Boolean);
    if (ids.length) Bun.spawnSync([BUNKER, "--data-root", path, "rmi", "-f", ...ids], { stdout: "ignore" });
  }
  Bun.spawnSync(["chmod", "-R", "u+rwx", path], { stderr: "ignore" });
  rmSync(path, { recursive: true, force: true });
}

interface Candidate {
  name: string;
  /** argv that unpacks the layer into OUT (which does not exist yet) */
  argv: (l: Layer, out: string) => string[];
  mkdir?: boolean;
  /** runs in the first round only */
  once?: boolean;
}

const candidates: Candidate[] = [
  { name: "bunker load", argv: (l, out) => [BUNKER, "--data-root", out, "load", "-q", "-i", l.archive] },
  { name: "tar -xzf", mkdir: true, argv: (l, out) => ["tar", "-xzf", l.blob, "-C", out] },
];
if (Bun.which("umoci") && process.getuid!() !== 0) {
  candidates.push({ name: "umoci unpack", once: true, argv: (l, out) => ["umoci", "unpack", "--rootless", "--image", `${l.layout}:bench`, out] });
  candidates.push({ name: "umoci raw", once: true, argv: (l, out) => ["umoci", "raw", "unpack", "--rootless", "--image", `${l.layout}:bench`, out] });
}

const t0 = performance.now();
const layer = await oneLayerImage(dirname(SRC), basename(SRC), work, { Cmd: ["/bin/true"] });
const built = performance.now() - t0;
const MB = 1e6;
console.log(`# unpack: ${SRC} as one gzip layer: ${fmt(layer.bytes / MB, 0)} MB tar (${fmt(layer.compressed / MB, 0)} MB gzip -6), ${layer.entries} entries${built > 1000 ? `; built in ${fmt(built / 1000, 1)} s` : ""}`);
console.log(`# on ${scratch} (${version(["stat", "-f", "-c", "%T", scratch])}), as uid ${process.getuid!()}, ${N} rounds interleaved, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
console.log(`# ${version([BUNKER, "--version"])}; ${version(["tar", "--version"])}; ${Bun.which("umoci") ? version(["umoci", "--version"]) : "umoci: not installed"}`);

const times = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
/** user + system CPU seconds of the tool's processes: steadier than wall time on a busy machine */
const cpu = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
const failed = new Map<string, string>();
const out = join(scratch, "out");
for (let i = 0; i < N; i++) {
  for (let k = 0; k < candidates.length; k++) {
    const c = candidates[(i + k) % candidates.length]!;
    if (failed.has(c.name) || (c.once && i > 0)) continue;
    clear(out);
    if (c.mkdir) mkdirSync(out);
    const start = performance.now();
    const r = Bun.spawnSync(c.argv(layer, out), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - start;
    if (r.exitCode === 0) {
      times.get(c.name)!.push(ms);
      cpu.get(c.name)!.push(Number(r.resourceUsage.cpuTime.total) / 1e6);
    }
    else failed.set(c.name, `exit ${r.exitCode}: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  }
}
clear(out);

const tarMedian = median(times.get("tar -xzf")!);
console.log("");
console.log(`unpack of one ${fmt(layer.bytes / MB, 0)} MB gzip layer on tmpfs (seconds, median of ${N}; umoci: 1 run)`);
console.log(`${pad("tool", 14)}${lpad("median", 9)}${lpad("min", 9)}${lpad("MB/s", 8)}${lpad("files/s", 9)}${lpad("vs tar", 9)}${lpad("cpu s", 8)}${lpad("vs tar", 9)}`);
const tarCpu = median(cpu.get("tar -xzf")!);
for (const c of candidates) {
  const t = times.get(c.name)!;
  if (failed.has(c.name)) {
    console.log(`${pad(c.name, 14)} failed: ${failed.get(c.name)}`);
    continue;
  }
  const m = median(t);
  console.log(`${pad(c.name, 14)}${lpad(fmt(m / 1000), 9)}${lpad(fmt(Math.min(...t) / 1000), 9)}${lpad(fmt(layer.bytes / MB / (m / 1000), 0), 8)}` +
    `${lpad(fmt(layer.entries / (m / 1000), 0), 9)}${lpad(ratio(m / tarMedian), 9)}${lpad(fmt(median(cpu.get(c.name)!)), 8)}${lpad(ratio(median(cpu.get(c.name)!) / tarCpu), 9)}`);
}
