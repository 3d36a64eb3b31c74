// cgroup v2 for containers: find a cgroup bunker may write, create the
// container's cgroup in it and apply limits — or say exactly why not.
//
// Order (issue 4):
//  1. an explicit --cgroup-parent / linux.cgroupsPath;
//  2. bunker's own cgroup, when delegated to the caller: the container gets
//     OWN/bunker-ID, and the processes of OWN move to OWN/bunker.leaf when the
//     no-internal-process rule requires it (a later run from that leaf uses
//     OWN again, so nesting never grows);
//  3. a systemd transient scope with Delegate=yes (--cgroup-manager systemd,
//     or automatically when limits were asked for, (2) is not possible and a
//     systemd bus is there), then as (2) inside it;
//  4. none: fine without limits; with limits, an error naming the controller.
// A host with v1 hierarchies mounted (hybrid or legacy) counts as "none":
// bunker never creates cgroups there.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import type { Resources } from "../oci/spec.ts";
import { BunkerError, fromSysError, errnoCode } from "../errors.ts";
import { cgroupDir, parentDir, parseLayout, parseSelfCgroup, resolveCgroupPath, type CgroupLayout } from "./locate.ts";
import { controllersFor, describeWrite, isKernelDefault, resourceWrites, type CgroupWrite } from "./resources.ts";
import { applyWrites, CgroupV2, controllers, enableForChildren, isDelegated, LEAF, missingControllers, writeCgroupFile, type ContainerCgroup } from "./cgroupfs.ts";
import { formatBytes } from "./stats.ts";
import { processIds } from "../sys/idmap.ts";
import { filterOf } from "../loops.ts";

export type { ContainerCgroup } from "./cgroupfs.ts";
export type { Stats } from "./stats.ts";
export { resourcesFromRunFlags, parseBytes } from "./flags.ts";

export interface CreateCgroupOptions {
  /** container id (the cgroup is named bunker-ID) */
  id: string;
  resources?: Resources;
  /** docker's --cgroup-parent: the container's cgroup is PARENT/bunker-ID */
  parent?: string;
  /** OCI linux.cgroupsPath: the container's cgroup itself */
  cgroupsPath?: string;
  manager?: "cgroupfs" | "systemd" | "disabled";
  /** memory.oom.group (default true): an OOM kill takes the whole container */
  oomKillGroup?: boolean;
  /** why the container runs without a cgroup although one was named (for --debug / --log) */
  onNote?: (m: string) => void;
  /** the caller's environment: where systemd's bus is (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR); without it no systemd scope is asked for */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Controllers worth having even without limits: they make `stats` useful. */
const NICE_TO_HAVE = ["cpu", "memory", "pids", "io"];

interface Probe {
  uid: number;
  layout: CgroupLayout;
  /** bunker's cgroup as /proc/self/cgroup shows it */
  self?: string;
}

function probe(): Probe {
  try {
    return {
      uid: processIds().uid,
      layout: parseLayout(readFileSync("/proc/self/mountinfo", "latin1")),
      self: parseSelfCgroup(readFileSync("/proc/self/cgroup", "latin1")),
    };
  } catch (e) {
    throw fromSysError("cannot read /proc/self (is /proc mounted?)", e, { path: "/proc/self/mountinfo" });
  }
}

/** Why this layout gives no cgroup v2 to use, or undefined when it does. */
export function layoutProblem(layout: CgroupLayout): string | undefined {
  switch (layout.kind) {
    case "unified": return undefined;
    case "hybrid": return `cgroup v2 at ${layout.mount!.mountPoint} shares the machine with cgroup v1 (hybrid layout; the controllers belong to v1 at ${layout.v1Mounts.slice(0, 2).join(", ")}${layout.v1Mounts.length > 2 ? ", …" : ""})`;
    case "legacy": return "only cgroup v1 is mounted";
    case "none": return "no cgroup2 file system is mounted";
  }
}

function noCgroup(writes: CgroupWrite[], reason: string, fix: string): BunkerError {
  const need = controllersFor(writes);
  const files = writes.map(describeWrite).join(", ");
  return new BunkerError(`cannot apply ${files}: no ${need.join(" ")} controller for this container: ${reason}`, { errno: "EOPNOTSUPP", fix });
}

/** The cgroup a container's cgroup goes next to: our own, or its parent if we sit in bunker's leaf. */
function homeOf(mount: NonNullable<CgroupLayout["mount"]>, self: string | undefined): string | undefined {
  const own = self === undefined ? undefined : cgroupDir(mount, self);
  if (own?.endsWith(`/${LEAF}`)) return parentDir(own, mount.mountPoint);
  return own;
}

function build(target: string, home: string | undefined, mountPoint: string, writes: CgroupWrite[], oomKillGroup: boolean): CgroupV2 {
  if (!target.startsWith(mountPoint + "/")) {
    throw new BunkerError("the container's cgroup must be below the cgroup2 mount", { errno: "EINVAL", path: target });
  }
  const required = controllersFor(writes);
  // the existing ancestor to start from, and the dirs to create below it
  const chain: string[] = [];
  let base = parentDir(target, mountPoint)!;
  while (!existsSync(base)) {
    chain.unshift(base);
    base = parentDir(base, mountPoint)!;
  }
  let want = [...required, ...NICE_TO_HAVE.filter((c) => !required.includes(c))];
  for (const dir of [base, ...chain]) {
    if (dir !== base) mkdirCgroup(dir);
    const missing = enableForChildren(dir, want, { mountPoint, home });
    const missingRequired = missing.filter((c) => required.includes(c));
    if (missingRequired.length) {
      let owner = "";
      try {
        owner = ` (owned by uid ${statSync(dir).uid})`;
      } catch {
        // only for the message
      }
      throw missingControllers(missingRequired, writes, dir, `is not available in ${dir}${owner}, and enabling it is not delegated to uid ${processIds().uid}`);
    }
    want = want.filter((c) => !missing.includes(c));
  }
  const created = mkdirCgroup(target);
  const cg = new CgroupV2(target, mountPoint);
  if (!created && cg.populated()) {
    throw new BunkerError("the container's cgroup already exists and has processes", { errno: "EBUSY", path: target, fix: "use another container id or cgroup path" });
  }
  try {
    if (oomKillGroup && want.includes("memory")) writeCgroupFile(`${target}/memory.oom.group`, "1");
    applyWrites(target, writes); // controllers were enabled down the path above
  } catch (e) {
    if (created) cg.remove();
    throw fromSysError("cannot set up the container's cgroup", e, { path: target });
  }
  return cg;
}

/** mkdir; false if it already existed. */
function mkdirCgroup(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if (errnoCode(e) === "EEXIST") return false;
    throw fromSysError("cannot create a cgroup", e, {
      path: dir,
      fix: errnoCode(e) === "EACCES" ? "the parent cgroup is not delegated to this user: choose a --cgroup-parent you own" : undefined,
    });
  }
}

