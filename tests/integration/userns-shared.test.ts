// bunker's shared user namespace (src/container/userns.ts) and the private
// tmpfs upper of an image's overlay, as the unprivileged test user with a
// /etc/subuid range: newuidmap/newgidmap run once, for the namespace's holder
// (c/monitor.c --hold-userns); every later container joins it and still gets
// its own mount, pid, net, ipc and uts namespaces.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { asUserArgv, bunkerArgv, bunkerAs, envFor, spawnAs, spawnBunkerAs, subRange, testUser, waitForFile } from "../lib/bunker.ts";
import { makeTempDir, removeTree } from "../lib/rootfs.ts";
import { imageCli } from "../lib/image-cli.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";
import { tmpfsHasUserXattrs } from "../../src/sys/kernel.ts";

const user = testUser();
const dir = makeTempDir("bunker-userns", user);
const store = `${dir}/store`;
const holderFile = `${user.runtimeDir}/bunker/userns`;
const IMAGE = "shared/userns:1";
writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: buildImage({ config: { Env: ["PATH=/bin"], Cmd: ["sh"] } }), tags: [IMAGE] }]));

/** bunker run IMAGE ARGS as the test user */
const run = (args: string[], env: Record<string, string> = {}) => bunkerAs("user", ["--data-root", store, "run", ...args], { env });
const cli = (...args: string[]) => bunkerAs("user", args);

function holderPid(): number {
  return Number(readFileSync(holderFile, "utf8").split(" ")[0]);
}

/** the test user's namespace holders (pgrep -x bunker-userns) */
function holders(): number[] {
  const r = Bun.spawnSync(["pgrep", "-x", "-u", String(user.uid), "bunker-userns"]);
  return r.stdout.toString().split("\n").filter(Boolean).map(Number);
}

/** end the holder the holder file names, by its pid (`bunker __end-userns` checks it is bunker's holder) */
function killHolders() {
  const r = Bun.spawnSync(bunkerArgv("user", ["__end-userns"]), { env: envFor("user") });
  expect(r.exitCode).toBe(0);
  const pid = Number(r.stdout.toString().trim());
  // a killed process stays a zombie on a host whose pid 1 does not reap: wait until it is not alive
  for (let k = 0; pid && k < 100 && !/^[ZX]/.test(procState(pid)); k++) Bun.sleepSync(10);
}

function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "X";
  }
}

/** the test user's holders alive when this test last made sure it had none: another run's (its own
 *  XDG_RUNTIME_DIR, e.g. a suite run meanwhile on this machine), not counted as this test's */
let others = new Set<number>();

/** no holder: the next run makes one (a killed holder's zombie, where pid 1 does not reap, still holds its namespace) */
function noHolder() {
  killHolders();
  writeFileSync(holderFile, "999999999 1\n");
  others = new Set(holders().filter((p) => !/^[ZX]/.test(procState(p))));
}

/** the live holders this test's runs made */
const live = () => holders().filter((p) => !/^[ZX]/.test(procState(p)) && !others.has(p));
const sub = subRange("/etc/subuid", "user")!;
const subg = subRange("/etc/subgid", "user")!;
const MAPS = `0 ${user.uid} 1\n1 ${sub.start} 65536\n0 ${user.gid} 1\n1 ${subg.start} 65536\n`;
const squeeze = (s: string) => s.split("\n").map((l) => l.trim().split(/\s+/).join(" ")).join("\n");

afterAll(async () => {
  await imageCli("user", ["--data-root", store, "rmi", "-f", IMAGE]);
  killHolders();
  removeTree(dir);
});

