import { describe, expect, test } from "bun:test";
import { buildPlan } from "../../src/plan/build.ts";
import { withSharedMemory } from "../../src/plan/finalize.ts";
import { parseMountOptions } from "../../src/plan/mount-options.ts";
import * as K from "../../src/plan/types.ts";
import { runSpec, type RunOptions } from "../../src/oci/run-spec.ts";
import { singleMaps } from "../../src/sys/idmap.ts";
import { encodePlan } from "../../src/sys/plan-encode.ts";
import { resolveConfinement } from "../../src/oci/confine.ts";

function opts(over: Partial<RunOptions> = {}): RunOptions {
  return {
    rootPath: "/r",
    args: ["/bin/sh", "-c", "true"],
    env: [],
    cwd: "/",
    user: { uid: 0, gid: 0 },
    hostname: "box",
    tty: false,
    volumes: [],
    tmpfs: [],
    readOnly: false,
    network: "none",
    maps: singleMaps(1000, 1000),
    etcFiles: { hosts: "/state/hosts" },
    confinement: resolveConfinement({ capAdd: [], capDrop: [], privileged: false, securityOpts: [] }, 0),
    ...over,
  };
}

const kinds = (p: K.Plan) => p.ops.map((o) => o.op);

describe("buildPlan from run flags", () => {
  test("all namespaces by default, in the order the shim needs", () => {
    const p = buildPlan(runSpec(opts()), { stdinNull: true });
    expect(p.cloneFlags).toBe(K.CLONE_NEWUSER | K.CLONE_NEWNS | K.CLONE_NEWPID | K.CLONE_NEWIPC | K.CLONE_NEWUTS | K.CLONE_NEWCGROUP | K.CLONE_NEWNET);
    const k = kinds(p);
    expect(k[0]).toBe("rootfs");
    expect(k.indexOf("pivot")).toBeGreaterThan(k.lastIndexOf("mount"));
    expect(k.indexOf("lo-up")).toBeGreaterThan(0);
    expect(k.indexOf("hostname")).toBeLessThan(k.indexOf("pivot"));
    // run confines by default: no_new_privs after the user switch
    expect(k.slice(-4)).toEqual(["user", "chdir", "nnp", "exec"]);
    // non-dumpable from the end of set-up to execve (CVE-2019-5736), after the /proc/self writes
    expect(k.indexOf("nondumpable")).toBe(k.indexOf("setsid") + 1);
    expect(k.indexOf("close-fds")).toBe(k.indexOf("nondumpable") + 1);
    expect(k).toContain("stdin-null");
    expect(p.ops[0]).toEqual({ op: "rootfs", path: "/r", mount: undefined, propagation: K.MS_PRIVATE });
    expect(p.ops.at(-1)).toEqual({ op: "exec", file: "/bin/sh", args: ["/bin/sh", "-c", "true"], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=box", "HOME=/root"] });
  });

  test("a network helper's run holds once set up, before non-dumpable and the process ops; no other run does", () => {
    const k = kinds(buildPlan(runSpec(opts()), { stdinNull: true, holdBeforeProcess: true }));
    expect(k.filter((o) => o === "hold")).toHaveLength(1);
    // after every mount (the helper's start overlaps them), while the helper may still open /proc/PID/ns
    expect(k.indexOf("hold")).toBeGreaterThan(k.indexOf("pivot"));
    expect(k.indexOf("hold")).toBeGreaterThan(k.lastIndexOf("mask"));
    expect(k.indexOf("nondumpable")).toBe(k.indexOf("hold") + 1);
    expect(k.indexOf("hold")).toBeLessThan(k.indexOf("user"));
    expect(kinds(buildPlan(runSpec(opts()), { stdinNull: true }))).not.toContain("hold");
  });

  test("fresh proc, /dev tmpfs with bound device nodes, private devpts, sysfs with its own netns", () => {
    const p = buildPlan(runSpec(opts()));
    const mounts = p.ops.filter((o) => o.op === "mount") as Extract<K.Op, { op: "mount" }>[];
    expect(mounts.map((m) => `${m.fstype}:${m.target}`)).toEqual([
      "proc:/proc", "tmpfs:/dev", "devpts:/dev/pts", "tmpfs:/dev/shm", "mqueue:/dev/mqueue", "sysfs:/sys", "cgroup2:/sys/fs/cgroup",
    ]);
    expect(mounts.find((m) => m.fstype === "devpts")!.data).toBe("newinstance,ptmxmode=0666,mode=0620");
    expect(mounts.find((m) => m.fstype === "sysfs")!.flags & K.MS_RDONLY).toBe(K.MS_RDONLY);
    const binds = p.ops.filter((o) => o.op === "bind").map((o) => (o as { target: string }).target);
    expect(binds).toEqual(["/etc/hosts", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
      // Docker's read-only paths, after pivot
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
    expect(p.ops).toContainEqual({ op: "symlink", target: "pts/ptmx", link: "/dev/ptmx" });
  });

  test("--net host: no network namespace, no lo-up, /sys is a read-only bind", () => {
    const p = buildPlan(runSpec(opts({ network: "host" })));
    expect(p.cloneFlags & K.CLONE_NEWNET).toBe(0);
    expect(kinds(p)).not.toContain("lo-up");
    expect(p.ops).toContainEqual({ op: "bind", source: "/sys", target: "/sys", recursive: true, attrSet: K.MOUNT_ATTR_RDONLY | K.MOUNT_ATTR_NOSUID | K.MOUNT_ATTR_NOEXEC | K.MOUNT_ATTR_NODEV, attrClr: 0 });
  });

  test("volumes, :ro, --tmpfs, --read-only, -t, --init, --preserve-fds", () => {
    const p = buildPlan(
      runSpec(opts({ volumes: [{ source: "/h", destination: "/c", readonly: true }, { source: "/w", destination: "/w", readonly: false }], tmpfs: [{ destination: "/scratch", options: ["size=1m"] }], readOnly: true, tty: true, consoleSize: { height: 30, width: 100 } })),
      { init: true, preserveFds: 2 },
    );
    expect(p.ops).toContainEqual({ op: "bind", source: "/h", target: "/c", recursive: true, attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0 });
    expect(p.ops).toContainEqual({ op: "bind", source: "/w", target: "/w", recursive: true, attrSet: 0, attrClr: 0 });
    expect(p.ops).toContainEqual({ op: "mount", source: "tmpfs", target: "/scratch", fstype: "tmpfs", flags: K.MS_NOSUID | K.MS_NODEV, data: "size=1m", optional: false });
    const k = kinds(p);
    expect(k.indexOf("setattr")).toBeGreaterThan(k.indexOf("pivot"));
    expect(p.ops).toContainEqual({ op: "setattr", path: "/", attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0, recursive: false });
    expect(p.ops).toContainEqual({ op: "pty", rows: 30, cols: 100 });
    expect(k).not.toContain("setsid");
    expect(k.slice(-5)).toEqual(["user", "chdir", "nnp", "init", "exec"]);
    expect(p.ops).toContainEqual({ op: "close-fds", preserve: 2 });
  });

  test("host sandbox: tmpfs root, symlinks recreated, host dirs read-only, private /tmp, cwd read-write", () => {
    const spec = runSpec(opts({ rootPath: "/state/root", hostSandbox: { binds: ["/usr", "/etc"], cwd: "/home/me/src" } }));
    const p = buildPlan(spec, { rootMount: { fstype: "tmpfs", data: "mode=0755" }, symlinks: { "/bin": "usr/bin" } });
    expect(p.ops[0]).toEqual({ op: "rootfs", path: "/state/root", mount: { fstype: "tmpfs", data: "mode=0755" }, propagation: K.MS_PRIVATE });
    expect(p.ops[1]).toEqual({ op: "symlink", target: "usr/bin", link: "/bin" });
    const ro = K.MOUNT_ATTR_RDONLY | K.MOUNT_ATTR_NOSUID | K.MOUNT_ATTR_NODEV;
    expect(p.ops).toContainEqual({ op: "bind", source: "/usr", target: "/usr", recursive: true, attrSet: ro, attrClr: 0 });
    expect(p.ops).toContainEqual({ op: "mount", source: "tmpfs", target: "/tmp", fstype: "tmpfs", flags: K.MS_NOSUID | K.MS_NODEV, data: "mode=1777", optional: false });
    expect(p.ops).toContainEqual({ op: "bind", source: "/home/me/src", target: "/home/me/src", recursive: true, attrSet: 0, attrClr: 0 });
  });

  test("user and gid 5 for devpts only when mapped", () => {
    const spec = runSpec(opts({ maps: { uid: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }], gid: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }] }, user: { uid: 33, gid: 33 } }));
    const p = buildPlan(spec);
    expect((p.ops.find((o) => o.op === "mount" && o.fstype === "devpts") as { data: string }).data).toContain("gid=5");
    expect(p.ops).toContainEqual({ op: "user", uid: 33, gid: 33, groups: [] });
  });
});

