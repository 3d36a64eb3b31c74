// containerd (Debian's, with its runc v2 shim and ctr) driving dist/bunker as
// the runc binary.  Root only by nature: a private containerd (own root,
// state and socket under /tmp, native snapshotter, CRI off) serves an image
// built offline from busybox-static.
//
// Cgroups: on a host with cgroup v1 hierarchies (hybrid, like the machine
// this was written on) the shim would load the container's v1 cgroups and
// register an OOM eventfd in the memory hierarchy (a write to its
// cgroup.event_control).  So containerd runs in a private mount namespace in
// which /sys/fs/cgroup is unmounted (only there): containerd, its shims and
// bunker see no cgroup file system at all, and the start script refuses to
// run containerd if any cgroup mount is still visible.  ctr passes
// `--cgroup ""` (no linux.cgroupsPath) and `--cpu-shares 0` (no limit that
// bunker would have to refuse without a cgroup).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunkerBinary, isRoot, makeTempDir, removeTree, runAs } from "../lib/index.ts";
import { busyboxArchive } from "../lib/image-builder.ts";
import { cgroupDirs, noCgroupsPreamble } from "../lib/cgroup-guard.ts";

const missing = ["containerd", "ctr", "containerd-shim-runc-v2", "unshare"].filter((b) => Bun.which(b) === null);
const skipReason = !isRoot() ? "not root (containerd runs as root)" : missing.length ? `not installed: ${missing.join(", ")} (apt-get install -y containerd)` : undefined;
if (skipReason) console.log(`containerd tests skipped: ${skipReason}`);
const d = skipReason ? describe.skip : describe;

const IMAGE = "localhost/bunker-bb:latest";
const NS = "bunkertest";