describe("shared user namespace (rootless, subordinate ids)", () => {
  test("load the image", async () => {
    noHolder();
    const r = await imageCli("user", ["--data-root", store, "load", "-i", `${dir}/img.tar`]);
    expect(r.stderr).toBe("");
  });

  test("the first run makes it, the next joins it: same namespace and maps, other namespaces private", async () => {
    const script = "for n in user mnt pid net; do readlink /proc/self/ns/$n; done; echo pid=$$; cat /proc/self/uid_map /proc/self/gid_map";
    const a = await run([IMAGE, "sh", "-c", script]);
    expect(a.stderr).toBe("");
    expect(a.code).toBe(0);
    expect(live().length).toBe(1);
    const b = await run([IMAGE, "sh", "-c", script]);
    expect(b.code).toBe(0);
    const [ua] = a.stdout.split("\n");
    const [ub, mb, pb, nb] = b.stdout.split("\n");
    expect(ub).toBe(ua!);
    // its own mount, pid and net namespaces: not the holder's (which are the host's); (two
    // containers one after the other may get the same inode numbers: the first one's were freed)
    const holderNs = (t: string) => readlinkSync(`/proc/${holderPid()}/ns/${t}`);
    expect(holderNs("mnt")).toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(mb).not.toBe(holderNs("mnt"));
    expect(pb).not.toBe(holderNs("pid"));
    expect(nb).not.toBe(holderNs("net"));
    // PID 1 of its own pid namespace, with the subordinate range mapped
    expect(b.stdout).toContain("pid=1\n");
    expect(squeeze(b.stdout.slice(b.stdout.indexOf("pid=1\n") + 6))).toBe(MAPS);
    // the namespace is the holder's
    const holder = holderPid();
    expect(live()).toEqual([holder]);
    expect(`user:[${readlinkSync(`/proc/${holder}/ns/user`).match(/\d+/)![0]}]`).toBe(ua!);
  });

  test("the holder keeps no file, cwd or terminal of whoever started it", () => {
    const holder = holderPid();
    expect(readFileSync(`/proc/${holder}/comm`, "utf8")).toBe("bunker-userns\n");
    const fds = readdirSync(`/proc/${holder}/fd`).map((fd) => readlinkSync(`/proc/${holder}/fd/${fd}`));
    expect(fds).toEqual(["/dev/null", "/dev/null", "/dev/null"]);
    expect(readlinkSync(`/proc/${holder}/cwd`)).toBe("/");
    // a session of its own, so a terminal's hang-up or ^C does not reach it
    const stat = readFileSync(`/proc/${holder}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    expect(Number(f[3])).toBe(holder); // session id
    expect(Number(f[4])).toBe(0); // no controlling terminal
    // small: a static C program, not a copy of bunker
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${holder}/status`, "utf8"))![1]);
    expect(rss).toBeLessThan(1024);
  });

  test("exit status, a missing command, a detached container with exec and stop, in the joined namespace", async () => {
    expect((await run([IMAGE, "sh", "-c", "exit 7"])).code).toBe(7);
    const nf = await run([IMAGE, "no-such-command"]);
    expect(nf.code).toBe(127);
    expect(nf.stderr).toBe('bunker: exec "no-such-command": executable file not found in $PATH: ENOENT (No such file or directory) [no-such-command] — check the command and the image\'s PATH\n');
    const d = await run(["-d", "--name", "shared-d", IMAGE, "sleep", "300"]);
    expect(d.stderr).toBe("");
    expect(d.code).toBe(0);
    const e = await cli("exec", "shared-d", "sh", "-c", "cat /proc/1/comm; readlink /proc/self/ns/user");
    expect(e.stderr).toBe("");
    expect(e.stdout).toBe(`bunker-init\n${readlinkSync(`/proc/${holderPid()}/ns/user`)}\n`);
    expect((await cli("stop", "-t", "2", "shared-d")).code).toBe(0);
    expect((await cli("rm", "shared-d")).code).toBe(0);
  });

  test("a signal to bunker reaches the container (it is bunker's child, not the intermediate's)", async () => {
    const proc = spawnBunkerAs("user", ["--data-root", store, "run", "-v", `${dir}:/out`, IMAGE, "sh", "-c", "trap 'echo got TERM > /out/term; exit 3' TERM; echo x > /out/ready; while :; do sleep 0.1; done"]);
    expect(await waitForFile(`${dir}/ready`)).toBe(true);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(3);
    expect(readFileSync(`${dir}/term`, "utf8")).toBe("got TERM\n");
  });

  // (a killed holder is not used for this: where pid 1 does not reap, as on the
  // development host, its zombie still holds the namespace and is joined)
  test("a holder that is gone is replaced; a holder file naming another process is ignored, that process left alone", async () => {
    noHolder();
    const a = await run([IMAGE, "readlink", "/proc/self/ns/user"]);
    expect(a.stderr).toBe("");
    expect(live()).toEqual([holderPid()]);
    expect(a.stdout.trim()).toBe(readlinkSync(`/proc/${holderPid()}/ns/user`));
    // the file names a sleep of the test user (its namespace has the host's identity map)
    const sleeper = spawnAs("user", asUserArgv("user", ["sleep", "60"]));
    await Bun.sleep(50);
    killHolders();
    writeFileSync(holderFile, `${sleeper.pid} 1\n`);
    // nor does `bunker __end-userns` signal it (its start time and name are not the holder's)
    const end = Bun.spawnSync(bunkerArgv("user", ["__end-userns"]), { env: envFor("user") });
    expect([end.exitCode, end.stdout.toString()]).toEqual([0, ""]);
    expect(procState(sleeper.pid)).not.toMatch(/^[ZX]/);
    const b = await run([IMAGE, "cat", "/proc/self/uid_map"]);
    expect(b.stderr).toBe("");
    expect(squeeze(b.stdout)).toBe(MAPS.split("\n").slice(0, 2).join("\n") + "\n");
    expect(procState(sleeper.pid)).not.toMatch(/^[ZX]/);
    expect(holderPid()).not.toBe(sleeper.pid);
    sleeper.kill("SIGKILL");
  });

  test("concurrent first runs make one holder", async () => {
    noHolder();
    const rs = await Promise.all([0, 1, 2, 3].map(() => run([IMAGE, "readlink", "/proc/self/ns/user"])));
    for (const r of rs) expect(r.code).toBe(0);
    expect(new Set(rs.map((r) => r.stdout)).size).toBe(1);
    expect(live().length).toBe(1);
  });

  test("BUNKER_SHARED_USERNS=0: a user namespace of its own, with the same maps", async () => {
    const r = await run([IMAGE, "sh", "-c", "readlink /proc/self/ns/user; cat /proc/self/uid_map /proc/self/gid_map"], { BUNKER_SHARED_USERNS: "0" });
    expect(r.stderr).toBe("");
    const [ns, ...maps] = r.stdout.split("\n");
    expect(ns).not.toBe(readlinkSync(`/proc/${holderPid()}/ns/user`));
    expect(squeeze(maps.join("\n"))).toBe(MAPS);
  });
});