describe("mount options", () => {
  test("flags, attributes, propagation and data", () => {
    const o = parseMountOptions(["rbind", "ro", "nosuid", "rslave", "size=1m", "mode=755"], "bind");
    expect(o.bind && o.recursive).toBe(true);
    expect(o.attrSet).toBe(K.MOUNT_ATTR_RDONLY | K.MOUNT_ATTR_NOSUID);
    expect(o.propagation).toBe(K.MS_SLAVE | K.MS_REC);
    expect(o.data).toBe("size=1m,mode=755");
    const rw = parseMountOptions(["ro", "rw"]);
    expect(rw.flags & K.MS_RDONLY).toBe(0);
    expect(rw.attrClr).toBe(K.MOUNT_ATTR_RDONLY);
  });
});

describe("tmpcopyup and startContainer hooks", () => {
  test("tmpcopyup on a tmpfs: hold the covered dir, mount, copy; notmpcopyup and non-tmpfs mounts ignore it", () => {
    const spec = runSpec(opts());
    spec.mounts!.push({ destination: "/etc/app", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "mode=755"] });
    spec.mounts!.push({ destination: "/plain", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "notmpcopyup"] });
    spec.mounts!.push({ destination: "/b", type: "bind", source: "/x", options: ["rbind", "tmpcopyup"] });
    const ops = buildPlan(spec).ops;
    const i = ops.findIndex((o) => o.op === "copyup-open");
    expect(ops.slice(i, i + 3)).toEqual([
      { op: "copyup-open", path: "/etc/app" },
      { op: "mount", source: "tmpfs", target: "/etc/app", fstype: "tmpfs", flags: 0, data: "mode=755", optional: false },
      { op: "copyup", path: "/etc/app" },
    ]);
    expect(ops.filter((o) => o.op === "copyup").length).toBe(1);
    expect(parseMountOptions(["tmpcopyup"], "tmpfs").data).toBe("");
  });

  test("startContainer hooks run after the fifo wait and before exec, with the state around the host pid", () => {
    const spec = runSpec(opts({ env: ["PATH=/bin", "A=1"] }));
    const state = { ociVersion: "1.2.0", id: "c1", status: "created", pid: 0, bundle: "/b", annotations: { k: "v" } };
    const hooks = [{ path: "/bin/h1", args: ["h1", "x"], timeout: 3 }, { path: "/bin/h2", env: ["B=2"] }];
    const p = buildPlan(spec, { execFifo: "/s/exec.fifo", startContainer: { hooks, state } });
    const k = kinds(p);
    expect(k.slice(-4)).toEqual(["fifo-wait", "hook", "hook", "exec"]);
    const [h1, h2] = p.ops.filter((o) => o.op === "hook") as Extract<K.Op, { op: "hook" }>[];
    expect(h1).toMatchObject({ index: 0, path: "/bin/h1", args: ["h1", "x"], env: spec.process!.env, timeout: 3 });
    expect(h2).toMatchObject({ index: 1, path: "/bin/h2", args: ["/bin/h2"], env: ["B=2"], timeout: 0 });
    expect(JSON.parse(`${h1!.stateBeforePid}4242${h1!.stateAfterPid}`)).toEqual({ ...state, pid: 4242 });
  });
});

