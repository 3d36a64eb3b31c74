// The Engine API benchmark of `make bench` (tests/bench/run.sh runs it as the
// unprivileged test user): `docker run --rm IMG true` through `bunker serve`
// and through `podman system service` (Debian's podman, rootless, runc where
// installed: its crun refuses this hybrid cgroup host, and rootless podman
// makes no cgroups on a cgroup v1 host anyway), timed by build/spawnbench
// (interleaved, the order rotated each round, medians, per-round ratios);
// then the latency of GET /containers/json?all=1 with 100 containers on each
// (curl through the socket, the same curl for both).  Numbers only: nothing
// here is asserted.  Every server is ended by its pid.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxArchive } from "../lib/image-builder.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";
import { version } from "./stats.ts";

const N = Number(process.env.BENCH_SERVE_N || process.env.BENCH_N || 20);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
const SPAWNBENCH = process.env.SPAWNBENCH || join(import.meta.dir, "../../build/spawnbench");
const DOCKER = Bun.which("docker");
const PODMAN = Bun.which("podman");
const CURL = Bun.which("curl");
const RUNC = Bun.which("runc");
const IMAGE = "localhost/bb:latest";
const CONTAINERS = 100;

if (!DOCKER || !CURL) {
  console.log(`# serve bench skipped: not installed: ${[!DOCKER && "docker", !CURL && "curl"].filter(Boolean).join(", ")}`);
  process.exit(0);
}

const base = makeTempDir("bunker-bench-serve");
/** the servers started, each with the file its stderr goes to (a pipe nobody reads would fill and stop it) */
const servers: { name: string; proc: ReturnType<typeof Bun.spawn>; log: string }[] = [];
const cleanups: (() => void)[] = [];
process.on("exit", () => {
  for (const f of cleanups) f();
  removeTree(base);
});

const archive = join(base, "bb.tar");
writeFileSync(archive, busyboxArchive(IMAGE, ["sh", "true"]));
const clientEnv = (sock: string) => ({ ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(base, "client") });
const docker = (sock: string, args: string[]) => Bun.spawnSync([DOCKER, ...args], { env: clientEnv(sock), stdin: "ignore", stdout: "pipe", stderr: "pipe" });

/** waits up to 30 s for SOCK to answer /_ping */
async function ready(sock: string): Promise<boolean> {
  for (const end = Date.now() + 30_000; Date.now() < end; await Bun.sleep(100)) {
    if (Bun.spawnSync([CURL!, "-sf", "--unix-socket", sock, "http://d/_ping"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) return true;
  }
  return false;
}

async function startBunker(): Promise<string | undefined> {
  const sock = join(base, "bunker.sock");
  const proc = Bun.spawn([BUNKER, "--root", join(base, "bunker-state"), "--data-root", join(base, "bunker-data"), "serve", "--host", `unix://${sock}`], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(base, "bunker-serve.log")) });
  servers.push({ name: "bunker serve", proc, log: join(base, "bunker-serve.log") });
  return (await ready(sock)) ? sock : undefined;
}

/**
 * rootless podman in storage of its own under BASE, runc where installed (its
 * crun refuses a hybrid cgroup host; cgroups = "disabled" would need crun:
 * podman passes runc crun's --cgroup-manager then)
 */
async function startPodman(): Promise<string | undefined> {
  if (!PODMAN) return undefined;
  const sock = join(base, "podman.sock");
  const home = join(base, "podman-home"), xdg = join(base, "podman-xdg");
  mkdirSync(home);
  mkdirSync(xdg, { mode: 0o700 });
  const conf = join(base, "containers.conf");
  writeFileSync(conf, `[engine]\nevents_logger = "file"\n${RUNC ? `runtime = "${RUNC}"\n` : ""}`);
  const env = { ...process.env, CONTAINERS_CONF: conf, HOME: home, XDG_RUNTIME_DIR: xdg };
  const global = ["--root", join(base, "podman-storage"), "--runroot", join(base, "podman-run"), "--cgroup-manager", "cgroupfs"];
  const proc = Bun.spawn([PODMAN, ...global, "system", "service", "--time=0", `unix://${sock}`], { env, stdin: "ignore", stdout: "ignore", stderr: Bun.file(join(base, "podman-service.log")) });
  servers.push({ name: "podman system service", proc, log: join(base, "podman-service.log") });
  cleanups.push(() => {
    // its layers belong to subordinate ids: removed from inside its user namespace; its pause process ended by its pid file
    Bun.spawnSync([PODMAN, ...global, "unshare", "rm", "-rf", join(base, "podman-storage"), join(base, "podman-run")], { env, stdout: "ignore", stderr: "ignore" });
    try {
      process.kill(Number(readFileSync(join(xdg, "libpod/tmp/pause.pid"), "utf8").trim()), "SIGKILL");
    } catch {
      /* no pause process */
    }
  });
  return (await ready(sock)) ? sock : undefined;
}

