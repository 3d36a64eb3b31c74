// OCI linux.resources (v1-style numbers) -> cgroup v2 interface files,
// converted the way crun does (docs/crun.1.md, "CGROUP v2" and
// src/libcrun/cgroup-resources.c).  Pure: a list of (file, value) writes.
import type { Resources } from "../oci/spec.ts";
import { BunkerError } from "../errors.ts";

export interface CgroupWrite {
  file: string;
  value: string;
  /** the flag or OCI field it came from, for error messages */
  from: string;
}

/** OCI uses -1 (and for some fields 0) for "no limit". */
const isUnlimited = (n: number) => n < 0;

/** cpu.shares [2..262144] -> cpu.weight [1..10000], crun >= 1.23 (and runc >= 1.3):
 *  a quadratic in log2(shares) that maps 2->1, 1024->100 (both defaults) and 262144->10000. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(Math.pow(10, exponent));
}

/** blkio.weight [10..1000] -> io.weight [1..10000] (crun's linear map). */
export function blkioWeightToIoWeight(w: number): number {
  if (w === 0) return 0;
  return Math.round(1 + ((w - 10) * 9999) / 990);
}

/** memory.swap in OCI is memory+swap (v1 memsw); v2 wants swap alone. */
export function swapMax(limit: number | undefined, swap: number): string {
  if (isUnlimited(swap)) return "max";
  if (limit === undefined || isUnlimited(limit)) {
    throw new BunkerError("linux.resources.memory.swap needs memory.limit too (swap counts memory+swap)", {
      errno: "EINVAL",
      path: "linux.resources.memory.swap",
      fix: "set --memory as well, or use --memory-swap -1",
    });
  }
  if (swap < limit) {
    throw new BunkerError(`memory+swap (${swap}) is smaller than the memory limit (${limit})`, {
      errno: "EINVAL",
      path: "linux.resources.memory.swap",
      fix: "--memory-swap must be at least --memory (or -1 for unlimited swap)",
    });
  }
  return String(swap - limit);
}

const num = (n: number) => (isUnlimited(n) ? "max" : String(n));

/** Files a cgroup may be given through linux.resources.unified (not the ones bunker manages). */
function checkUnifiedKey(key: string): void {
  const managed = new Set(["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type", "cgroup.kill", "cgroup.freeze", "cgroup.events", "cgroup.controllers"]);
  if (!/^[a-z0-9_]+\.[A-Za-z0-9_.]+$/.test(key) || managed.has(key)) {
    throw new BunkerError(`linux.resources.unified: "${key}" is not a cgroup v2 interface file bunker may set`, {
      errno: "EINVAL",
      path: `linux.resources.unified.${key}`,
      fix: "use a file name like memory.high or cpu.weight",
    });
  }
}

function unsupported(field: string, why: string): never {
  throw new BunkerError(`${field} cannot be applied on cgroup v2 (${why})`, {
    errno: "EOPNOTSUPP",
    path: field,
    fix: "remove it from the configuration",
  });
}

/**
 * The cgroup v2 writes for R, in an order the kernel accepts (cpuset before
 * the rest, memory.max before memory.swap.max).  linux.resources.unified is
 * applied last and wins, as in crun.
 */
