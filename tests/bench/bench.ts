// The startup benchmark behind `make bench` (started by tests/bench/run.sh as
// the unprivileged test user): bunker run vs bwrap, unshare (the floor), crun
// and runc on the same busybox rootfs; the OCI cycle and exec vs runc and crun;
// then memory.  Every start-up figure comes from build/spawnbench
// (tests/bench/spawnbench.c: posix_spawn + wait4, interleaved, the order
// rotated each round, medians, per-round ratios, minor faults).  Every
// executable compared is copied into one directory the same way (dd bs=4M:
// the page cache then holds it in large folios, as `bun build`'s or cp's
// small writes do not, which alone moves start-up by up to 25 %), the empty
// Bun program compiled with bunker's flags in the same run.  It prints
// numbers only: nothing here is asserted.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxRootfs, makeTempDir, removeTree } from "../lib/rootfs.ts";
import { fmt, lpad, pad, quantile, ratio, version } from "./stats.ts";

const N = Number(process.env.BENCH_N || 50);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
const SPAWNBENCH = process.env.SPAWNBENCH || join(import.meta.dir, "../../build/spawnbench");

interface Candidate {
  name: string;
  /** argv that runs CMD in a fresh container; `i` makes container ids unique */
  argv: (cmd: string[], i: number | string) => string[];
}

const base = makeTempDir("bunker-bench");
const cleanups: (() => void)[] = [];
process.on("exit", () => {
  for (const f of cleanups) f();
  removeTree(base);
});
const rootfs = makeBusyboxRootfs(join(base, "rootfs"));

/** FILE copied into the bench directory as every compared executable is: dd bs=4M */
function install(file: string, name: string): string {
  const out = join(base, name);
  const r = Bun.spawnSync(["dd", `if=${file}`, `of=${out}`, "bs=4M", "status=none"], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`dd ${file}: ${r.stderr.toString().trim()}`);
  Bun.spawnSync(["chmod", "0755", out]);
  return out;
}
const which = (cmd: string) => Bun.which(cmd) ?? undefined;
const bin = install(BUNKER, "bunker");
const harness = install(SPAWNBENCH, "spawnbench");
const tools = Object.fromEntries(
  ["bwrap", "unshare", "crun", "runc"].flatMap((t) => {
    const p = which(t);
    return p ? [[t, install(p, t)]] : [];
  }),
) as Record<string, string>;

/** make bench passes the Makefile's BUN_FLAGS; run alone, the same flags */
const buildFlags = () => (process.env.BUN_FLAGS || "--compile --splitting --format=esm --bytecode --minify --sourcemap=none --no-compile-autoload-dotenv --no-compile-autoload-bunfig --no-compile-autoload-tsconfig --no-compile-autoload-package-json --compile-jit-policy=16").split(/\s+/).filter(Boolean);

