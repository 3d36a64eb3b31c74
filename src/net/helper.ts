// The network helper of a container with --network pasta or slirp4netns: the
// program that gives the container's own network namespace a way out (a tap
// device whose packets it turns into the host's sockets) and, for pasta, binds
// its published TCP ports on the host (ports.ts's helperForwards; the others
// are bunker-proxy's, src/net/proxy.ts).
//
// It is started once the container's process exists (its network namespace
// with it) and before that process is released, and bunker waits until the
// helper says the namespace is configured (pasta: its pid written to -P
// /proc/self/fd/3 after setting addresses and routes; slirp4netns:
// --ready-fd=3), so the container's command never runs before its network.
// It runs as the child of a small keeper (c/keeper.c, the monitor program in
// --keep-while=PID mode, a session of its own) that ends it when the
// container's process exits, whoever killed what: neither helper notices by
// itself that its namespace is gone.  Both pids are recorded in the
// container's state.
import { closeSync, existsSync, openSync, readFileSync } from "../sys/fs-sync.ts";
import { BunkerError } from "../errors.ts";
import { spawnKeeper } from "../sys/shim.ts";
import { pidStartTime } from "../sys/proc.ts";
import { processIds } from "../sys/idmap.ts";
import { PASTA_DNS, type HelperMode } from "./mode.ts";
import { helperForwards, type PublishedPort } from "./ports.ts";

export interface ProcessRef {
  pid: number;
  /** /proc/PID/stat's start time: a reused pid is not the helper */
  start: string;
}

export interface HelperRecord {
  keeper: ProcessRef;
  helper: ProcessRef;
}

/** how long a helper may take to configure the namespace (pasta needs ~0.1 s here) */
const READY_TIMEOUT_MS = 30_000;

const PACKAGE: Record<HelperMode["kind"], string> = { pasta: "passt", slirp4netns: "slirp4netns" };

/** NAME's path through PATH (the caller's $PATH; /usr/local/bin:/usr/bin:/bin when it has none), or undefined */
export function findProgram(name: string, path: string | undefined): string | undefined {
  for (const d of (path || "/usr/local/bin:/usr/bin:/bin").split(":")) {
    if (d && existsSync(`${d}/${name}`)) return `${d}/${name}`;
  }
  return undefined;
}

/** the helper's command line against the container's process PID (its user and network namespaces), forwarding what of PORTS it forwards itself (helperForwards) */
export function helperArgs(mode: HelperMode, exe: string, pid: number, ports: PublishedPort[], uid = processIds().uid): string[] {
  if (mode.kind === "pasta") {
    const tcp = ports.filter((p) => helperForwards("pasta", p)).flatMap((p) => ["-t", `${p.hostIp === "0.0.0.0" ? "" : `${p.hostIp}/`}${p.hostPort}:${p.containerPort}`]);
    return [
      exe, "--foreground", "--quiet", "--config-net", "--pid", "/proc/self/fd/3",
      // nothing from the container to the host's ports, and only the published ports in
      "-T", "none", "-U", "none", ...(tcp.length ? tcp : ["-t", "none"]), "-u", "none",
      "--dns-forward", PASTA_DNS,
      ...(mode.mapGw ? [] : ["--no-map-gw"]),
      // as root pasta changes to nobody first, who may not open the container's namespaces
      ...(uid === 0 && !mode.args.includes("--runas") ? ["--runas", "0"] : []),
      ...mode.args, String(pid),
    ];
  }
  return [
    exe, "--configure", `--mtu=${mode.mtu}`, "--ready-fd=3",
    ...(mode.allowHostLoopback ? [] : ["--disable-host-loopback"]),
    ...(mode.cidr ? [`--cidr=${mode.cidr}`] : []),
    ...(mode.enableIpv6 ? ["--enable-ipv6"] : []),
    String(pid), "tap0",
  ];
}