export function resourceWrites(r: Resources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const put = (file: string, value: string, from: string) => {
    const i = w.findIndex((x) => x.file === file);
    if (i >= 0) w.splice(i, 1);
    w.push({ file, value, from });
  };
  const cpu = r.cpu;
  if (cpu?.cpus) put("cpuset.cpus", cpu.cpus, "linux.resources.cpu.cpus");
  if (cpu?.mems) put("cpuset.mems", cpu.mems, "linux.resources.cpu.mems");

  const m = r.memory;
  if (m) {
    if (m.reservation !== undefined) put("memory.low", num(m.reservation), "linux.resources.memory.reservation");
    if (m.limit !== undefined) put("memory.max", num(m.limit), "linux.resources.memory.limit");
    if (m.swap !== undefined) put("memory.swap.max", swapMax(m.limit, m.swap), "linux.resources.memory.swap");
    if (m.disableOOMKiller) unsupported("linux.resources.memory.disableOOMKiller", "v2 has no per-cgroup OOM-killer switch");
    // swappiness, kernel, kernelTCP, useHierarchy: v1-only knobs that v2 has
    // no file for; crun and runc skip them too (kernel memory is always
    // accounted in memory.max on v2).
  }

  if (cpu) {
    if (cpu.shares !== undefined && cpu.shares !== 0) put("cpu.weight", String(sharesToWeight(cpu.shares)), "linux.resources.cpu.shares");
    if (cpu.quota !== undefined || cpu.period !== undefined) {
      const quota = cpu.quota === undefined || cpu.quota <= 0 ? "max" : String(cpu.quota);
      put("cpu.max", `${quota} ${cpu.period && cpu.period > 0 ? cpu.period : 100000}`, "linux.resources.cpu.quota");
    }
    if (cpu.burst !== undefined) put("cpu.max.burst", String(cpu.burst), "linux.resources.cpu.burst");
    if (cpu.idle !== undefined) put("cpu.idle", String(cpu.idle), "linux.resources.cpu.idle");
    if (cpu.realtimeRuntime || cpu.realtimePeriod) unsupported("linux.resources.cpu.realtimeRuntime", "v2 has no realtime group scheduling for non-root cgroups");
  }

  const b = r.blockIO;
  if (b) {
    if (b.weight !== undefined && b.weight !== 0) put("io.weight", `default ${blkioWeightToIoWeight(b.weight)}`, "linux.resources.blockIO.weight");
    if (b.leafWeight) unsupported("linux.resources.blockIO.leafWeight", "v1-only");
    const dev = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;
    const weights = (b.weightDevice ?? []).filter((d) => d.weight).map((d) => `${dev(d)} ${blkioWeightToIoWeight(d.weight!)}`);
    if (weights.length) put("io.weight", [...(b.weight ? [`default ${blkioWeightToIoWeight(b.weight)}`] : []), ...weights].join("\n"), "linux.resources.blockIO.weightDevice");
    // io.max takes one line per device with any of rbps/wbps/riops/wiops
    const max = new Map<string, string[]>();
    const add = (list: { major: number; minor: number; rate: number }[] | undefined, key: string) => {
      for (const d of list ?? []) max.set(dev(d), [...(max.get(dev(d)) ?? []), `${key}=${d.rate}`]);
    };
    add(b.throttleReadBpsDevice, "rbps");
    add(b.throttleWriteBpsDevice, "wbps");
    add(b.throttleReadIOPSDevice, "riops");
    add(b.throttleWriteIOPSDevice, "wiops");
    if (max.size) put("io.max", [...max].map(([d, kv]) => `${d} ${kv.join(" ")}`).join("\n"), "linux.resources.blockIO.throttle*");
  }

  if (r.pids && r.pids.limit !== 0) put("pids.max", num(r.pids.limit), "linux.resources.pids.limit");

  for (const h of r.hugepageLimits ?? []) put(`hugetlb.${h.pageSize}.max`, String(h.limit), "linux.resources.hugepageLimits");
  for (const [dev, l] of Object.entries(r.rdma ?? {})) {
    const kv = [l.hcaHandles !== undefined ? `hca_handle=${l.hcaHandles}` : "", l.hcaObjects !== undefined ? `hca_object=${l.hcaObjects}` : ""].filter(Boolean);
    if (kv.length) put("rdma.max", `${dev} ${kv.join(" ")}`, "linux.resources.rdma");
  }
  if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) unsupported("linux.resources.network", "net_cls/net_prio are v1-only");
  // linux.resources.devices: v2 enforces device rules with eBPF, which needs
  // CAP_SYS_ADMIN in the initial namespace.  A rootless container cannot
  // mknod and only sees the device nodes bunker binds into it, so the
  // (usually default "deny all, allow the standard nodes") list is met by
  // construction; crun does the same when rootless.

  for (const [k, v] of Object.entries(r.unified ?? {})) {
    checkUnifiedKey(k);
    put(k, v, `linux.resources.unified.${k}`);
  }
  return w;
}

/** The controller that owns an interface file ("memory.max" -> "memory"; "cgroup.*" -> none). */
export function controllerOf(file: string): string | undefined {
  const c = file.slice(0, file.indexOf("."));
  return c === "cgroup" ? undefined : c;
}

/** Controllers needed for WRITES, in a stable order. */
export function controllersFor(writes: CgroupWrite[]): string[] {
  const order = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];
  const set = new Set(writes.map((x) => controllerOf(x.file)).filter((c): c is string => !!c));
  return [...set].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

/** True when R asks for any limit at all (so "no cgroup" is no longer fine). */
export function hasLimits(r: Resources | undefined): boolean {
  return !!r && resourceWrites(r).length > 0;
}

/** The `run` flag behind each OCI field, so errors name what the user typed. */
const FLAG_OF: Record<string, string> = {
  "linux.resources.memory.limit": "--memory",
  "linux.resources.memory.reservation": "--memory-reservation",
  "linux.resources.memory.swap": "--memory-swap",
  "linux.resources.cpu.quota": "--cpus",
  "linux.resources.cpu.shares": "--cpu-shares",
  "linux.resources.cpu.cpus": "--cpuset-cpus",
  "linux.resources.cpu.mems": "--cpuset-mems",
  "linux.resources.pids.limit": "--pids-limit",
  "linux.resources.unified.cpu.weight": "--cpu-weight",
  "linux.resources.unified.io.weight": "--io-weight",
};

/** "memory.max (--memory, linux.resources.memory.limit)" */
/** the value a new cgroup has anyway (cpu shares 1024 = weight 100, no limit): needs no cgroup to hold */
const KERNEL_DEFAULTS: Readonly<Record<string, string>> = {
  "cpu.weight": "100", "cpu.idle": "0", "cpu.max.burst": "0", "memory.max": "max", "memory.high": "max",
  "memory.swap.max": "max", "memory.low": "0", "memory.min": "0", "pids.max": "max", "io.weight": "default 100",
};

export function isKernelDefault(w: CgroupWrite): boolean {
  if (w.file === "cpu.max") return w.value.startsWith("max ");
  return KERNEL_DEFAULTS[w.file] === w.value;
}

export function describeWrite(w: CgroupWrite): string {
  const f = FLAG_OF[w.from];
  return `${w.file} (${f ? `${f}, ` : ""}${w.from})`;
}