/**
 * Creates the container's cgroup and applies its limits.  null = the
 * container runs without a cgroup of its own (no limits were asked for and
 * none is available, or manager "disabled").  Call before clone; the
 * launcher then calls addProcess(pid) before it releases the child.
 */
/** /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, as a loop: no regular expression on run's path (src/loops.ts) */
function isCgroupName(id: string): boolean {
  if (!id) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && (i === 0 || !(c === 95 || c === 46 || c === 45))) return false;
  }
  return true;
}

export async function createCgroup(opts: CreateCgroupOptions): Promise<ContainerCgroup | null> {
  // none asked for (most runs): no writes, without resourceWrites' first call (a cold function is linked whole)
  const writes = opts.resources ? resourceWrites(opts.resources) : [];
  // a limit is never dropped silently: without a cgroup only values a cgroup has anyway may pass
  const limits = filterOf(writes, (w) => !isKernelDefault(w));
  if (opts.manager === "disabled") {
    if (limits.length) throw noCgroup(limits, "it runs without one (--cgroup-manager disabled)", "drop the limit, or let bunker use a cgroup (--cgroup-manager cgroupfs|systemd)");
    return null;
  }
  if (!isCgroupName(opts.id)) {
    throw new BunkerError(`container id "${opts.id}" cannot name a cgroup`, { errno: "EINVAL", fix: "use letters, digits, _ . -" });
  }
  const oomKillGroup = opts.oomKillGroup ?? true;
  const explicit = opts.cgroupsPath ?? opts.parent;
  let p = probe();
  const problem = layoutProblem(p.layout);
  if (problem) {
    // what podman, dockerd and containerd send on every create (a cgroupsPath, cpu shares 1024):
    // nothing to enforce, so the container runs without a cgroup of its own, as on a host without one
    if (!limits.length) {
      if (explicit !== undefined || writes.length) opts.onNote?.(`no cgroup for this container (${explicit !== undefined ? `the cgroup ${explicit} is not created` : "none is created"}): ${problem}; no limit was asked for`);
      return null;
    }
    throw noCgroup(limits, problem, "boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1), or drop the limit");
  }
  const mount = p.layout.mount!;
  const name = `bunker-${opts.id}`;

  // 1. explicit path: use it or fail, never fall back
  if (explicit !== undefined) {
    const home = homeOf(mount, p.self) ?? mount.mountPoint;
    let target: string;
    try {
      target = opts.cgroupsPath !== undefined
        ? resolveCgroupPath(mount.mountPoint, home, opts.cgroupsPath)
        : `${resolveCgroupPath(mount.mountPoint, home, opts.parent!)}/${name}`;
    } catch (e) {
      throw new BunkerError(`bad cgroup path: ${(e as Error).message}`, { errno: "EINVAL", path: explicit });
    }
    return build(target, homeOf(mount, p.self), mount.mountPoint, writes, oomKillGroup);
  }

  // 2. our own cgroup, if delegated
  let home = homeOf(mount, p.self);
  let why: string;
  // looked up only when needed: the common path never pays for it
  // the systemd and D-Bus code (~16 KB) is loaded only then
  const bus = async () => (opts.manager === "cgroupfs" || !opts.env ? undefined : (await import("./systemd.ts")).systemdAvailable(opts.env, p.uid));
  if (opts.manager !== "systemd" && home && isDelegated(home, p.uid)) {
    try {
      return build(`${home}/${name}`, home, mount.mountPoint, writes, oomKillGroup);
    } catch (e) {
      // a controller missing here may still come with a systemd scope
      if (!(e instanceof BunkerError && e.errnoName === "EOPNOTSUPP" && writes.length && (await bus()))) throw e;
      why = e.message;
    }
  } else {
    let owner = "";
    try {
      if (home) owner = `, owned by uid ${statSync(home).uid}`;
    } catch {
      // only for the message
    }
    why = home ? `bunker's cgroup ${p.self} is not delegated to uid ${p.uid}${owner}` : `bunker's cgroup ${p.self ?? "(unknown)"} is not visible under ${mount.mountPoint}`;
  }

  // 3. systemd: only when asked for, or when limits need it (a D-Bus round trip costs)
  const busPath = opts.manager === "systemd" || writes.length ? await bus() : undefined;
  if (opts.manager === "systemd" || busPath) {
    if (!busPath) {
      throw new BunkerError("--cgroup-manager systemd: no systemd to ask", { errno: "ENOENT", path: "/run/systemd/system", fix: "start a user systemd (loginctl enable-linger), or use --cgroup-manager cgroupfs" });
    }
    await (await import("./systemd.ts")).enterTransientScope(busPath, `${name}.scope`, `bunker container ${opts.id}`);
    p = probe();
    home = homeOf(mount, p.self);
    if (!home) throw new BunkerError("the systemd scope is not visible under the cgroup2 mount", { errno: "ENOENT", path: mount.mountPoint });
    return build(`${home}/${name}`, home, mount.mountPoint, writes, oomKillGroup);
  }

  // 4. none
  if (!limits.length) return null;
  throw noCgroup(limits, why, "run bunker from a delegated cgroup (systemd-run --user --scope -p Delegate=yes …, or Delegate= for user@.service), or drop the limit");
}