/** spawnKeeper's ARGS (the monitor program) with its stderr appended to LOG */
export function spawnLogged(args: string[], log: string, what: string): { pid: number; fd: number } {
  const err = openSync(log, "a", 0o600);
  try {
    return spawnKeeper(args, err, what);
  } finally {
    closeSync(err);
  }
}

/**
 * Waits until a process spawnKeeper started writes on its readiness pipe
 * (true) or exits (EOF: false); one that takes longer than TIMEOUT_MS is
 * SIGKILLed (our child: its PDEATHSIG takes a helper along) and gives
 * undefined.  The pipe's read end is closed.
 */
export async function awaitReady(started: { pid: number; fd: number }, timeoutMs: number): Promise<boolean | undefined> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.kill(started.pid, "SIGKILL");
  }, timeoutMs);
  // the read ends at EOF after a kill, and only then is the fd closed; node:fs's
  // asynchronous read loaded only for a helper (not on every run's path)
  const { read } = await import("node:fs");
  const n = await new Promise<number>((done) => read(started.fd, Buffer.alloc(64), 0, 64, null, (e, got) => done(e ? 0 : got)));
  clearTimeout(timer);
  closeSync(started.fd);
  return timedOut ? undefined : n > 0;
}

/** the last lines the helper (or its keeper) wrote on stderr, without pasta's syslog complaints */
export function helperErrors(log: string): string {
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    /* none */
  }
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("Failed to send") && !l.startsWith("WARNING: Support for"));
  // the complaint, not the usage text that may follow it
  const complaint = lines.find((l) => /unrecognized|invalid|unknown|error|fail|couldn't|cannot|can't|not permitted|denied/i.test(l));
  return (complaint ?? lines.slice(-2).join("; ")).replace(/[\x00-\x1f\x7f]/g, " ");
}

/** the keeper's only child: the helper it runs (/proc/PID/task/PID/children of a process we started) */
function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts MODE's helper against the container's process PID (blocked on its
 * sync socket until we release it) and returns once the namespace is
 * configured and every port of PORTS it forwards (helperForwards) is bound;
 * DIR is the container's state dir (the helper's stderr goes to
 * DIR/network.log).
 */
export async function startHelper(mode: HelperMode, pid: number, dir: string, ports: PublishedPort[], path: string | undefined, debug?: (m: string) => void): Promise<HelperRecord> {
  const exe = findProgram(mode.kind, path);
  if (!exe) throw new BunkerError(`--network ${mode.kind}: ${mode.kind} is not installed`, { errno: "ENOENT", fix: `apt-get install ${PACKAGE[mode.kind]} (bunker check lists the network modes that work here)` });
  const log = `${dir}/network.log`;
  const args = helperArgs(mode, exe, pid, ports);
  debug?.(`network: ${args.join(" ")}`);
  const keeper = spawnLogged(["bunker-net", `--keep-while=${pid}`, ...args], log, `the keeper of ${exe}`);
  const keeperRef: ProcessRef = { pid: keeper.pid, start: pidStartTime(keeper.pid) ?? "" };
  const ready = await awaitReady(keeper, READY_TIMEOUT_MS);
  if (ready === undefined) throw new BunkerError(`--network ${mode.kind}: ${mode.kind} did not configure the container's network within ${READY_TIMEOUT_MS / 1000} s`, { errno: "ETIMEDOUT", path: exe });
  if (!ready) {
    const why = helperErrors(log);
    throw new BunkerError(`--network ${mode.kind}: ${mode.kind} exited before the container's network was ready${why ? `: ${why}` : ""}`, { errno: "EIO", path: exe, fix: "bunker check tries each network mode" });
  }
  const helperPid = childOf(keeper.pid);
  if (!helperPid) throw new BunkerError(`--network ${mode.kind}: ${mode.kind} ended right after it was ready`, { errno: "ESRCH", path: exe });
  const helper: ProcessRef = { pid: helperPid, start: pidStartTime(helperPid) ?? "" };
  return { keeper: keeperRef, helper };
}