describe("plan encoding (c/shim.h layout)", () => {
  test("header, op records, 8-byte aligned NUL-terminated strings", () => {
    const buf = encodePlan({ cloneFlags: K.CLONE_NEWUSER, ops: [{ op: "hostname", name: "abc" }, { op: "rlimit", resource: 7, soft: 10n, hard: -1n }] });
    const dv = new DataView(buf.buffer);
    expect(dv.getUint32(0, true)).toBe(0x31504b42);
    expect(dv.getUint32(4, true)).toBe(2);
    expect(dv.getBigUint64(8, true)).toBe(BigInt(K.CLONE_NEWUSER));
    // op 1: code 8, 0 ints, 1 string "abc" (4+3+1 = 8 bytes)
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true)]).toEqual([8, 0, 1]);
    expect(dv.getUint32(32, true)).toBe(3);
    expect(new TextDecoder().decode(buf.slice(36, 39))).toBe("abc");
    expect(buf[39]).toBe(0);
    // op 2 starts at 40: code 12, 3 ints
    expect([dv.getUint32(40, true), dv.getUint32(44, true)]).toEqual([12, 3]);
    expect(dv.getBigInt64(56, true)).toBe(7n);
    expect(dv.getBigInt64(72, true)).toBe(-1n);
    expect(buf.length).toBe(80);
  });
});