/** SOURCE compiled like dist/bunker (Makefile's flags) and installed as NAME (undefined, said, when it does not compile) */
function compileLikeBunker(name: string, source: string): string | undefined {
  const src = join(base, `${name}.ts`), out = join(base, `${name}.built`);
  writeFileSync(src, source);
  const r = Bun.spawnSync([process.execPath, "build", ...buildFlags(), src, "--outfile", out], { cwd: base, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) console.log(`# ${name}: not compiled: ${r.stderr.toString().trim().split("\n").at(-1)}`);
  return r.exitCode === 0 ? install(out, name) : undefined;
}

/** an empty program compiled like dist/bunker: what Bun's start-up alone costs */
function compileBunHello(): string | undefined {
  return compileLikeBunker("bun-hello", "process.exitCode = 0;\n");
}
const bunHello = compileBunHello();

/** the floor of `bunker state ID`: an empty program with bunker's flags doing only state's reads (libc through Bun's
 *  native FFI object, as bunker binds it) and printing its JSON with write(2) */
function compileStateFloor(): string | undefined {
  return compileLikeBunker("state-floor", `const F = (Bun as any).FFI;
const i32 = 5, u32 = 6, i64 = 7, u64 = 8, ptr = 12;
const libc = F.dlopen("libc.so.6", {
  openat: { args: [i32, ptr, i32, u32], returns: i32 }, read: { args: [i32, ptr, u64], returns: i64 }, close: { args: [i32], returns: i32 },
  fstatat: { args: [i32, ptr, ptr, i32], returns: i32 }, write: { args: [i32, ptr, u64], returns: i64 },
}).symbols;
const enc = new TextEncoder();
const c = (s: string) => enc.encode(s + "\\0");
const st = new Uint8Array(144);
const read = (p: string) => { const fd = libc.openat(-100, c(p), 0o2000000, 0); if (fd < 0) return undefined; const b = new Uint8Array(16384); const n = Number(libc.read(fd, b, b.length)); libc.close(fd); return new TextDecoder().decode(b.subarray(0, n)); };
const root = process.argv[2]!, id = process.argv[3]!;
libc.fstatat(-100, c(process.env.XDG_RUNTIME_DIR ?? "/"), st, 0);
libc.fstatat(-100, c(root), st, 0);
const s = JSON.parse(read(\`\${root}/\${id}/state.json\`)!);
read(\`/proc/\${s.pid}/stat\`);
libc.fstatat(-100, c(\`\${root}/\${id}/exec.fifo\`), st, 0);
const out = enc.encode(JSON.stringify({ ociVersion: s.ociVersion, id: s.id, status: "created", pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} }, null, 2) + "\\n");
libc.write(1, out, out.length);
`);
}
const stateFloor = compileStateFloor();

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

function ociCandidate(runtime: string, exe: string): Candidate {
  const state = join(base, `state-${runtime}`);
  const bundles = new Map<string, string>();
  return {
    name: runtime,
    argv: (cmd, i) => {
      const key = cmd.join(" ");
      if (!bundles.has(key)) bundles.set(key, bundle(exe, cmd, runtime));
      return [exe, "--root", state, "run", "-b", bundles.get(key)!, `bench-${process.pid}-${i}`];
    },
  };
}

const candidates: Candidate[] = [
  { name: "bunker", argv: (cmd) => [bin, "run", "--rootfs", rootfs, "--", ...cmd] },
  ...(tools.bwrap ? [{ name: "bwrap", argv: (cmd: string[]) => [tools.bwrap!, "--unshare-all", "--bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", ...cmd] }] : []),
  // the floor: the same namespaces, no root filesystem switch (runs the host's command)
  ...(tools.unshare ? [{ name: "unshare", argv: (cmd: string[]) => [tools.unshare!, "-Urpfn", "--mount-proc", ...cmd] }] : []),
  ...(tools.crun ? [ociCandidate("crun", tools.crun)] : []),
  ...(tools.runc ? [ociCandidate("runc", tools.runc)] : []),
];

/** spawnbench's table for CANDS (name -> steps, each an argv), ROUNDS rounds; its output printed as it is */
function harnessRun(title: string, cands: [string, string[][]][], rounds: number, opts: { refs: string[]; floor?: string }): void {
  const argv = [harness, "-n", String(rounds), ...opts.refs.flatMap((r) => ["-r", r]), ...(opts.floor ? ["-f", opts.floor] : [])];
  for (const [name, steps] of cands) argv.push(`--cand=${name}`, ...steps.flatMap((s, k) => (k ? ["--then", ...s] : s)));
  console.log("");
  console.log(title);
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString());
  if (r.exitCode !== 0) console.log(`# spawnbench: exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
}

console.log(`# bunker bench: ${N} rounds, interleaved, as uid ${process.getuid!()} (${process.env.USER ?? "?"})`);
console.log(`# kernel ${version(["uname", "-r"])}, ${navigator.hardwareConcurrency} cpus, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
console.log(`# ${version([bin, "--version"])}; ${tools.bwrap ? version([tools.bwrap, "--version"]) : "bwrap: not installed"}; ${tools.crun ? version([tools.crun, "--version"]) : "crun: not installed"}; ${tools.runc ? version([tools.runc, "--version"]) : "runc: not installed"}`);
console.log(`# rootfs ${rootfs} (busybox-static); executables copied with dd bs=4M into ${base}`);
if (process.env.BENCH_NOTE) console.log(`# ${process.env.BENCH_NOTE}`);

// ---- availability ----------------------------------------------------------------------------
const TRUE = ["/bin/true"];
/** the candidates of CANDS that run /bin/true; each one that does not is said with its last line of stderr */
function available(cands: Candidate[]): Candidate[] {
  return cands.filter((c) => {
    const r = Bun.spawnSync(c.argv(TRUE, "probe"), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) console.log(`# ${c.name}: skipped, exit ${r.exitCode}: ${r.stderr.toString().trim().split("\n").at(-1) ?? ""}`);
    return r.exitCode === 0;
  });
}
const active = available(candidates);
const has = (name: string) => active.some((c) => c.name === name);

// ---- startup: one harness run, so every row and the floor share the same rounds ---------------
// bunker state ID: of a created container (waiting on its exec.fifo)
const stateRootDir = join(base, "state-bunker-ref");
const stateId = `state-${process.pid}`;
// (its stderr a file: the created container keeps what it was given open, a pipe would never end)
const createErr = join(base, "create.err");
const created = Bun.spawnSync([bin, "--root", stateRootDir, "create", "-b", bundle(bin, ["/bin/sleep", "1000"], "bunker"), stateId], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(createErr) });
if (created.exitCode === 0) cleanups.push(() => Bun.spawnSync([bin, "--root", stateRootDir, "delete", "--force", stateId], { stdout: "ignore", stderr: "ignore" }));
else console.log(`# bunker state: no created container: ${readFileSync(createErr, "utf8").trim()}`);
const startup: [string, string[][]][] = [
  ...active.map((c) => [c.name, [c.argv(TRUE, "%i")]] as [string, string[][]]),
  ...(bunHello ? [["bun hello", [[bunHello]]] as [string, string[][]]] : []),
  ["bunker -v", [[bin, "--version"]]],
  ...(created.exitCode === 0 ? [["bunker state", [[bin, "--root", stateRootDir, "state", stateId]]] as [string, string[][]]] : []),
  // state's floor: its reads alone, in the cheapest program (the target is blocked only if this is above 1.15x bun hello)
  ...(created.exitCode === 0 && stateFloor ? [["state's reads", [[stateFloor, stateRootDir, stateId]]] as [string, string[][]]] : []),
];
harnessRun(`startup of /bin/true (bun hello: an empty program with bunker's build flags)`, startup, N, {
  refs: [...(has("bwrap") ? ["bwrap"] : []), ...(bunHello ? ["bun hello"] : [])],
  floor: bunHello ? "bun hello" : undefined,
});

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

// ---- the OCI lifecycle: create, start, state, delete --force; exec latency ---------------------
// bunker vs crun vs runc on the same bundle (each made by the runtime's own `spec --rootless`)
const oci = [["bunker", bin], ...(["crun", "runc"].filter(has).map((r) => [r, tools[r]!]))] as [string, string][];
const M = Math.max(5, Math.floor(N / 2));
const cycle: [string, string[][]][] = oci.map(([n, exe]) => {
  const b = bundle(exe, TRUE, n), state = join(base, `cycle-${n}`), id = `cycle-${process.pid}-%i`;
  const step = (...args: string[]) => [exe, "--root", state, ...args];
  return [n, [step("create", "-b", b, id), step("start", id), step("state", id), step("delete", "--force", id)]];
});
if (bunHello) cycle.push(["4x bun hello", [[bunHello], [bunHello], [bunHello], [bunHello]]]);
harnessRun("OCI cycle: create, start, state, delete --force of /bin/true (4x bun hello: four empty programs)", cycle, M, {
  refs: oci.some(([n]) => n === "runc") ? ["runc"] : [],
  floor: bunHello ? "4x bun hello" : undefined,
});

const execs: [string, string[][]][] = [];
for (const [n, exe] of oci) {
  const b = bundle(exe, ["/bin/sleep", "1000"], n);
  const state = join(base, `exec-${n}`);
  const id = `exec-${process.pid}`;
  const step = (...args: string[]) => [exe, "--root", state, ...args];
  const ok = (args: string[]) => Bun.spawnSync(step(...args), { cwd: b, stdin: "ignore", stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  if (!ok(["create", "-b", b, id])) continue;
  cleanups.push(() => ok(["delete", "--force", id]));
  if (!ok(["start", id])) continue;
  execs.push([n, [step("exec", id, "/bin/true")]]);
}
if (bunHello) execs.push(["bun hello", [[bunHello]]]);
harnessRun("exec of /bin/true into a running container", execs, M, { refs: oci.some(([n]) => n === "runc") ? ["runc"] : [], floor: bunHello ? "bun hello" : undefined });

// ---- 100 concurrent runs by one user: all started at once, each /bin/true in its own container ----
// wall time of the whole batch, per container (wall / C), and the CPU time each run's process tree
// took (user + system, from its rusage); bunker vs crun (OCI run of the same rootfs) and podman
// where they run (podman: --network none, as bunker's --rootfs default).  BENCH_CONCURRENT=0 skips it.
const C = Number(process.env.BENCH_CONCURRENT ?? 100);
async function concurrently(argvOf: (i: number) => string[]): Promise<{ ok: number; wallMs: number; cpuMs: number[]; firstError?: string }> {
  const t0 = performance.now();
  const procs = Array.from({ length: C }, (_, i) => Bun.spawn(argvOf(i), { stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  const codes = await Promise.all(procs.map((p) => p.exited));
  const wallMs = performance.now() - t0;
  const cpuMs = procs.map((p) => {
    const u = p.resourceUsage();
    return u ? Number(u.cpuTime.user + u.cpuTime.system) / 1000 : NaN;
  });
  const bad = codes.findIndex((c) => c !== 0);
  const firstError = bad >= 0 ? `exit ${codes[bad]}: ${(await new Response(procs[bad]!.stderr).text()).trim().split("\n").at(-1)}` : undefined;
  return { ok: codes.filter((c) => c === 0).length, wallMs, cpuMs, firstError };
}
if (C > 0) {
  // podman writes its /etc files into a --rootfs: its own copy; it runs runc where runc is installed
  // (its crun refuses a hybrid cgroup host even in run.sh's namespace)
  const podman = which("podman");
  const podmanRootfs = podman ? makeBusyboxRootfs(join(base, "rootfs-podman")) : "";
  const crunRun = has("crun") ? ociCandidate("crun", tools.crun!) : undefined;
  const batch: [string, (i: number) => string[]][] = [
    ["bunker", (i) => [bin, "run", "--rm", "--name", `conc-${process.pid}-${i}`, "--rootfs", rootfs, "--", ...TRUE]],
    ...(crunRun ? [["crun", (i: number) => crunRun.argv(TRUE, `conc-${i}`)] as [string, (i: number) => string[]]] : []),
    ...(podman ? [["podman", (i: number) => [podman, "run", "--rm", ...(tools.runc ? ["--runtime", tools.runc] : []), "--network", "none", "--rootfs", podmanRootfs, ...TRUE]] as [string, (i: number) => string[]]] : []),
  ];
  console.log("");
  console.log(`${C} concurrent runs of /bin/true by one user (all started at once; cpu: user+system of each run's process tree)`);
  console.log(`${pad("runtime", 11)}${lpad("ok", 9)}${lpad("wall ms", 10)}${lpad("ms/ctr", 9)}${lpad("cpu med", 9)}${lpad("cpu p90", 9)}`);
  for (const [name, argvOf] of batch) {
    const r = await concurrently(argvOf);
    console.log(`${pad(name, 11)}${lpad(`${r.ok}/${C}`, 9)}${lpad(fmt(r.wallMs, 0), 10)}${lpad(fmt(r.wallMs / C), 9)}${lpad(fmt(quantile(r.cpuMs, 0.5)), 9)}${lpad(fmt(quantile(r.cpuMs, 0.9)), 9)}${r.firstError ? `  first failure: ${r.firstError}` : ""}`);
  }
}
