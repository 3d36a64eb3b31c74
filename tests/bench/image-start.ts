// The image start benchmark behind `make bench` (run by tests/bench/run.sh as
// the unprivileged test user): `bunker run IMAGE /bin/true` vs `bunker run
// --rootfs DIR -- /bin/true` on the same busybox content (the image is a tar of
// DIR, loaded into a private store), interleaved, BENCH_N runs each.  An image
// defaults to --userns=auto when the user has a /etc/subuid range, a rootfs to
// single: the rows with the other userns tell the image's cost from the id
// mapping's.  All but the last row run with --network none; the last is an
// IMAGE with its default network (pasta), what its helper's start-up adds.  "vs DIR" is the difference of the medians, "paired" the median
// of each round's difference (the runs of a round are back to back, so the
// machine's slow drift cancels out).  Nothing is asserted.
import { copyFileSync, chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxRootfs, makeTempDir, removeTree } from "../lib/rootfs.ts";
import { oneLayerImage } from "./one-layer-image.ts";
import { fmt, lpad, median, pad, quantile } from "./stats.ts";

const N = Number(process.env.BENCH_N || 50);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");

const base = makeTempDir("bunker-bench-image");
/** the loaded image: its layers belong to subordinate ids (rootless), which bunker rmi removes in a user namespace */
let loaded: { bin: string; store: string; name: string } | undefined;
process.on("exit", () => {
  if (loaded) Bun.spawnSync([loaded.bin, "--data-root", loaded.store, "rmi", "-f", loaded.name], { stdout: "ignore", stderr: "ignore" });
  removeTree(base);
});
const rootfs = makeBusyboxRootfs(join(base, "rootfs"));
const bin = join(base, "bunker");
copyFileSync(BUNKER, bin);
chmodSync(bin, 0o755);
const store = join(base, "store");
const image = await oneLayerImage(rootfs, ".", join(base, "image"), { Cmd: ["/bin/true"] });
const load = Bun.spawnSync([bin, "--data-root", store, "load", "-i", image.layout], { stderr: "pipe" });
const name = /Loaded image: (\S+)/.exec(load.stdout.toString())?.[1];
if (load.exitCode !== 0 || !name) throw new Error(`bunker load: ${load.stderr.toString().trim()}`);
loaded = { bin, store, name };

const TRUE = ["/bin/true"];
// every row but the last in the same network mode (none: --rootfs's default; an IMAGE's is pasta),
// so the rows differ in the root and the id mapping only; the last row is an IMAGE's default
const run = [bin, "--data-root", store, "run"];
const rows: { name: string; argv: string[] }[] = [
  { name: "--rootfs DIR", argv: [...run, "--network", "none", "--rootfs", rootfs, "--", ...TRUE] },
  { name: "IMAGE", argv: [...run, "--network", "none", name, ...TRUE] },
  { name: "--rootfs DIR, userns auto", argv: [...run, "--network", "none", "--userns", "auto", "--rootfs", rootfs, "--", ...TRUE] },
  { name: "IMAGE, userns single", argv: [...run, "--network", "none", "--userns", "single", name, ...TRUE] },
  { name: "IMAGE, default network", argv: [...run, name, ...TRUE] },
];

console.log("");
console.log(`# image start: ${N} runs each, interleaved, as uid ${process.getuid!()}; image ${name} (1 layer, ${image.entries} entries) = a tar of the rootfs dir; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
const times = new Map<string, number[]>(rows.map((r) => [r.name, []]));
/** per round: each row's time minus the same round's --rootfs DIR time (slow drift of the machine cancels out) */
const paired = new Map<string, number[]>(rows.map((r) => [r.name, []]));
const failed = new Map<string, string>();
for (const r of rows) {
  const w = Bun.spawnSync(r.argv, { stdout: "ignore", stderr: "pipe" });
  if (w.exitCode !== 0) failed.set(r.name, `exit ${w.exitCode}: ${w.stderr.toString().trim().split("\n").at(-1)}`);
}
for (let i = 0; i < N; i++) {
  const round = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    const r = rows[(i + k) % rows.length]!;
    if (failed.has(r.name)) continue;
    const t0 = performance.now();
    const p = Bun.spawnSync(r.argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    if (p.exitCode === 0) {
      times.get(r.name)!.push(performance.now() - t0);
      round.set(r.name, performance.now() - t0);
    }
  }
  const dir = round.get("--rootfs DIR");
  if (dir !== undefined) for (const [name, t] of round) paired.get(name)!.push(t - dir);
}

const ref = median(times.get("--rootfs DIR")!);
console.log(`bunker run of /bin/true: IMAGE vs --rootfs DIR (ms, wall clock)`);
console.log(`${pad("root", 27)}${lpad("median", 9)}${lpad("p10", 9)}${lpad("p90", 9)}${lpad("vs DIR", 9)}${lpad("paired", 9)}`);
for (const r of rows) {
  if (failed.has(r.name)) {
    console.log(`${pad(r.name, 27)} failed: ${failed.get(r.name)}`);
    continue;
  }
  const t = times.get(r.name)!;
  const m = median(t);
  const d = median(paired.get(r.name)!);
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${fmt(x)}`;
  console.log(`${pad(r.name, 27)}${lpad(fmt(m), 9)}${lpad(fmt(quantile(t, 0.1)), 9)}${lpad(fmt(quantile(t, 0.9)), 9)}${lpad(signed(m - ref), 9)}${lpad(signed(d), 9)}`);
}
