// The engine's verbs (src/container) driven through a recording Launcher
// (tests/lib/launcher-fake.ts): no process is started, no privilege needed;
// the assertions are on the plans the engine built and the calls it made.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import type { RuntimeContext } from "../../src/container/context.ts";
import { create, execInContainer, start } from "../../src/container/lifecycle.ts";
import { runContainer, type RunRequest } from "../../src/container/run.ts";
import { readState } from "../../src/container/state.ts";
import type { BunkerError } from "../../src/errors.ts";
import { defaultSpec } from "../../src/oci/default-spec.ts";
import { CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, type Op } from "../../src/plan/types.ts";
import { processIds } from "../../src/sys/idmap.ts";
import { pidStartTime } from "../../src/sys/proc.ts";
import { FakeLauncher } from "../lib/launcher-fake.ts";
import { parseVolumeFlag } from "../../src/volume/spec.ts";

/** a pid no process can have (above pid_max): what the fake's child gets when nothing may look alive */
const NO_PROCESS = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;

let base: string;
let notes: string[];
let warnings: BunkerError[];

beforeEach(() => {
  base = mkdtempSync(`${tmpdir()}/bunker-engine-`);
  mkdirSync(`${base}/state`);
  mkdirSync(`${base}/bundle/rootfs/etc`, { recursive: true });
  notes = [];
  warnings = [];
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function context(launcher: FakeLauncher): RuntimeContext {
  return {
    stateRoot: `${base}/state`,
    dataRoot: `${base}/data`,
    cgroupManager: "disabled",
    log: { note: (m) => notes.push(m), warn: (e) => warnings.push(e) },
    ids: processIds(),
    env: { PATH: "/usr/bin:/bin" },
    cwd: base,
    execPath: "/nonexistent/bunker",
    launcher,
  };
}

function writeBundle(change: (spec: ReturnType<typeof defaultSpec>) => void = () => {}): string {
  const { uid, gid } = processIds();
  const spec = defaultSpec({ rootless: true, uid, gid, args: ["/bin/true", "arg"], terminal: false });
  change(spec);
  writeFileSync(`${base}/bundle/config.json`, JSON.stringify(spec));
  return `${base}/bundle`;
}

const opsOf = (ops: Op[], kind: Op["op"]) => ops.filter((o) => o.op === kind);

describe("create through the Launcher", () => {
  test("one plan: new namespaces, the rootfs, the process; it waits on exec.fifo; state.json records the child before it is released", async () => {
    writeBundle();
    const fake = new FakeLauncher(NO_PROCESS);
    let recordedBeforeRelease = false;
    const launch = fake.launch.bind(fake);
    fake.launch = async (plan, opts) => launch(plan, { ...opts, record: (pid) => { opts.record?.(pid); recordedBeforeRelease = existsSync(`${base}/state/c1/state.json`); } });
    const state = await create(context(fake), { id: "c1", bundle: "bundle" });
    expect(fake.names).toEqual(["launch"]);
    const [plan] = fake.plans;
    for (const flag of [CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID]) expect(plan!.cloneFlags & flag).toBe(flag);
    expect(opsOf(plan!.ops, "rootfs")[0]).toMatchObject({ path: `${base}/bundle/rootfs` });
    expect(opsOf(plan!.ops, "fifo-open")).toEqual([{ op: "fifo-open", path: `${base}/state/c1/exec.fifo` }]);
    const names = plan!.ops.map((o) => o.op);
    expect(names.indexOf("fifo-wait")).toBeGreaterThan(names.indexOf("rootfs"));
    expect(plan!.ops.at(-1)).toMatchObject({ op: "exec", file: "/bin/true", args: ["/bin/true", "arg"] });
    const call = fake.calls[0]!;
    expect(call.name === "launch" && call.opts.untilReady).toBe(true);
    expect(recordedBeforeRelease).toBe(true);
    expect(state.pid).toBe(NO_PROCESS);
    expect(readState(`${base}/state`, "c1")).toMatchObject({ id: "c1", pid: NO_PROCESS, bundle: `${base}/bundle` });
  });

  test("a namespace given by path is joined (setns) before the rootfs is set up, not made", async () => {
    writeBundle((s) => s.linux!.namespaces!.push({ type: "network", path: "/proc/self/ns/net" }));
    const fake = new FakeLauncher(NO_PROCESS);
    await create(context(fake), { id: "c2", bundle: "bundle" });
    const [plan] = fake.plans;
    expect(plan!.cloneFlags & CLONE_NEWNET).toBe(0);
    const names = plan!.ops.map((o) => o.op);
    expect(opsOf(plan!.ops, "setns")).toContainEqual(expect.objectContaining({ path: "/proc/self/ns/net", nstype: CLONE_NEWNET }));
    expect(names.indexOf("setns")).toBeLessThan(names.indexOf("rootfs"));
  });

  test("a failed create leaves no state dir; the launched child is killed", async () => {
    writeBundle();
    const fake = new FakeLauncher(NO_PROCESS);
    // the pid file's directory is missing: the error comes after launch
    await expect(create(context(fake), { id: "c3", bundle: "bundle", pidFile: `${base}/missing/pid` })).rejects.toThrow();
    expect(fake.names).toEqual(["launch", "kill"]);
    expect(existsSync(`${base}/state/c3`)).toBe(false);
  });
});

describe("start and exec through the Launcher", () => {
  // the "container" process is this test's own (alive, same namespaces): nothing may signal it, and nothing does
  const self = () => new FakeLauncher(process.pid, { code: 7, signal: 0 });

  test("start reads the child's go from exec.fifo and removes it", async () => {
    writeBundle();
    const ctx = context(self());
    await create(ctx, { id: "s1", bundle: "bundle" });
    const fifo = `${base}/state/s1/exec.fifo`;
    // the container's side of the fifo: its "0" once it waits there
    const w = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      writeSync(w, "0");
      await start(ctx, "s1");
    } finally {
      closeSync(w);
    }
    expect(existsSync(fifo)).toBe(false);
  });

  test("exec: a plan that joins no namespace it already shares, runs the command with the container's environment; the monitor, then wait", async () => {
    writeBundle((s) => (s.process!.env = ["PATH=/bin", "KEEP=1"]));
    const fake = self();
    const ctx = context(fake);
    await create(ctx, { id: "e1", bundle: "bundle" });
    expect(readState(`${base}/state`, "e1")!.pidStart).toBe(pidStartTime(process.pid)!);
    fake.calls.length = 0;
    const code = await execInContainer(ctx, {
      id: "e1",
      command: { args: ["/bin/echo", "hi"], env: ["ADDED=2"], additionalGids: [], terminal: false, noNewPrivileges: false },
      detach: false,
    });
    expect(code).toBe(7);
    expect(fake.names).toEqual(["becomeSubreaper", "forwardSignals", "launch", "becomeMonitor", "wait"]);
    const [plan] = fake.plans;
    expect(plan!.cloneFlags).toBe(0);
    expect(opsOf(plan!.ops, "setns")).toEqual([]);
    expect(plan!.ops[0]).toEqual({ op: "nondumpable" });
    expect(opsOf(plan!.ops, "setsid")).toHaveLength(1);
    const exec = plan!.ops.at(-1) as Extract<Op, { op: "exec" }>;
    expect(exec.args).toEqual(["/bin/echo", "hi"]);
    expect(exec.env).toEqual(expect.arrayContaining(["PATH=/bin", "KEEP=1", "ADDED=2"]));
    const monitor = fake.calls[3]!;
    expect(monitor.name === "becomeMonitor" && monitor.job.pid).toBe(process.pid);
  });

  test("exec -d: launched and left: no monitor, no wait, no signal routing", async () => {
    writeBundle();
    const fake = self();
    const ctx = context(fake);
    await create(ctx, { id: "e2", bundle: "bundle" });
    fake.calls.length = 0;
    expect(await execInContainer(ctx, { id: "e2", command: { args: ["/bin/true"], env: [], additionalGids: [], terminal: false, noNewPrivileges: false }, detach: true })).toBe(0);
    expect(fake.names).toEqual(["launch"]);
  });
});

describe("run through the Launcher", () => {
  const request = (over: Partial<RunRequest>): RunRequest => ({
    rootfs: "bundle/rootfs", command: ["/bin/sh", "-c", "exit 3"], env: [], tty: false, interactive: false, init: false, mounts: [], readOnly: false,
    publish: [], publishAll: false, addHosts: [], dns: [], dnsSearch: [], dnsOptions: [], preserveFds: 0, noPivot: false, rm: false, detach: false,
    logOptions: [], oomKillGroup: true, security: { capAdd: [], capDrop: [], privileged: false, securityOpts: [] }, ...over,
  });

  test("a foreground run of a rootfs: one plan (its rootfs, hostname, /etc files, the command), state recorded, the child's status returned, nothing left", async () => {
    const fake = new FakeLauncher(NO_PROCESS, { code: 3, signal: 0 });
    let recorded: unknown;
    const launch = fake.launch.bind(fake);
    fake.launch = async (plan, opts) => launch(plan, { ...opts, record: (pid) => { opts.record?.(pid); recorded = readState(`${base}/state`, "r1"); } });
    const r = await runContainer(context(fake), request({ name: "r1", env: ["A=1"] }));
    expect(r).toEqual({ id: "r1", exitCode: 3 });
    expect(fake.names).toEqual(["forwardSignals", "launch", "becomeMonitor", "wait"]);
    const [plan] = fake.plans;
    expect(opsOf(plan!.ops, "rootfs")[0]).toMatchObject({ path: `${base}/bundle/rootfs` });
    expect(opsOf(plan!.ops, "hostname")).toEqual([{ op: "hostname", name: "r1" }]);
    expect(opsOf(plan!.ops, "bind").map((o) => (o as { target: string }).target)).toEqual(expect.arrayContaining(["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]));
    const exec = plan!.ops.at(-1) as Extract<Op, { op: "exec" }>;
    expect(exec.args).toEqual(["/bin/sh", "-c", "exit 3"]);
    expect(exec.env).toContain("A=1");
    expect(recorded).toMatchObject({ id: "r1", pid: NO_PROCESS, run: { command: ["/bin/sh", "-c", "exit 3"] } });
    const monitor = fake.calls[2]!;
    expect(monitor.name === "becomeMonitor" && monitor.job).toMatchObject({ pid: NO_PROCESS, dir: `${base}/state/r1`, stdin: false });
    expect(existsSync(`${base}/state/r1`)).toBe(false);
    expect(notes).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test("volumes: a named and an anonymous one bound from the data root and recorded; the monitor hands the clean-up back; the anonymous one goes with the container", async () => {
    const fake = new FakeLauncher(NO_PROCESS, { code: 0, signal: 0 });
    let use: unknown;
    const launch = fake.launch.bind(fake);
    fake.launch = async (plan, opts) => {
      use = JSON.parse(readFileSync(`${base}/state/v1/volumes.json`, "utf8"));
      return launch(plan, opts);
    };
    const r = await runContainer(context(fake), request({ name: "v1", mounts: [parseVolumeFlag("data:/data"), parseVolumeFlag("/scratch")] }));
    expect(r.exitCode).toBe(0);
    const anon = (use as { anonymous: string[] }).anonymous;
    expect(anon).toHaveLength(1);
    expect(use).toEqual({ dirs: [`${base}/data/volumes/data`, anon[0]], anonymous: anon });
    const binds = opsOf(fake.plans[0]!.ops, "bind") as Extract<Op, { op: "bind" }>[];
    expect(binds.filter((b) => b.source.startsWith(`${base}/data/volumes/`)).map((b) => [b.target, b.source])).toEqual([["/data", `${base}/data/volumes/data/_data`], ["/scratch", `${anon[0]}/_data`]]);
    expect(opsOf(fake.plans[0]!.ops, "copyup")).toEqual([]); // a --rootfs run: nothing to copy up
    const monitor = fake.calls.find((c) => c.name === "becomeMonitor")!;
    expect(monitor.name === "becomeMonitor" && monitor.job.finishAlways).toBe(true);
    expect([existsSync(`${base}/data/volumes/data/_data`), existsSync(anon[0]!), existsSync(`${base}/state/v1`)]).toEqual([true, false, false]);
  });

  test("killed by a signal: 128+N; bad requests fail before anything is launched", async () => {
    const fake = new FakeLauncher(NO_PROCESS, { code: -1, signal: 9 });
    expect((await runContainer(context(fake), request({ name: "r2" }))).exitCode).toBe(137);
    const idle = new FakeLauncher(NO_PROCESS);
    await expect(runContainer(context(idle), request({ command: [] }))).rejects.toThrow("run: no command given");
    await expect(runContainer(context(idle), request({ rootfs: "missing" }))).rejects.toThrow("run: rootfs does not exist");
    await expect(runContainer(context(idle), request({ detach: true, tty: true }))).rejects.toThrow("-d cannot be combined with -t or -i");
    expect(idle.calls).toEqual([]);
  });
});
