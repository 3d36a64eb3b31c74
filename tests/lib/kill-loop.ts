// The kill loop (tests/integration/kill-safe.test.ts, `make stress`): SIGKILLs
// `bunker run`, `run -d` or `create` at seeded random moments of its start-up,
// then checks that every process left behind belongs to a container bunker
// lists, that `rm -f` / `delete -f` of every state dir removes all of it, and
// that the next run works.
//
// Run as a script, as the user under test (it spawns bunker itself):
//   bun tests/lib/kill-loop.ts '{"bunker":…,"root":…,"mode":"run-d","count":100,"seed":1,"rootfs":…,"bundle":…}'
// and prints one JSON report on stdout.
//
// It makes itself a child subreaper (prctl), so whatever the killed bunkers
// leave running is re-parented to it: the processes of the loop are exactly
// its descendants (/proc/self/task/*/children, recursively), never a scan of
// /proc, and only those are signalled when something was left.
import { dlopen, FFIType } from "bun:ffi";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { childrenOf } from "../../src/container/kill.ts";

export type Mode = "run" | "run-d" | "create";
export interface LoopOptions {
  bunker: string;
  root: string;
  mode: Mode;
  count: number;
  seed: number;
  /** a busybox rootfs (run, run -d) */
  rootfs: string;
  /** an OCI bundle whose process runs until killed (create) */
  bundle: string;
  /** more flags for run and run -d (--userns=auto: the join of bunker's shared user namespace) */
  runFlags?: string[];
  /** the upper bound of the random delay before SIGKILL, ms (default 60) */
  maxDelayMs?: number;
}

export interface Leftover {
  pid: number;
  cmdline: string;
  state: string;
  /** an fd of it is an exec.fifo */
  execFifo: boolean;
}

export interface LoopReport {
  mode: Mode;
  seed: number;
  count: number;
  /** kills that hit a bunker still running (the others had exited by themselves) */
  killedRunning: number;
  /** state dirs after the loop, and how many had no state.json */
  stateDirs: number;
  withoutState: number;
  /** `list -f json` statuses */
  statuses: Record<string, number>;
  /** live processes after the loop that no listed, not-stopped container accounts for */
  unmanaged: Leftover[];
  /** `rm -f` / `delete -f` failures (one line each) */
  removeErrors: string[];
  /** pids recorded in state.json files (with their start times) still alive after rm -f / delete -f */
  recordedAlive: number[];
  /** what was still alive, and which state dirs were left, after rm -f / delete -f */
  afterRemove: Leftover[];
  dirsAfterRemove: string[];
  /** the next `bunker run` printed "ok" */
  nextRunOk: boolean;
  nextRun: string;
}

const libc = dlopen("libc.so.6", {
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
});
const PR_SET_CHILD_SUBREAPER = 36, WNOHANG = 1;

/** mulberry32: a small seeded generator, so a failing run can be repeated */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** our descendants, recursively */
export function descendants(pid = process.pid): number[] {
  const out: number[] = [];
  const todo = childrenOf(pid);
  while (todo.length) {
    const p = todo.shift()!;
    out.push(p);
    todo.push(...childrenOf(p));
  }
  return out;
}

function procState(pid: number): string {
  const stat = read(`/proc/${pid}/stat`) ?? "";
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?";
}

function describe(pid: number): Leftover {
  let execFifo = false;
  try {
    execFifo = readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).includes("/exec.fifo");
      } catch {
        return false;
      }
    });
  } catch {
    /* gone, or not readable */
  }
  return { pid, cmdline: (read(`/proc/${pid}/cmdline`) ?? "").split("\0").join(" ").trim(), state: procState(pid), execFifo };
}

/** reaps the zombies among our children (orphans re-parented to us die here) */
function reapZombies(): void {
  for (const p of childrenOf(process.pid)) if (procState(p) === "Z") libc.symbols.waitpid(p, null, WNOHANG);
}

/** our live descendants (zombies reaped first); bunker's shared user namespace holder, made to
 * outlive every run (src/container/userns.ts), is not a container's and is left alone */
function alive(): number[] {
  reapZombies();
  return descendants().filter((p) => procState(p) !== "Z" && existsSync(`/proc/${p}`) && read(`/proc/${p}/comm`)?.trim() !== "bunker-userns");
}

/** field 22 of /proc/PID/stat, undefined once PID is gone or a zombie */
function procStart(pid: number): string | undefined {
  const stat = read(`/proc/${pid}/stat`) ?? "";
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return f[0] === "Z" || f[0] === "X" || !stat ? undefined : f[19];
}

function ppid(pid: number): number {
  const stat = read(`/proc/${pid}/stat`) ?? "";
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? 0);
}

/** `bunker ARGS`, killed after 10 s (a command blocked on a lock that a leaked process holds) */
async function bunker(o: LoopOptions, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([o.bunker, "--root", o.root, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: o.bundle });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, 10_000);
  const code = await p.exited;
  clearTimeout(timer);
  const text = (s: ReadableStream) => Promise.race([new Response(s).text(), Bun.sleep(1000).then(() => "")]);
  const [stdout, stderr] = await Promise.all([text(p.stdout), text(p.stderr)]);
  return { code, stdout, stderr: timedOut ? `timed out after 10 s (blocked) ${stderr}` : stderr };
}

