// The network benchmark behind `make bench` (issue 14; started by
// tests/bench/run.sh as the unprivileged test user, rootless), bunker next to
// rootless podman with the same helper wherever podman runs:
//  - start-up: what each --network mode adds to `run /bin/true` (none, pasta,
//    slirp4netns, a user network), one build/spawnbench run with every row
//    interleaved; "adds" is the median of each round's difference to the same
//    runtime's `none` row (from spawnbench's per-round samples);
//  - a transfer host -> container through a published port on 127.0.0.1
//    (pasta, slirp4netns, a user network: bunker-proxy for bunker, podman's
//    rootlessport for podman), BENCH_NET_BYTES (1 GiB) each, rounds
//    interleaved (BENCH_NET_ROUNDS, 3), medians;
//  - container to container on one user network, the same transfer.
// Both ends are tests/probes/tcp-sink.c (static, C: no runtime of ours in the
// data path); the sender times connect to the receiver's byte count, so what
// a proxy still buffers counts.  Nothing is asserted; traffic only to
// 127.0.0.1 and inside the namespaces the runtimes make.
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxRootfs, makeTempDir, removeTree } from "../lib/rootfs.ts";
import { staticProbe } from "../lib/probe.ts";
import { freePort } from "../lib/http.ts";
import { fmt, lpad, median, pad, version } from "./stats.ts";

const N = Number(process.env.BENCH_N || 50);
const ROUNDS = Number(process.env.BENCH_NET_ROUNDS || 3);
const BYTES = Number(process.env.BENCH_NET_BYTES || 2 ** 30);
const BUNKER = process.env.BUNKER_BIN || join(import.meta.dir, "../../dist/bunker");
const SPAWNBENCH = process.env.SPAWNBENCH || join(import.meta.dir, "../../build/spawnbench");

const base = makeTempDir("bunker-bench-net");
const cleanups: (() => void)[] = [];
process.on("exit", () => {
  for (const f of cleanups.reverse()) f();
  removeTree(base);
});
// an interrupted run still removes its containers and networks (the exit handler)
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));
const quiet = (argv: string[]) => Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
const lastLine = (r: { stderr: Buffer }) => r.stderr.toString().trim().split("\n").at(-1) ?? "";

// the same executables and rootfs content for both runtimes; each its own copy of the rootfs (podman writes /etc files into it)
const bin = join(base, "bunker");
Bun.spawnSync(["dd", `if=${BUNKER}`, `of=${bin}`, "bs=4M", "status=none"]);
Bun.spawnSync(["chmod", "0755", bin]);
const sink = staticProbe("tcp-sink");
const rootfs = makeBusyboxRootfs(join(base, "rootfs"));
copyFileSync(sink, join(rootfs, "tcp-sink"));
const bunker = [bin, "--data-root", join(base, "data"), "--root", join(base, "state")];
const bunkerNet = `bench-${process.pid}`;
const made = quiet([...bunker, "network", "create", bunkerNet]);
if (made.exitCode === 0) cleanups.push(() => void quiet([...bunker, "network", "rm", bunkerNet]));
else console.log(`# bunker network create: ${lastLine(made)}`);

const podmanExe = Bun.which("podman") ?? undefined;
const runc = Bun.which("runc");
const podmanRootfs = podmanExe ? makeBusyboxRootfs(join(base, "rootfs-podman")) : "";
if (podmanExe) copyFileSync(sink, join(podmanRootfs, "tcp-sink"));
// podman's crun refuses a hybrid cgroup host even in run.sh's namespace: runc where it is installed
const podman = podmanExe ? [podmanExe, "--root", join(base, "podman-root"), "--runroot", join(base, "podman-run")] : [];
const podmanRun = [...podman, "run", ...(runc ? ["--runtime", runc] : [])];
const podmanNet = `bench-${process.pid}`;
let podmanNetOk = false;
if (podmanExe) {
  const r = quiet([...podman, "network", "create", podmanNet]);
  podmanNetOk = r.exitCode === 0;
  if (podmanNetOk) cleanups.push(() => void quiet([...podman, "network", "rm", "-f", podmanNet]));
  else console.log(`# podman network create: ${lastLine(r)}`);
}

