// cgroup v2: path finding from fake /proc text, OCI -> v2 conversion, run flags.
// Nothing here writes to a cgroup file system (the real ones are tested in the VM: tests/vm).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cgroupDir, parentDir, parseControllers, parseLayout, parseSelfCgroup, resolveCgroupPath } from "../../src/cgroup/locate.ts";
import { blkioWeightToIoWeight, controllersFor, hasLimits, resourceWrites, sharesToWeight, swapMax } from "../../src/cgroup/resources.ts";
import { parseBytes, resourcesFromRunFlags } from "../../src/cgroup/flags.ts";
import { resourcesFromParsed, RESOURCE_FLAGS } from "../../src/cli/resource-flags.ts";
import { formatBytes, parseIoStat, parseKeyValues, parseLimit } from "../../src/cgroup/stats.ts";
import { createCgroup, layoutProblem } from "../../src/cgroup/index.ts";
import { BunkerError } from "../../src/errors.ts";
import { parseFlags } from "../../src/cli/args.ts";

const UNIFIED = `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
25 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const HYBRID = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

describe("locate", () => {
  test("unified layout, mount point from mountinfo", () => {
    expect(parseLayout(UNIFIED)).toEqual({ kind: "unified", mount: { mountPoint: "/sys/fs/cgroup", root: "/" }, v1Mounts: [] });
  });
  test("hybrid layout is recognised (and is not usable)", () => {
    const l = parseLayout(HYBRID);
    expect(l.kind).toBe("hybrid");
    expect(l.mount?.mountPoint).toBe("/sys/fs/cgroup/unified");
    expect(layoutProblem(l)).toContain("hybrid");
    expect(layoutProblem(l)).toContain("/sys/fs/cgroup/cpu");
  });
  test("legacy and none", () => {
    expect(parseLayout(HYBRID.split("\n").filter((l) => !l.includes("cgroup2")).join("\n")).kind).toBe("legacy");
    expect(parseLayout("22 1 0:21 / / rw - ext4 /dev/sda1 rw\n").kind).toBe("none");
  });
  test("cgroup2 mounted elsewhere, with an escaped space", () => {
    const l = parseLayout("50 22 0:40 / /run/my\\040cg rw - cgroup2 none rw\n");
    expect(l.mount).toEqual({ mountPoint: "/run/my cg", root: "/" });
  });
  test("prefers /sys/fs/cgroup among several cgroup2 mounts", () => {
    const l = parseLayout("50 22 0:40 / /mnt/cg rw - cgroup2 none rw\n" + UNIFIED);
    expect(l.mount?.mountPoint).toBe("/sys/fs/cgroup");
  });
  test("optional fields before the separator", () => {
    const l = parseLayout("28 25 0:26 / /sys/fs/cgroup rw shared:9 master:2 - cgroup2 cgroup2 rw\n");
    expect(l.mount?.mountPoint).toBe("/sys/fs/cgroup");
  });
  test("own cgroup from /proc/self/cgroup (v2 line only)", () => {
    expect(parseSelfCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n")).toBe("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope");
    expect(parseSelfCgroup("4:memory:/a\n1:cpu:/\n0::/\n")).toBe("/");
    expect(parseSelfCgroup("4:memory:/a\n")).toBeUndefined();
  });
  test("cgroup path -> directory, with a mount of a subtree (cgroup namespace)", () => {
    const m = { mountPoint: "/sys/fs/cgroup", root: "/" };
    expect(cgroupDir(m, "/")).toBe("/sys/fs/cgroup");
    expect(cgroupDir(m, "/a/b")).toBe("/sys/fs/cgroup/a/b");
    const sub = { mountPoint: "/sys/fs/cgroup", root: "/ctr" };
    expect(cgroupDir(sub, "/ctr/x")).toBe("/sys/fs/cgroup/x");
    expect(cgroupDir(sub, "/other")).toBeUndefined();
    // outside our cgroup namespace
    expect(cgroupDir(m, "/../sibling")).toBeUndefined();
  });
  test("parentDir stops at the mount point", () => {
    expect(parentDir("/sys/fs/cgroup/a/b", "/sys/fs/cgroup")).toBe("/sys/fs/cgroup/a");
    expect(parentDir("/sys/fs/cgroup/a", "/sys/fs/cgroup")).toBe("/sys/fs/cgroup");
    expect(parentDir("/sys/fs/cgroup", "/sys/fs/cgroup")).toBeUndefined();
  });
  test("--cgroup-parent / cgroupsPath resolution", () => {
    expect(resolveCgroupPath("/sys/fs/cgroup", "/sys/fs/cgroup/u", "/x/y")).toBe("/sys/fs/cgroup/x/y");
    expect(resolveCgroupPath("/sys/fs/cgroup", "/sys/fs/cgroup/u", "x//y/")).toBe("/sys/fs/cgroup/u/x/y");
    expect(resolveCgroupPath("/sys/fs/cgroup", "/sys/fs/cgroup/u", "x/../z")).toBe("/sys/fs/cgroup/u/z");
    expect(() => resolveCgroupPath("/sys/fs/cgroup", "/sys/fs/cgroup/u", "../x")).toThrow();
  });
  test("controllers list", () => {
    expect([...parseControllers("cpuset cpu io memory pids\n")]).toEqual(["cpuset", "cpu", "io", "memory", "pids"]);
    expect(parseControllers("\n").size).toBe(0);
  });
});

describe("OCI resources -> cgroup v2", () => {
  const files = (r: Parameters<typeof resourceWrites>[0]) => Object.fromEntries(resourceWrites(r).map((w) => [w.file, w.value]));
  test("cpu shares -> weight (crun's formula: defaults and ends map exactly)", () => {
    expect(sharesToWeight(1024)).toBe(100);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(512)).toBe(59);
    expect(sharesToWeight(0)).toBe(0);
  });
  test("blkio weight -> io weight", () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
  });
  test("memory: limit, reservation, swap = memsw - limit", () => {
    expect(files({ memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 } })).toEqual({
      "memory.low": String(32 << 20),
      "memory.max": String(64 << 20),
      "memory.swap.max": String(32 << 20),
    });
    expect(files({ memory: { limit: -1, swap: -1 } })).toEqual({ "memory.max": "max", "memory.swap.max": "max" });
    expect(swapMax(100, 100)).toBe("0");
    expect(() => swapMax(100, 50)).toThrow(BunkerError);
    expect(() => swapMax(undefined, 50)).toThrow(/memory.limit/);
  });
  test("memory.max is written before memory.swap.max", () => {
    const order = resourceWrites({ memory: { swap: 200, limit: 100 } }).map((w) => w.file);
    expect(order.indexOf("memory.max")).toBeLessThan(order.indexOf("memory.swap.max"));
  });
  test("cpu quota/period -> cpu.max, cpuset first", () => {
    const w = resourceWrites({ cpu: { quota: 50000, period: 100000, cpus: "0", mems: "0", shares: 1024 } });
    expect(w[0]!.file).toBe("cpuset.cpus");
    expect(Object.fromEntries(w.map((x) => [x.file, x.value]))).toEqual({ "cpuset.cpus": "0", "cpuset.mems": "0", "cpu.max": "50000 100000", "cpu.weight": "100" });
    expect(files({ cpu: { quota: -1 } })).toEqual({ "cpu.max": "max 100000" });
    expect(files({ cpu: { period: 50000 } })).toEqual({ "cpu.max": "max 50000" });
  });
  test("pids, io, hugetlb, rdma", () => {
    expect(files({ pids: { limit: 10 } })).toEqual({ "pids.max": "10" });
    expect(files({ pids: { limit: -1 } })).toEqual({ "pids.max": "max" });
    expect(files({ pids: { limit: 0 } })).toEqual({});
    expect(files({ blockIO: { weight: 1000, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 5 }] } })).toEqual({
      "io.weight": "default 10000",
      "io.max": "8:0 rbps=1000 wiops=5",
    });
    expect(files({ hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }] })).toEqual({ "hugetlb.2MB.max": "4194304" });
    expect(files({ rdma: { mlx4_0: { hcaHandles: 2, hcaObjects: 3 } } })).toEqual({ "rdma.max": "mlx4_0 hca_handle=2 hca_object=3" });
  });
  test("unified passthrough wins over converted values", () => {
    expect(files({ memory: { limit: 100 }, unified: { "memory.max": "200", "memory.high": "150" } })).toEqual({ "memory.max": "200", "memory.high": "150" });
    expect(() => resourceWrites({ unified: { "cgroup.procs": "1" } })).toThrow(BunkerError);
    expect(() => resourceWrites({ unified: { "../x.max": "1" } })).toThrow(BunkerError);
  });
  test("v2-impossible requests fail instead of being ignored", () => {
    expect(() => resourceWrites({ memory: { disableOOMKiller: true } })).toThrow(/disableOOMKiller/);
    expect(() => resourceWrites({ cpu: { realtimeRuntime: 1000 } })).toThrow(/realtime/);
    expect(() => resourceWrites({ network: { classID: 1 } })).toThrow(/net_cls/);
  });
  test("device rules and v1-only memory knobs are not limits", () => {
    expect(hasLimits({ devices: [{ allow: false, access: "rwm" }], memory: { swappiness: 0 } })).toBe(false);
    expect(hasLimits(undefined)).toBe(false);
    expect(hasLimits({ pids: { limit: 5 } })).toBe(true);
  });
  test("needed controllers", () => {
    expect(controllersFor(resourceWrites({ memory: { limit: 1 }, cpu: { cpus: "0", quota: 1 }, pids: { limit: 1 }, unified: { "cgroup.max.depth": "2" } }))).toEqual(["cpuset", "cpu", "memory", "pids"]);
  });
});

describe("run flags -> resources", () => {
  test("sizes", () => {
    expect(parseBytes("512m", "--memory")).toBe(512 * 2 ** 20);
    expect(parseBytes("1g", "--memory")).toBe(2 ** 30);
    expect(parseBytes("1.5G", "--memory")).toBe(1.5 * 2 ** 30);
    expect(parseBytes("64MiB", "--memory")).toBe(64 * 2 ** 20);
    expect(parseBytes("100b", "--memory")).toBe(100);
    expect(parseBytes("4096", "--memory")).toBe(4096);
    expect(parseBytes("10k", "--memory")).toBe(10240);
    expect(() => parseBytes("lots", "--memory")).toThrow(/--memory: "lots" is not a size/);
    expect(() => parseBytes("-1", "--memory")).toThrow(BunkerError);
  });
  test("docker semantics", () => {
    const { resources, oomKillGroup } = resourcesFromRunFlags({ memory: "64m", cpus: "0.5", "pids-limit": "20", "cpuset-cpus": "0" });
    expect(oomKillGroup).toBe(true);
    expect(resources).toEqual({
      memory: { limit: 64 << 20, swap: 128 << 20 },
      cpu: { period: 100000, quota: 50000, cpus: "0" },
      pids: { limit: 20 },
    });
    expect(resourcesFromRunFlags({ memory: "64m", "memory-swap": "-1" }).resources?.memory).toEqual({ limit: 64 << 20, swap: -1 });
    expect(resourcesFromRunFlags({ memory: "64m", "memory-swap": "64m" }).resources?.memory).toEqual({ limit: 64 << 20, swap: 64 << 20 });
    expect(resourcesFromRunFlags({ "memory-reservation": "32m" }).resources).toEqual({ memory: { reservation: 32 << 20 } });
    expect(resourcesFromRunFlags({ "cpu-shares": "512" }).resources).toEqual({ cpu: { shares: 512 } });
    expect(resourcesFromRunFlags({ "cpu-weight": "50", "io-weight": "200" }).resources).toEqual({ unified: { "cpu.weight": "50", "io.weight": "default 200" } });
    expect(resourcesFromRunFlags({ "oom-kill-group": "false" })).toEqual({ resources: undefined, oomKillGroup: false });
    expect(resourcesFromRunFlags({})).toEqual({ resources: undefined, oomKillGroup: true });
  });
  test("--memory 64m ends as memory.max and memory.swap.max", () => {
    const w = resourceWrites(resourcesFromRunFlags({ memory: "64m" }).resources!);
    expect(w.map((x) => `${x.file}=${x.value}`)).toEqual([`memory.max=${64 << 20}`, `memory.swap.max=${64 << 20}`]);
  });
  test("bad values", () => {
    expect(() => resourcesFromRunFlags({ memory: "1m" })).toThrow(/too small/);
    expect(() => resourcesFromRunFlags({ "memory-swap": "1g" })).toThrow(/needs --memory/);
    expect(() => resourcesFromRunFlags({ cpus: "-1" })).toThrow(/--cpus/);
    expect(() => resourcesFromRunFlags({ "cpu-weight": "0" })).toThrow(/1 to 10000/);
    expect(() => resourcesFromRunFlags({ "pids-limit": "x" })).toThrow(/--pids-limit/);
  });
  test("through the generic flag parser", () => {
    const p = parseFlags(["--memory=128m", "--pids-limit", "5", "--oom-kill-group=false", "sh"], RESOURCE_FLAGS, "bunker run");
    expect(p.rest).toEqual(["sh"]);
    expect(resourcesFromParsed(p)).toEqual({ resources: { memory: { limit: 128 << 20, swap: 256 << 20 }, pids: { limit: 5 } }, oomKillGroup: false });
    // no resource flag (its own short path): what the full conversion gives for none
    const none = parseFlags(["sh"], RESOURCE_FLAGS, "bunker run");
    expect(resourcesFromParsed(none)).toEqual(resourcesFromRunFlags({}));
    expect(resourcesFromParsed(parseFlags(["--oom-kill-group=false", "sh"], RESOURCE_FLAGS, "bunker run"))).toEqual({ resources: undefined, oomKillGroup: false });
  });
});

describe("stats parsing", () => {
  test("key/values, limits, io.stat, sizes", () => {
    expect(parseKeyValues("usage_usec 10\nnr_throttled 2\n")).toEqual({ usage_usec: 10, nr_throttled: 2 });
    expect(parseLimit("max\n")).toBe("max");
    expect(parseLimit("4096\n")).toBe(4096);
    expect(parseIoStat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=5 wbytes=0 rios=1 wios=0\n")).toEqual({ rbytes: 15, wbytes: 20, rios: 2, wios: 2 });
    expect(formatBytes(64 * 2 ** 20)).toBe("64M");
    expect(formatBytes(2 ** 30)).toBe("1G");
    expect(formatBytes(1000)).toBe("1000");
    expect(formatBytes("max")).toBe("max");
  });
});

// Only where no cgroup can be written (this project's hosts are hybrid): the
// real decision path must say "none" without touching a cgroup file system.
const layout = parseLayout(readFileSync("/proc/self/mountinfo", "latin1"));
describe.if(layout.kind !== "unified")("on this non-v2 host", () => {
  test("no limits: no cgroup, no error", async () => {
    expect(await createCgroup({ id: "t1" })).toBeNull();
  });
  test("limits: an error that names the controller and the fix", async () => {
    const err = await createCgroup({ id: "t2", resources: { memory: { limit: 64 << 20 } } }).catch((e) => e);
    expect(err).toBeInstanceOf(BunkerError);
    const line = (err as BunkerError).format();
    expect(line).toContain("memory.max");
    expect(line).toContain("memory controller");
    expect(line).toContain("EOPNOTSUPP");
    expect(line).toContain("drop the limit");
  });
  test("a cgroupsPath and values a cgroup has anyway (what podman, dockerd, containerd send): no cgroup, a note", async () => {
    const notes: string[] = [];
    const resources = { cpu: { shares: 1024, quota: -1 }, memory: { limit: -1, swap: -1 }, pids: { limit: -1 } };
    expect(await createCgroup({ id: "t4", cgroupsPath: "/machine.slice/x", resources, onNote: (m) => notes.push(m) })).toBeNull();
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("the cgroup /machine.slice/x is not created");
    expect(notes[0]).toContain("no limit was asked for");
  });
  test("a real limit beside the defaults still fails, naming only the limit", async () => {
    const err = await createCgroup({ id: "t5", cgroupsPath: "/x", resources: { cpu: { shares: 1024 }, pids: { limit: 50 } } }).catch((e) => e);
    expect((err as BunkerError).format()).toMatch(/^bunker: cannot apply pids\.max \(--pids-limit, linux\.resources\.pids\.limit\): /);
  });
});

describe("--cgroup-manager disabled", () => {
  test("no limits, or only kernel defaults: null", async () => {
    expect(await createCgroup({ id: "t3", manager: "disabled" })).toBeNull();
    expect(await createCgroup({ id: "t3", manager: "disabled", resources: { cpu: { shares: 1024 } } })).toBeNull();
  });
  test("a limit is an error naming its flag, never dropped silently", async () => {
    const err = await createCgroup({ id: "t3", manager: "disabled", resources: { pids: { limit: 5 } } }).catch((e) => e);
    expect(err).toBeInstanceOf(BunkerError);
    expect((err as BunkerError).format()).toContain("pids.max (--pids-limit, linux.resources.pids.limit)");
    expect((err as BunkerError).format()).toContain("--cgroup-manager disabled");
  });
});

describe.if(layout.kind !== "unified")("cgroupSupport on this non-v2 host", () => {
  test("says why no cgroup is usable", async () => {
    const { cgroupSupport } = await import("../../src/cgroup/index.ts");
    const s = await cgroupSupport(process.env);
    expect(s.usable).toBe(false);
    expect(s.detail).toMatch(/hybrid|v1|no cgroup2/);
  });
});