describe("linux.devices", () => {
  const rootSpec = () => {
    const spec = runSpec(opts());
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== "user");
    delete spec.linux!.uidMappings;
    delete spec.linux!.gidMappings;
    spec.linux!.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
    return spec;
  };
  const fuseOps = (p: K.Plan) => p.ops.filter((o) => ("path" in o && o.path === "/dev/fuse") || ("target" in o && o.target === "/dev/fuse"));

  test("root without a user namespace: made with mknod as asked", () => {
    expect(fuseOps(buildPlan(rootSpec()))).toEqual([{ op: "mknod", path: "/dev/fuse", mode: 0o20666, major: 10, minor: 229, uid: 0, gid: 0 }]);
  });

  test("bunker itself in a user namespace (rootless docker's root), the config without one: the host's node is bound", () => {
    expect(fuseOps(buildPlan(rootSpec(), { inUserNamespace: true }))).toEqual([
      { op: "bind", source: "/dev/fuse", target: "/dev/fuse", recursive: false, optional: false, attrSet: 0, attrClr: 0 },
    ]);
  });
});

// PR_SET_DUMPABLE is the memory's: a child sharing it (CLONE_VM) that turns non-dumpable turns its
// caller so too, which a process launching others for as long as it runs (bunker serve) must not be
describe("withSharedMemory", () => {
  const plan = (ops: K.Op[]): K.Plan => ({ cloneFlags: 0, ops } as unknown as K.Plan);
  const exec: K.Op = { op: "exec", file: "/bin/true", args: ["true"], env: [] } as K.Op;
  test("CLONE_VM unless an init lives on, or the caller must stay dumpable and the child turns non-dumpable", () => {
    expect(withSharedMemory(plan([{ op: "nondumpable" }, exec])).cloneFlags & K.CLONE_VM).toBe(K.CLONE_VM);
    expect(withSharedMemory(plan([{ op: "nondumpable" }, exec]), true).cloneFlags & K.CLONE_VM).toBe(0);
    expect(withSharedMemory(plan([exec]), true).cloneFlags & K.CLONE_VM).toBe(K.CLONE_VM);
    expect(withSharedMemory(plan([{ op: "init" } as K.Op, exec])).cloneFlags & K.CLONE_VM).toBe(0);
  });
});