interface Runtime {
  name: string;
  /** argv of a container on NETWORK (none, pasta, slirp4netns, or the user network) with ARGS before the command */
  run: (network: string, args: string[], cmd: string[]) => string[];
  rm: (id: string) => string[];
  /** the container's address on the user network */
  ip: (id: string) => string | undefined;
  userNet: string;
}
const runtimes: Runtime[] = [
  {
    name: "bunker",
    run: (network, args, cmd) => [...bunker, "run", "--network", network, ...args, "--rootfs", rootfs, "--", ...cmd],
    rm: (id) => [...bunker, "rm", "-f", id],
    ip: (id) => {
      const r = quiet([...bunker, "network", "inspect", bunkerNet]);
      return r.exitCode === 0 ? (JSON.parse(r.stdout.toString())[0]?.Containers?.[id]?.IPv4Address as string | undefined)?.split("/")[0] : undefined;
    },
    userNet: made.exitCode === 0 ? bunkerNet : "",
  },
  ...(podmanExe
    ? [{
        name: "podman",
        run: (network: string, args: string[], cmd: string[]) => [...podmanRun, "--network", network, ...args, "--rootfs", podmanRootfs, ...cmd],
        rm: (id: string) => [...podman, "rm", "-f", "-t", "0", id],
        ip: (id: string) => quiet([...podman, "inspect", "-f", `{{(index .NetworkSettings.Networks "${podmanNet}").IPAddress}}`, id]).stdout.toString().trim() || undefined,
        userNet: podmanNetOk ? podmanNet : "",
      }]
    : []),
];
const MODES = [["none", "none"], ["pasta", "pasta"], ["slirp4netns", "slirp4netns"], ["user network", "user"]] as const;
const netOf = (rt: Runtime, mode: string) => (mode === "user" ? rt.userNet : mode);

console.log("");
console.log(`# network bench: as uid ${process.getuid!()}; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; ${version([bin, "--version"])}${podmanExe ? `; ${version([podmanExe, "--version"])}${runc ? " (runc)" : ""}` : "; podman: not installed"}`);

// ---- start-up each mode adds ---------------------------------------------------------------
const cands: [string, string[]][] = [];
for (const rt of runtimes)
  for (const [label, mode] of MODES) {
    const network = netOf(rt, mode);
    if (!network) continue;
    const argv = rt.run(network, rt.name === "podman" ? ["--rm"] : [], ["/bin/true"]);
    const probe = quiet(argv);
    if (probe.exitCode !== 0) console.log(`# ${rt.name} ${label}: skipped, exit ${probe.exitCode}: ${lastLine(probe)}`);
    else cands.push([`${rt.name} ${label}`, argv]);
  }