/** every server ended (SIGTERM, by its pid), waited for */
async function stopServers(): Promise<void> {
  for (const s of servers) {
    try {
      process.kill(s.proc.pid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  await Promise.all(servers.map((s) => Promise.race([s.proc.exited, Bun.sleep(10_000).then(() => s.proc.kill("SIGKILL"))])));
}

/** spawnbench's table for CANDS (name -> argv), ROUNDS rounds, ratios to REF; its output printed as it is */
function harnessRun(title: string, cands: [string, string[]][], rounds: number, ref: string | undefined): void {
  const argv = [SPAWNBENCH, "-n", String(rounds), ...(ref ? ["-r", ref] : []), ...cands.flatMap(([name, a]) => [`--cand=${name}`, ...a])];
  console.log("");
  console.log(title);
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString());
  if (r.exitCode !== 0) console.log(`# spawnbench: exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
}

console.log(`# serve bench: ${N} rounds, interleaved, as uid ${process.getuid!()}; ${version([DOCKER, "--version"])}; ${PODMAN ? version([PODMAN, "--version"]) : "podman: not installed"}${RUNC ? ` (runtime ${version([RUNC, "--version"])})` : ""}`);
const socks: [string, string][] = [];
for (const [name, start] of [["bunker serve", startBunker], ["podman service", startPodman]] as const) {
  const sock = await start();
  if (!sock) {
    const s = servers.at(-1)!;
    console.log(`# ${name}: skipped, it did not answer: ${readFileSync(s.log, "utf8").trim().split("\n").at(-1) ?? ""}`);
    continue;
  }
  const load = docker(sock, ["load", "-i", archive]);
  const probe = load.exitCode === 0 ? docker(sock, ["run", "--rm", IMAGE, "true"]) : load;
  if (probe.exitCode !== 0) {
    console.log(`# ${name}: skipped, exit ${probe.exitCode}: ${probe.stderr.toString().trim().replace(/\s*\n\s*/g, "; ")}`);
    continue;
  }
  socks.push([name, sock]);
}
const envArgv = (sock: string) => ["env", `DOCKER_HOST=unix://${sock}`, `DOCKER_CONFIG=${join(base, "client")}`];
const ref = socks.some(([n]) => n === "podman service") ? "podman service" : undefined;
harnessRun("docker run --rm busybox true through the Engine API (the docker 28 CLI; ratios to podman's service)", socks.map(([n, sock]) => [n, [...envArgv(sock), DOCKER, "run", "--rm", IMAGE, "true"]]), N, ref);

// ---- /containers/json with 100 containers -------------------------------------------------------
for (const [name, sock] of socks) {
  const t0 = performance.now();
  let made = 0;
  for (let k = 0; k < CONTAINERS; k++) if (docker(sock, ["create", "--name", `c${k}`, IMAGE, "true"]).exitCode === 0) made++;
  console.log(`# ${name}: ${made} containers created in ${((performance.now() - t0) / 1000).toFixed(1)} s (docker create, one after another)`);
}
harnessRun(`GET /containers/json?all=1 with ${CONTAINERS} created containers (curl through the socket)`, socks.map(([n, sock]) => [n, [CURL, "-sf", "-o", "/dev/null", "--unix-socket", sock, "http://d/v1.41/containers/json?all=1"]]), N * 5, ref);
for (const [, sock] of socks) docker(sock, ["rm", "-f", ...Array.from({ length: CONTAINERS }, (_, k) => `c${k}`)]);
await stopServers();
process.exit(0); // the exit handlers clean up
