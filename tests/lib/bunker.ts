// Running the compiled dist/bunker as root or as the unprivileged test user.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll } from "bun:test";
import { chownTree, makeBusyboxRootfs, makeTempDir, removeTree, type Owner } from "./rootfs.ts";

export type As = "root" | "user";
export const USERS: As[] = ["root", "user"];

export const REPO = resolve(import.meta.dir, "../..");
/** the executable under test: $BUNKER_BIN, default the repo's dist/bunker */
export const DIST_BUNKER = process.env.BUNKER_BIN || join(REPO, "dist/bunker");

export interface TestUser extends Owner {
  name: string;
  home: string;
  runtimeDir: string;
}

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let cachedUser: TestUser | undefined;

/** The unprivileged user ($BUNKER_TEST_USER, default bunkertest) with a private XDG_RUNTIME_DIR. */
export function testUser(): TestUser {
  if (cachedUser) return cachedUser;
  const name = process.env.BUNKER_TEST_USER || "bunkertest";
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`test user "${name}" does not exist: useradd -m ${name} (the CI script .ci/run does it)`);
  const f = line.split(":");
  const owner = { uid: Number(f[2]), gid: Number(f[3]) };
  let runtimeDir = `/run/user/${owner.uid}`;
  try {
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    chownTree(runtimeDir, owner);
    chmodSync(runtimeDir, 0o700);
  } catch {
    runtimeDir = makeTempDir(`bunker-xdg-${owner.uid}`, owner);
    chmodSync(runtimeDir, 0o700);
  }
  cachedUser = { name, home: f[5] || "/", runtimeDir, ...owner };
  return cachedUser;
}

/** The uid/gid a container process of AS runs as on the host. */
export function ownerOf(as: As): Owner {
  return as === "root" ? { uid: 0, gid: 0 } : { uid: testUser().uid, gid: testUser().gid };
}

export function userName(as: As): string {
  return as === "root" ? "root" : testUser().name;
}

let binDir: string | undefined;

/** dist/bunker copied once to a world-readable temp dir (the single file must work alone, for any user). */
export function bunkerBinary(): string {
  if (binDir) return join(binDir, "bunker");
  if (!existsSync(DIST_BUNKER)) throw new Error(`${DIST_BUNKER} missing: run make`);
  binDir = makeTempDir("bunker-bin");
  const bin = join(binDir, "bunker");
  copyFileSync(DIST_BUNKER, bin);
  chmodSync(bin, 0o755);
  const dir = binDir;
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return bin;
}

/** argv that runs `bunker ARGS` as AS (setpriv drops to the test user). */
export function bunkerArgv(as: As, args: string[]): string[] {
  return asUserArgv(as, [bunkerBinary(), ...args]);
}

/** argv that runs ARGV as AS. */
export function asUserArgv(as: As, argv: string[]): string[] {
  if (as === "root") return argv;
  const u = testUser();
  return ["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", ...argv];
}

/** A clean environment for AS (HOME, USER, PATH, XDG_RUNTIME_DIR), plus EXTRA. */
export function envFor(as: As, extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> =
    as === "root"
      ? { HOME: "/root", USER: "root", LOGNAME: "root", PATH }
      : {
          HOME: testUser().home,
          USER: testUser().name,
          LOGNAME: testUser().name,
          PATH,
          XDG_RUNTIME_DIR: testUser().runtimeDir,
        };
  return { ...base, LANG: "C", ...extra };
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** bytes fed to stdin (then closed); default: stdin is /dev/null */
  stdin?: string;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** the signal that killed bunker itself, if any */
  signal?: string;
}

/** Spawns `bunker ARGS` as AS; the caller owns the process (signal tests). */
export function spawnBunkerAs(as: As, args: string[], opts: RunOptions = {}) {
  return spawnAs(as, bunkerArgv(as, args), opts);
}

export function spawnAs(as: As, argv: string[], opts: RunOptions = {}) {
  return Bun.spawn(argv, {
    cwd: opts.cwd ?? "/",
    env: envFor(as, opts.env),
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
}

/**
 * Waits for PROC (SIGKILL after timeoutMs) and reads its output. A process that
 * outlives it (a leaked container) may hold the pipes open: after the exit they
 * get 2 s to close, then the text read so far is lost and a note says why.
 */
export async function collect(proc: ReturnType<typeof spawnAs>, timeoutMs = 30_000): Promise<RunResult> {
  const out = new Response(proc.stdout).text();
  const err = new Response(proc.stderr).text();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  const drain = (p: Promise<string>, what: string) =>
    Promise.race([p, Bun.sleep(2000).then(() => `<${what} still open 2 s after exit: a process outlived bunker>`)]);
  const [stdout, stderr] = await Promise.all([drain(out, "stdout"), drain(err, "stderr")]);
  const note = timedOut ? `<killed after ${timeoutMs} ms>\n` : "";
  return { code, stdout, stderr: note + stderr, signal: proc.signalCode == null ? undefined : String(proc.signalCode) };
}

/** Runs `bunker ARGS` as AS and waits: {code, stdout, stderr}. */
export async function bunkerAs(as: As, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return collect(spawnBunkerAs(as, args, opts), opts.timeoutMs);
}

/** Runs any ARGV as AS (e.g. a shell wrapper that opens extra fds before exec'ing bunker). */
export async function runAs(as: As, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return collect(spawnAs(as, argv, opts), opts.timeoutMs);
}

/** the id `bunker ARGS` (a run -d) prints as AS, stdin /dev/null and stderr in stdout; what it said instead is thrown */
export async function detachedIdAs(as: As, args: string[]): Promise<string> {
  const r = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" 2>&1 </dev/null`, bunkerBinary(), ...args]));
  if (r.code !== 0) throw new Error(`bunker ${args.join(" ")}: exit ${r.code}: ${r.stdout}`);
  return r.stdout.trim();
}

/** a busybox rootfs and a state root for AS in a temp dir named PREFIX, made before the tests of a describe, removed after */
export function rootfsFixture(as: As, prefix: string): { base: string; rootfs: string; root: string } {
  const f = { base: "", rootfs: "", root: "" };
  beforeAll(() => {
    f.base = makeTempDir(prefix, ownerOf(as));
    f.rootfs = makeBusyboxRootfs(join(f.base, "rootfs"), ownerOf(as));
    f.root = join(f.base, "state");
  });
  afterAll(() => removeTree(f.base));
  return f;
}

/** The subordinate id range of NAME in FILE (/etc/subuid or /etc/subgid), if any. */
export function subRange(file: string, as: As): { start: number; count: number } | undefined {
  const name = userName(as);
  const uid = String(ownerOf(as).uid);
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  for (const l of text.split("\n")) {
    const [who, start, count] = l.trim().split(":");
    if ((who === name || who === uid) && start && count) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** Polls for PATH to exist (a container signalling "ready" through a bound dir). */
export async function waitForFile(path: string, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (statSync(path).size > 0) return true;
    } catch {}
    await Bun.sleep(20);
  }
  return false;
}

/** field 22 of /proc/PID/stat, undefined once PID is gone (or a zombie) */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[0] === "Z" || rest[0] === "X" ? undefined : rest[19];
  } catch {
    return undefined;
  }
}