const tsv = join(base, "startup.tsv");
const sb = Bun.spawnSync([SPAWNBENCH, "-n", String(N), "-t", tsv, ...cands.flatMap(([n, argv]) => [`--cand=${n}`, ...argv])], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
console.log("");
console.log(`start-up of run /bin/true per --network mode (${N} rounds interleaved; adds: median of each round's difference to the same runtime's none)`);
if (sb.exitCode !== 0) console.log(`# spawnbench: exit ${sb.exitCode}: ${lastLine(sb)}`);
else {
  const rows = readFileSync(tsv, "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
  const at = new Map<string, number>(rows.map(([round, name, ms]) => [`${round}\t${name}`, Number(ms)]));
  console.log(`${pad("mode", 14)}${runtimes.map((rt) => `${lpad(`${rt.name} ms`, 12)}${lpad("adds", 9)}`).join("")}`);
  for (const [label] of MODES) {
    let line = pad(label, 14);
    for (const rt of runtimes) {
      const ms: number[] = [], adds: number[] = [];
      for (let r = 0; r < N; r++) {
        const x = at.get(`${r}\t${rt.name} ${label}`), none = at.get(`${r}\t${rt.name} none`);
        if (x === undefined || !Number.isFinite(x)) continue;
        ms.push(x);
        if (none !== undefined && Number.isFinite(none)) adds.push(x - none);
      }
      line += ms.length ? `${lpad(fmt(median(ms)), 12)}${lpad(label === "none" ? "" : `+${fmt(median(adds))}`, 9)}` : `${lpad("-", 12)}${lpad("", 9)}`;
    }
    console.log(line);
  }
}

// ---- transfers ------------------------------------------------------------------------------
/** `tcp-sink send` ARGV's seconds for BYTES, or its complaint */
function send(argv: string[]): number | string {
  const r = quiet(argv);
  const secs = Number(r.stdout.toString().trim().split(" ")[1]);
  return r.exitCode === 0 && Number.isFinite(secs) ? secs : `exit ${r.exitCode}: ${lastLine(r)}`;
}

interface Transfer {
  name: string;
  /** starts the receiver; the sender's argv, or why not */
  setup: () => string[] | string;
}

function published(rt: Runtime, label: string, network: string): Transfer {
  return {
    name: `${rt.name} ${label}`,
    setup: () => {
      const port = portFor.get(`${rt.name} ${label}`)!;
      const id = `bench-sink-${rt.name}-${label.replace(/\W/g, "")}-${process.pid}`;
      const r = quiet(rt.run(network, ["-d", "--name", id, "-p", `127.0.0.1:${port}:5000`], ["/tcp-sink", "serve", "5000"]));
      cleanups.push(() => void quiet(rt.rm(id)));
      return r.exitCode === 0 ? [sink, "send", "127.0.0.1", String(port), String(BYTES)] : `exit ${r.exitCode}: ${lastLine(r)}`;
    },
  };
}

function containerToContainer(rt: Runtime): Transfer {
  return {
    name: `${rt.name} user network`,
    setup: () => {
      const id = `bench-c2c-${rt.name}-${process.pid}`;
      const r = quiet(rt.run(rt.userNet, ["-d", "--name", id], ["/tcp-sink", "serve", "5000"]));
      cleanups.push(() => void quiet(rt.rm(id)));
      const ip = r.exitCode === 0 ? rt.ip(id) : undefined;
      if (!ip) return r.exitCode === 0 ? "no address on the network" : `exit ${r.exitCode}: ${lastLine(r)}`;
      return rt.run(rt.userNet, rt.name === "podman" ? ["--rm"] : [], ["/tcp-sink", "send", ip, "5000", String(BYTES)]);
    },
  };
}

/** every transfer ROUNDS times, rounds interleaved; a table of medians (MB/s = 10^6 bytes a second) */
function transfers(title: string, list: Transfer[]) {
  console.log("");
  console.log(title);
  console.log(`${pad("", 26)}${lpad("MB/s", 9)}${lpad("s", 8)}`);
  const senders = new Map<string, string[]>();
  for (const t of list) {
    const s = t.setup();
    if (typeof s === "string") console.log(`${pad(t.name, 26)} skipped: ${s}`);
    else senders.set(t.name, s);
  }
  const secs = new Map<string, number[]>([...senders.keys()].map((k) => [k, []]));
  const failed = new Map<string, string>();
  const names = [...senders.keys()];
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      if (failed.has(name)) continue;
      const got = send(senders.get(name)!);
      if (typeof got === "string") failed.set(name, got);
      else secs.get(name)!.push(got);
    }
  for (const name of names) {
    if (failed.has(name)) console.log(`${pad(name, 26)} failed: ${failed.get(name)}`);
    else {
      const s = median(secs.get(name)!);
      console.log(`${pad(name, 26)}${lpad(fmt(BYTES / s / 1e6, 0), 9)}${lpad(fmt(s), 8)}`);
    }
  }
}

// ports chosen up front, one per published transfer
const portFor = new Map<string, number>();
const publishedList: Transfer[] = [];
for (const rt of runtimes)
  for (const [label, mode] of MODES.slice(1)) {
    const network = netOf(rt, mode);
    if (!network) continue;
    portFor.set(`${rt.name} ${label}`, await freePort());
    publishedList.push(published(rt, label, network));
  }
// the floor: the same two programs on the host's loopback
const hostPort = await freePort();
const hostSink = Bun.spawn([sink, "serve", String(hostPort)], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
cleanups.push(() => hostSink.kill()); // the process this benchmark started (also when interrupted)
publishedList.unshift({ name: "host loopback (no container)", setup: () => [sink, "send", "127.0.0.1", String(hostPort), String(BYTES)] });

transfers(`host -> container through -p 127.0.0.1:PORT:5000, ${BYTES / 2 ** 20} MiB, ${ROUNDS} rounds interleaved, medians (bunker's user network: bunker-proxy; podman's: rootlessport)`, publishedList);
transfers(`container -> container on one user network, ${BYTES / 2 ** 20} MiB, ${ROUNDS} rounds interleaved, medians`, runtimes.filter((rt) => rt.userNet).map(containerToContainer));
hostSink.kill();
await hostSink.exited;
