// The startup benchmark behind `make bench` (started by tests/bench/run.sh as
// the unprivileged test user): bunker run vs bwrap, unshare (the floor), crun
// and runc on the same busybox rootfs, interleaved, N runs each; then memory.
// It prints numbers only: nothing here is asserted.
import { copyFileSync, chmodSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxRootfs, makeTempDir, removeTree } from "../lib/rootfs.ts";
import { fmt, lpad, pad, quantile, ratio, version } from "./stats.ts";

const N = Number(process.env.BENCH_N || 50);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");

interface Candidate {
  name: string;
  /** a reference row, not a runtime: no container, skipped in the steady-memory table */
  reference?: boolean;
  /** argv that runs CMD in a fresh container; `i` makes container ids unique */
  argv: (cmd: string[], i: number) => string[];
}

const base = makeTempDir("bunker-bench");
process.on("exit", () => removeTree(base));
const rootfs = makeBusyboxRootfs(join(base, "rootfs"));
const bin = join(base, "bunker");
copyFileSync(BUNKER, bin);
chmodSync(bin, 0o755);

/** an empty program compiled like dist/bunker: what Bun's start-up alone costs */
function compileBunHello(): string | undefined {
  const src = join(base, "hello.ts"), out = join(base, "bun-hello");
  writeFileSync(src, "process.exitCode = 0;\n");
  const r = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--minify", "--sourcemap=none", src, "--outfile", out], { cwd: base, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) console.log(`# bun hello: not compiled: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  return r.exitCode === 0 ? out : undefined;
}
const bunHello = compileBunHello();

/** An OCI bundle for RUNTIME (`crun|runc spec --rootless`) whose root is the shared rootfs and whose args are CMD. */
function bundle(runtime: string, cmd: string[], name = runtime): string {
  const dir = join(base, `bundle-${name}-${cmd.join("_").replace(/\W/g, "")}`);
  if (existsSync(join(dir, "config.json"))) return dir;
  mkdirSync(dir, { recursive: true });
  const r = Bun.spawnSync([runtime, "spec", "--rootless"], { cwd: dir });
  if (r.exitCode !== 0) throw new Error(`${runtime} spec --rootless: ${r.stderr.toString().trim()}`);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  config.root = { path: rootfs, readonly: true };
  config.process.terminal = false;
  config.process.args = cmd;
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  return dir;
}

function ociCandidate(runtime: string, globalFlags: string[]): Candidate {
  const state = join(base, `state-${runtime}`);
  const bundles = new Map<string, string>();
  return {
    name: runtime,
    argv: (cmd, i) => {
      const key = cmd.join(" ");
      if (!bundles.has(key)) bundles.set(key, bundle(runtime, cmd));
      return [runtime, ...globalFlags, "--root", state, "run", "-b", bundles.get(key)!, `bench-${process.pid}-${i}`];
    },
  };
}

const candidates: Candidate[] = [
  { name: "bunker", argv: (cmd) => [bin, "run", "--rootfs", rootfs, "--", ...cmd] },
  // where bunker's time goes: the executable's own start, no container
  { name: "bunker -v", reference: true, argv: () => [bin, "--version"] },
  // the floor of any `bun build --compile` program: an empty one, same flags
  ...(bunHello ? [{ name: "bun hello", reference: true, argv: () => [bunHello] }] : []),
  { name: "bwrap", argv: (cmd) => ["bwrap", "--unshare-all", "--bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", ...cmd] },
  // the floor: the same namespaces, no root filesystem switch (runs the host's command)
  { name: "unshare", argv: (cmd) => ["unshare", "-Urpfn", "--mount-proc", ...cmd] },
];
if (Bun.which("crun")) candidates.push(ociCandidate("crun", []));
if (Bun.which("runc")) candidates.push(ociCandidate("runc", []));

function run(argv: string[]): { code: number; ms: number; stderr: string } {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  return { code: r.exitCode ?? 128, ms: performance.now() - t0, stderr: r.stderr.toString() };
}