/** Reopens a container's cgroup from its path (saved in the state dir) for update/pause/kill/stats. */
export function openCgroup(path: string): ContainerCgroup & { memoryMax(): number | "max"; populated(): boolean } {
  const layout = parseLayout(readFileSync("/proc/self/mountinfo", "latin1"));
  const mp = layout.mount?.mountPoint;
  if (layoutProblem(layout) || !mp || !path.startsWith(mp + "/")) {
    throw new BunkerError("not a cgroup v2 directory", { errno: "EINVAL", path, fix: "the container state may be from another boot; delete it" });
  }
  if (!existsSync(`${path}/cgroup.procs`)) {
    throw new BunkerError("the container's cgroup is gone", { errno: "ENOENT", path, fix: "the container has stopped; delete it" });
  }
  return new CgroupV2(path, mp);
}

/** The line `run` prints when the kernel OOM-killed the container. */
export function oomMessage(cg: ContainerCgroup): string {
  const max = (cg as CgroupV2).memoryMax?.() ?? "max";
  return `container was killed: out of memory (memory.max=${formatBytes(max)})`;
}

/** For `bunker check`: can containers get a cgroup here, and with which controllers?  Read-only. */
export async function cgroupSupport(env: Readonly<Record<string, string | undefined>>): Promise<{ usable: boolean; detail: string; controllers: string[] }> {
  const p = probe();
  const problem = layoutProblem(p.layout);
  if (problem) return { usable: false, detail: problem, controllers: [] };
  const mount = p.layout.mount!;
  const home = homeOf(mount, p.self);
  if (!home || !isDelegated(home, p.uid)) {
    const bus = (await import("./systemd.ts")).systemdAvailable(env, p.uid);
    return {
      usable: !!bus,
      detail: bus ? `bunker's cgroup ${p.self} is not delegated; limits will use a systemd scope (via ${bus})` : `bunker's cgroup ${p.self} is not delegated to uid ${p.uid} and no user systemd is reachable: limits cannot be applied`,
      controllers: [],
    };
  }
  // what the container's cgroup can get: enabled here, or enable-able from the parent we own
  const ctrls = new Set(controllers(home));
  const up = parentDir(home, mount.mountPoint);
  if (up && isDelegated(up, p.uid)) for (const c of controllers(up)) ctrls.add(c);
  return { usable: true, detail: `delegated cgroup ${home}`, controllers: [...ctrls] };
}