function startArgs(o: LoopOptions, id: string): string[] {
  const cmd = [...(o.runFlags ?? []), "--rootfs", o.rootfs, "--", "sleep", "1000"];
  if (o.mode === "run") return ["run", "--name", id, ...cmd];
  if (o.mode === "run-d") return ["run", "-d", "--name", id, ...cmd];
  return ["create", "--bundle", o.bundle, id];
}

export async function killLoop(o: LoopOptions): Promise<LoopReport> {
  if (libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) throw new Error("prctl(PR_SET_CHILD_SUBREAPER) failed");
  const rand = seeded(o.seed);
  const max = o.maxDelayMs ?? 60;
  let killedRunning = 0;
  for (let i = 0; i < o.count; i++) {
    const id = `${o.mode}-${o.seed}-${i}`;
    // output to /dev/null: a pipe would be held open by whatever the kill leaves
    const p = Bun.spawn([o.bunker, "--root", o.root, ...startArgs(o, id)], { stdin: "ignore", stdout: "ignore", stderr: "ignore", cwd: o.bundle });
    await Bun.sleep(rand() * max);
    if (p.exitCode === null) killedRunning++;
    p.kill("SIGKILL");
    await p.exited;
    if (i % 20 === 19) reapZombies();
  }
  // a child that lost its bunker before "go" reads EOF and exits: give it a moment
  await Bun.sleep(300);
  const ids = existsSync(o.root) ? readdirSync(o.root) : [];
  const withoutState = ids.filter((id) => !existsSync(`${o.root}/${id}/state.json`)).length;

  const list = await bunker(o, ["list", "-f", "json"]);
  const listed = list.code === 0 ? (JSON.parse(list.stdout) as { id: string; pid: number; status: string }[]) : [];
  const statuses: Record<string, number> = {};
  for (const c of listed) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
  // every live process must be a listed container's process or one of its descendants
  const managedRoots = new Set(listed.filter((c) => c.status !== "stopped" && c.pid > 0).map((c) => c.pid));
  // a run -d container's log writer, recorded in its state dir (pid and start time; rm -f waits for it)
  for (const id of ids) {
    const [pid, start] = (read(`${o.root}/${id}/log-writer`) ?? "").trim().split(" ");
    if (pid && start && procStart(Number(pid)) === start) managedRoots.add(Number(pid));
  }
  const isManaged = (pid: number): boolean => {
    for (let p = pid; p > 1 && p !== process.pid; p = ppid(p)) if (managedRoots.has(p)) return true;
    return false;
  };
  const unmanaged = alive().filter((p) => !isManaged(p)).map(describe);

  // the pids the state dirs record, to check after the removal (with start times: a reused pid is not ours)
  const recorded = ids.flatMap((id) => {
    try {
      const st = JSON.parse(readFileSync(`${o.root}/${id}/state.json`, "utf8")) as { pid: number; pidStart: string };
      return st.pid > 0 ? [st] : [];
    } catch {
      return [];
    }
  });
  const removeErrors: string[] = [];
  const remove = async (args: string[]) => {
    const r = await bunker(o, args);
    if (r.code !== 0) removeErrors.push(`${args.slice(0, 2).join(" ")}: exit ${r.code}: ${r.stderr.trim().split("\n")[0]}`);
  };
  // one id per call: an error for one must not hide the others
  for (const id of ids) await remove(o.mode === "create" ? ["delete", "--force", id] : ["rm", "-f", id]);
  await Bun.sleep(100);
  const afterRemove = alive().map(describe);
  const recordedAlive = recorded.filter((r) => procStart(r.pid) === r.pidStart).map((r) => r.pid);
  const dirsAfterRemove = existsSync(o.root) ? readdirSync(o.root) : [];

  const next = await bunker(o, ["run", "--rootfs", o.rootfs, "--", "echo", "ok"]);
  // whatever is still ours goes (provably ours: our descendants)
  for (const l of [...afterRemove, ...alive().map(describe)]) {
    try {
      process.kill(l.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await Bun.sleep(50);
  reapZombies();
  return {
    mode: o.mode,
    seed: o.seed,
    count: o.count,
    killedRunning,
    stateDirs: ids.length,
    withoutState,
    statuses,
    unmanaged,
    removeErrors,
    recordedAlive,
    afterRemove,
    dirsAfterRemove,
    nextRunOk: next.code === 0 && next.stdout === "ok\n",
    nextRun: `exit ${next.code}: ${next.stdout.trim()} ${next.stderr.trim()}`.trim(),
  };
}

if (import.meta.main) {
  const o = JSON.parse(process.argv[2] ?? "{}") as LoopOptions;
  process.stdout.write(JSON.stringify(await killLoop(o)) + "\n");
}