console.log(`# bunker bench: ${N} runs each, interleaved, as uid ${process.getuid!()} (${process.env.USER ?? "?"})`);
console.log(`# kernel ${version(["uname", "-r"])}, ${navigator.hardwareConcurrency} cpus, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
console.log(`# ${version([bin, "--version"])}; ${version(["bwrap", "--version"])}; ${Bun.which("crun") ? version(["crun", "--version"]) : "crun: not installed"}; ${Bun.which("runc") ? version(["runc", "--version"]) : "runc: not installed"}`);
console.log(`# rootfs ${rootfs} (busybox-static)`);
if (process.env.BENCH_NOTE) console.log(`# ${process.env.BENCH_NOTE}`);

// ---- warm-up and availability ----------------------------------------------------------------
const TRUE = ["/bin/true"];
const active: Candidate[] = [];
for (const c of candidates) {
  const r = run(c.argv(TRUE, -1));
  if (r.code === 0) active.push(c);
  else console.log(`# ${c.name}: skipped, exit ${r.code}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
}

// ---- startup: interleaved, the order rotates each round --------------------------------------
const times = new Map<string, number[]>(active.map((c) => [c.name, []]));
const failures = new Map<string, number>(active.map((c) => [c.name, 0]));
for (let i = 0; i < N; i++) {
  for (let k = 0; k < active.length; k++) {
    const c = active[(i + k) % active.length]!;
    const r = run(c.argv(TRUE, i));
    if (r.code === 0) times.get(c.name)!.push(r.ms);
    else failures.set(c.name, failures.get(c.name)! + 1);
  }
}

const median = (name: string) => (times.get(name)?.length ? quantile(times.get(name)!, 0.5) : NaN);
const bwrapMedian = median("bwrap");
const floorMedian = median("unshare");
console.log("");
console.log(`startup of /bin/true (ms, wall clock, ${N} runs)`);
console.log(`${pad("runtime", 11)}${lpad("median", 9)}${lpad("p10", 9)}${lpad("p90", 9)}${lpad("min", 9)}${lpad("vs bwrap", 10)}${lpad("vs floor", 10)}${lpad("failed", 8)}`);
for (const c of active) {
  const t = times.get(c.name)!;
  if (t.length === 0) {
    console.log(`${pad(c.name, 11)} all ${N} runs failed`);
    continue;
  }
  const m = quantile(t, 0.5);
  console.log(
    `${pad(c.name, 11)}${lpad(fmt(m), 9)}${lpad(fmt(quantile(t, 0.1)), 9)}${lpad(fmt(quantile(t, 0.9)), 9)}${lpad(fmt(Math.min(...t)), 9)}` +
      `${lpad(ratio(m / bwrapMedian), 10)}${lpad(ratio(m / floorMedian), 10)}${lpad(String(failures.get(c.name)), 8)}`,
  );
}

// ---- memory ------------------------------------------------------------------------------------
// peak: GNU time's max RSS over the run of /bin/true (the largest process of the tree);
// steady: total RSS of the runtime's own processes (not the container's `sleep`) while it runs.
function treeRssKb(root: number): number {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  let total = 0;
  const walk = (pid: number) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const name = /^Name:\s*(.*)$/m.exec(status)?.[1];
      const rss = Number(/^VmRSS:\s*(\d+)/m.exec(status)?.[1] ?? 0);
      if (name !== "sleep") total += rss;
    } catch {}
    for (const k of kids.get(pid) ?? []) walk(k);
  };
  walk(root);
  return total;
}

const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
console.log("");
console.log(`memory (KB): peak = max RSS of /bin/true's run${GNU_TIME ? "" : " (no /usr/bin/time: skipped)"}; steady = RSS of the runtime's processes while the container sleeps`);
console.log(`${pad("runtime", 11)}${lpad("peak", 9)}${lpad("steady", 9)}${lpad("vs bwrap", 10)}`);
const steady = new Map<string, number>();
const rows: [string, number, number][] = [];
for (const c of active) {
  let peak = NaN;
  if (GNU_TIME) {
    const peaks: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = Bun.spawnSync([GNU_TIME, "-f", "%M", ...c.argv(TRUE, 1000 + i)], { stdout: "ignore", stderr: "pipe" });
      const kb = Number(r.stderr.toString().trim().split("\n").at(-1));
      if (r.exitCode === 0 && Number.isFinite(kb)) peaks.push(kb);
    }
    if (peaks.length) peak = quantile(peaks, 0.5);
  }
  if (c.reference) {
    rows.push([c.name, peak, NaN]);
    continue;
  }
  const p = Bun.spawn(c.argv(["/bin/sleep", "1.5"], 2000), { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(800);
  const s = treeRssKb(p.pid);
  await p.exited;
  steady.set(c.name, s);
  rows.push([c.name, peak, s]);
}
for (const [name, peak, s] of rows) {
  console.log(`${pad(name, 11)}${lpad(fmt(peak, 0), 9)}${lpad(fmt(s, 0), 9)}${lpad(ratio(s / (steady.get("bwrap") ?? NaN)), 10)}`);
}

// ---- the OCI lifecycle: create + start + wait + delete, and exec latency ----------------------
// bunker vs crun vs runc on the same bundle (each made by the runtime's own `spec --rootless`)
const oci = [["bunker", bin], ...(["crun", "runc"].filter((r) => active.some((c) => c.name === r)).map((r) => [r, r]))] as [string, string][];
function ociCycle(exe: string, i: number, b: string, state: string): number {
  const id = `cycle-${process.pid}-${i}`;
  const t0 = performance.now();
  const step = (args: string[]) => Bun.spawnSync([exe, "--root", state, ...args], { cwd: b, stdin: "ignore", stdout: "ignore", stderr: "ignore" }).exitCode;
  if (step(["create", "-b", b, id]) !== 0) return NaN;
  if (step(["start", id]) !== 0) return NaN;
  // wait: the container's /bin/true has exited when its state says stopped
  for (let k = 0; k < 1000; k++) {
    const s = Bun.spawnSync([exe, "--root", state, "state", id], { stdout: "pipe", stderr: "ignore" });
    if (s.exitCode !== 0 || JSON.parse(s.stdout.toString()).status === "stopped") break;
  }
  if (step(["delete", "--force", id]) !== 0) return NaN;
  return performance.now() - t0;
}
const cycle = new Map<string, number[]>(oci.map(([n]) => [n, []]));
const execT = new Map<string, number[]>(oci.map(([n]) => [n, []]));
const ociBundles = new Map(oci.map(([n, exe]) => [n, bundle(exe, TRUE, n)]));
const M = Math.max(5, Math.floor(N / 2));
for (let i = 0; i < M; i++) {
  for (let k = 0; k < oci.length; k++) {
    const [n, exe] = oci[(i + k) % oci.length]!;
    const ms = ociCycle(exe, i, ociBundles.get(n)!, join(base, `cycle-${n}`));
    if (Number.isFinite(ms)) cycle.get(n)!.push(ms);
  }
}
for (const [n, exe] of oci) {
  const b = bundle(exe, ["/bin/sleep", "1000"], n);
  const state = join(base, `exec-${n}`);
  const id = `exec-${process.pid}`;
  const spawnArgs = (args: string[]) => Bun.spawnSync([exe, "--root", state, ...args], { cwd: b, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  if (spawnArgs(["create", "-b", b, id]).exitCode !== 0 || spawnArgs(["start", id]).exitCode !== 0) continue;
  for (let i = 0; i < M; i++) {
    const t0 = performance.now();
    if (spawnArgs(["exec", id, "/bin/true"]).exitCode === 0) execT.get(n)!.push(performance.now() - t0);
  }
  spawnArgs(["delete", "--force", id]);
}
console.log("");
console.log(`OCI lifecycle (ms, median of ${M}): create + start + wait until stopped + delete; exec of /bin/true into a running container`);
console.log(`${pad("runtime", 11)}${lpad("cycle", 9)}${lpad("vs crun", 10)}${lpad("exec", 9)}${lpad("vs crun", 10)}`);
const med = (m: Map<string, number[]>, n: string) => (m.get(n)?.length ? quantile(m.get(n)!, 0.5) : NaN);
for (const [n] of oci) {
  console.log(`${pad(n, 11)}${lpad(fmt(med(cycle, n)), 9)}${lpad(ratio(med(cycle, n) / med(cycle, "crun")), 10)}${lpad(fmt(med(execT, n)), 9)}${lpad(ratio(med(execT, n) / med(execT, "crun")), 10)}`);
}