describe("an image's writable layer is a tmpfs of the container's own", () => {
  test("writes, deletes (whiteouts) and an emptied directory (opaque) work; nothing lands on the host", async () => {
    const script = [
      "grep ' / ' /proc/self/mountinfo | grep -o 'upperdir=[^,]*'",
      "echo new > /new-file && cat /new-file",
      "rm /del/keep && ls /del | wc -l",
      "rm -r /opq && mkdir /opq && ls -a /opq | wc -l",
      "ls -a $(dirname $(grep ' / ' /proc/self/mountinfo | grep -o 'upperdir=[^,]*' | cut -d= -f2)) 2>&1 | head -1",
    ].join("; ");
    const r = await run(["--name", "tmpfs-upper", IMAGE, "sh", "-c", script]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    // on a tmpfs of its own from Linux 6.6 (user xattrs on tmpfs), before that in the state dir
    expect(lines[0]).toBe(`upperdir=${user.runtimeDir}/bunker/tmpfs-upper/${tmpfsHasUserXattrs() ? "rootfs/" : ""}upper`);
    expect(lines.slice(1, 4)).toEqual(["new", "0", "2"]);
    // gone with the container: the state dir went, and nothing was written under it on the host
    expect(existsSync(`${user.runtimeDir}/bunker/tmpfs-upper`)).toBe(false);
  });

  test("while it runs, the host sees an empty mount point, not the container's files", async () => {
    const proc = spawnBunkerAs("user", ["--data-root", store, "run", "--name", "tmpfs-live", "-v", `${dir}:/out`, IMAGE, "sh", "-c", "trap 'exit 0' TERM; echo secret > /written; echo x > /out/live; while :; do sleep 0.1; done"]);
    expect(await waitForFile(`${dir}/live`)).toBe(true);
    const state = `${user.runtimeDir}/bunker/tmpfs-live`;
    expect(readdirSync(`${state}/rootfs`)).toEqual([]);
    if (tmpfsHasUserXattrs()) expect(existsSync(`${state}/upper`)).toBe(false);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(existsSync(state)).toBe(false);
  });
});