d("containerd (ctr, runc v2 shim) with bunker as the runc binary (root only)", () => {
  let base: string, sock: string, runcRoot: string, cgroupsBefore: string[];
  let daemon: ReturnType<typeof Bun.spawn>;
  const ids: string[] = [];
  const ctr = (args: string[], timeoutMs = 60_000) =>
    runAs("root", ["ctr", "-a", sock, "-n", NS, ...args], { env: { CONTAINERD_SNAPSHOTTER: "native" }, timeoutMs });
  /** what every `ctr run` needs: bunker as the runc binary, its state dir, no cgroup */
  const runFlags = () => ["--cgroup", "", "--cpu-shares", "0", "--runc-binary", bunkerBinary(), "--runc-root", runcRoot];
  const newId = () => {
    const id = `ctd${ids.length}-${process.pid}`;
    ids.push(id);
    return id;
  };
  const bunkerState = (id: string) => runAs("root", [bunkerBinary(), "--root", join(runcRoot, NS), "state", id]);
  /** the shim's view when something failed: containerd's log (debug level) */
  const daemonLog = () => Bun.file(join(base, "containerd.log")).text();

  beforeAll(async () => {
    cgroupsBefore = cgroupDirs();
    base = makeTempDir("bunker-containerd");
    sock = join(base, "containerd.sock");
    runcRoot = join(base, "runc");
    const config = join(base, "config.toml");
    writeFileSync(
      config,
      [
        "version = 2",
        `root = "${base}/root"`,
        `state = "${base}/state"`,
        // no CRI (it would want CNI and its own cgroup set-up), only the native snapshotter
        `disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.overlayfs"]`,
        `[grpc]\n  address = "${sock}"`,
        `[ttrpc]\n  address = "${sock}.ttrpc"`,
        `[debug]\n  level = "debug"`,
        "",
      ].join("\n"),
    );
    const start = join(base, "start.sh");
    writeFileSync(
      start,
      noCgroupsPreamble("containerd") +
        `exec containerd --config ${config}\n`,
    );
    writeFileSync(join(base, "image.tar"), busyboxArchive(IMAGE, ["sh", "echo", "cat", "sleep", "hostname", "id", "ls", "true"]));
    const log = Bun.file(join(base, "containerd.log"));
    daemon = Bun.spawn(["unshare", "--mount", "--propagation", "private", "sh", start], { stdout: log, stderr: log, stdin: "ignore" });
    let up = false;
    for (let i = 0; i < 100 && !up && daemon.exitCode === null; i++) {
      await Bun.sleep(100);
      up = existsSync(sock) && (await ctr(["version"], 5000)).code === 0;
    }
    expect(up, `containerd did not come up:\n${await daemonLog()}`).toBe(true);
    const imp = await ctr(["images", "import", join(base, "image.tar")]);
    expect(imp.code, imp.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const id of ids) {
      await ctr(["task", "kill", "-s", "SIGKILL", id], 10_000);
      await ctr(["task", "delete", "--force", id], 10_000);
      await ctr(["containers", "delete", id], 10_000);
    }
    if (daemon) {
      daemon.kill("SIGTERM");
      await daemon.exited;
    }
    if (base) removeTree(base);
  });

  test("ctr run --rm IMAGE ID echo hi", async () => {
    const r = await ctr(["run", "--rm", ...runFlags(), IMAGE, newId(), "echo", "hi"]);
    expect(r.stderr, await daemonLog()).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
  });

  test("a failing command's exit status comes back through the shim", async () => {
    const r = await ctr(["run", "--rm", ...runFlags(), IMAGE, newId(), "sh", "-c", "echo failing >&2; exit 7"]);
    expect(r.stderr).toBe("failing\n");
    expect(r.code).toBe(7);
  });

  test("run -d, task exec, task ps, task kill, task delete (bunker's state follows)", async () => {
    const id = newId();
    const run = await ctr(["run", "-d", ...runFlags(), IMAGE, id, "sleep", "300"]);
    expect(run.stderr, await daemonLog()).toBe("");
    expect(run.code).toBe(0);
    const ls = await ctr(["task", "ls"]);
    const row = ls.stdout.split("\n").find((l) => l.startsWith(`${id} `))!;
    expect(row).toMatch(/\s+RUNNING$/);
    const pid = Number(row.split(/\s+/)[1]);
    const st = JSON.parse((await bunkerState(id)).stdout);
    expect(st.status).toBe("running");
    expect(st.pid).toBe(pid);
    const ex = await ctr(["task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo in $(cat /proc/1/comm); exit 3"]);
    expect(ex.stdout).toBe("in sleep\n");
    expect(ex.code).toBe(3);
    const ps = await ctr(["task", "ps", id]);
    expect(ps.stdout).toMatch(new RegExp(`^${pid}\\s`, "m"));
    // no cgroup here: pause is refused with bunker's reason, the task goes on running
    const pause = await ctr(["task", "pause", id]);
    expect(pause.code).not.toBe(0);
    expect(pause.stderr).toContain(`pause: container "${id}" has no cgroup`);
    expect(pause.stderr).toContain("pause needs one (the freezer)");
    expect((await ctr(["task", "ls"])).stdout).toMatch(new RegExp(`^${id}\\s+${pid}\\s+RUNNING$`, "m"));
    expect((await ctr(["task", "kill", "-s", "SIGKILL", id])).code).toBe(0);
    let status = "";
    for (let i = 0; i < 100 && status !== "STOPPED"; i++) {
      await Bun.sleep(50);
      status = (await ctr(["task", "ls"])).stdout.split("\n").find((l) => l.startsWith(`${id} `))?.split(/\s+/)[2] ?? "";
    }
    expect(status).toBe("STOPPED");
    const del = await ctr(["task", "delete", id]);
    expect(del.code).toBe(0);
    expect(del.stderr).toContain("exit code 137");
    expect((await bunkerState(id)).stderr).toContain("does not exist");
    expect((await ctr(["containers", "delete", id])).code).toBe(0);
    // the shim's clean-up `delete --force` of the deleted container did not fail
    expect(await daemonLog()).not.toMatch(new RegExp(`failed to remove runc container[^\\n]*${id}`));
  });

  test("no cgroup was created on the host", () => {
    expect(cgroupDirs()).toEqual(cgroupsBefore);
  });
});
