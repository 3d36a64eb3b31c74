// The thin file-system layer: one container's cgroup directory and the
// controller plumbing above it.  Decisions live in locate.ts/resources.ts;
// this file only reads and writes cgroup2 files and turns failures into
// BunkerErrors that name the file.
import { accessSync, closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeSync } from "../sys/fs-sync.ts";
import type { Resources } from "../oci/spec.ts";
import { BunkerError, fromSysError, errnoCode } from "../errors.ts";
import { parentDir, parseControllers } from "./locate.ts";
import { controllersFor, describeWrite, resourceWrites, type CgroupWrite } from "./resources.ts";
import { formatBytes, parseIoStat, parseKeyValues, parseLimit, type Stats } from "./stats.ts";

/** Where bunker moves the processes of a cgroup that must become "internal". */
export const LEAF = "bunker.leaf";

export interface ContainerCgroup {
  /** absolute path of the container's cgroup directory */
  readonly path: string;
  /** moves PID (and its threads) into the cgroup; call before the child is released */
  addProcess(pid: number): void;
  /** applies R to the live cgroup (the `update` command) */
  update(r: Resources): void;
  /** cgroup.freeze = 1, resolves when cgroup.events says frozen 1 */
  freeze(): Promise<void>;
  thaw(): void;
  /** cgroup.kill: SIGKILL to every process in the subtree */
  killAll(): void;
  /** the pids in cgroup.procs of the subtree (the container's processes, whatever pid namespace they are in) */
  pids(): number[];
  stats(): Stats;
  /** memory.events counted an OOM kill */
  oomKilled(): boolean;
  /** kills what is left and removes the cgroup (and any child cgroups the container made) */
  remove(): void;
}

export function readText(file: string): string {
  return readFileSync(file, "latin1");
}

/** Reads FILE, or undefined if it does not exist (controller not enabled, old kernel). */
function readOptional(file: string): string | undefined {
  try {
    return readText(file);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw fromSysError("cannot read cgroup file", e, { path: file });
  }
}

/** One write(2) of VALUE to an existing cgroup file (O_WRONLY: some files are write-only). */
export function writeCgroupFile(file: string, value: string): void {
  const fd = openSync(file, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

export function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Delegated to us: the directory is ours and we may move processes and enable controllers in it. */
export function isDelegated(dir: string, uid: number): boolean {
  try {
    return statSync(dir).uid === uid && canWrite(`${dir}/cgroup.procs`) && canWrite(`${dir}/cgroup.subtree_control`);
  } catch {
    return false;
  }
}

export function controllers(dir: string): Set<string> {
  return parseControllers(readOptional(`${dir}/cgroup.controllers`) ?? "");
}

/**
 * The no-internal-process rule: a cgroup that passes controllers on to
 * children must hold no processes itself.  Moves every process of DIR
 * into DIR/bunker.leaf (bunker itself and, when run from a shell that sits in
 * the same cgroup, that shell: the same thing systemd and docker-in-docker's
 * entrypoint do).
 */
function moveProcessesToLeaf(dir: string): void {
  const leaf = `${dir}/${LEAF}`;
  try {
    mkdirSync(leaf);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw fromSysError("cannot create a leaf cgroup for bunker's own processes", e, { path: leaf });
  }
  // a process may fork while we move its siblings: repeat until empty
  for (let round = 0; round < 10; round++) {
    const pids = readText(`${dir}/cgroup.procs`).split("\n").filter(Boolean);
    if (!pids.length) return;
    for (const pid of pids) {
      try {
        writeCgroupFile(`${leaf}/cgroup.procs`, pid);
      } catch (e) {
        if (errnoCode(e) !== "ESRCH") throw fromSysError(`cannot move process ${pid} into a leaf cgroup`, e, { path: `${leaf}/cgroup.procs` });
      }
    }
  }
}

export interface EnableContext {
  mountPoint: string;
  /** the one cgroup whose processes bunker may move into a leaf (its own home) */
  home?: string;
}

/**
 * Makes CTRLS usable by DIR's children (cgroup.subtree_control), first
 * enabling them further up where that is ours to do.  Returns the ones DIR
 * cannot get (not delegated).
 */
export function enableForChildren(dir: string, ctrls: string[], ctx: EnableContext): string[] {
  const enabled = parseControllers(readOptional(`${dir}/cgroup.subtree_control`) ?? "");
  const want = ctrls.filter((c) => !enabled.has(c));
  if (!want.length) return [];
  let avail = controllers(dir);
  if (want.some((c) => !avail.has(c))) {
    const up = parentDir(dir, ctx.mountPoint);
    if (up && canWrite(`${up}/cgroup.subtree_control`)) {
      enableForChildren(up, want.filter((c) => !avail.has(c)), { mountPoint: ctx.mountPoint });
      avail = controllers(dir);
    }
  }
  const ok = want.filter((c) => avail.has(c));
  if (ok.length) {
    const file = `${dir}/cgroup.subtree_control`;
    const line = ok.map((c) => `+${c}`).join(" ");
    try {
      writeCgroupFile(file, line);
    } catch (e) {
      if (errnoCode(e) === "EBUSY" && dir === ctx.home) {
        moveProcessesToLeaf(dir);
        writeCgroupFile(file, line);
      } else {
        throw fromSysError(`cannot enable the ${ok.join(", ")} controller${ok.length > 1 ? "s" : ""} for child cgroups`, e, {
          path: file,
          fix: errnoCode(e) === "EBUSY" ? "the cgroup has processes of its own (no-internal-process rule): use a --cgroup-parent without processes" : undefined,
        });
      }
    }
  }
  return want.filter((c) => !avail.has(c));
}

/** Writes the limit files (their controllers must be enabled already). */
export function applyWrites(dir: string, writes: CgroupWrite[]): void {
  for (const w of writes) {
    const file = `${dir}/${w.file}`;
    try {
      writeCgroupFile(file, w.value);
    } catch (e) {
      const code = errnoCode(e);
      throw fromSysError(`cannot set ${w.file}=${JSON.stringify(w.value)} (from ${w.from})`, e, {
        path: file,
        fix:
          code === "ENOENT" ? `this kernel or cgroup has no ${w.file}` :
          code === "EINVAL" || code === "ERANGE" ? "the value is out of range for this kernel" :
          code === "EACCES" || code === "EPERM" ? "the file is not delegated to this user" : undefined,
      });
    }
  }
}

const sleepSync = (ms: number) => Bun.sleepSync(ms);

export class CgroupV2 implements ContainerCgroup {
  constructor(readonly path: string, private readonly mountPoint: string) {}

  private file(name: string) {
    return `${this.path}/${name}`;
  }

  addProcess(pid: number): void {
    try {
      writeCgroupFile(this.file("cgroup.procs"), String(pid));
    } catch (e) {
      throw fromSysError("cannot move the container process into its cgroup", e, { path: this.file("cgroup.procs") });
    }
  }

  /** Applies WRITES (enabling controllers in the parent as needed). */
  apply(writes: CgroupWrite[]): void {
    const parent = parentDir(this.path, this.mountPoint);
    const need = controllersFor(writes);
    const missing = parent ? enableForChildren(parent, need, { mountPoint: this.mountPoint, home: parent }) : need;
    if (missing.length) throw missingControllers(missing, writes, this.path, "is not delegated to this cgroup");
    applyWrites(this.path, writes);
  }

  update(r: Resources): void {
    const m = r.memory;
    if (m?.swap !== undefined && m.limit === undefined) {
      // swap is memory+swap in OCI: convert against the current limit
      const cur = parseLimit(readText(this.file("memory.max")));
      r = { ...r, memory: { ...m, limit: cur === "max" ? -1 : cur } };
    }
    if (m?.checkBeforeUpdate && m.limit !== undefined && m.limit > 0) {
      const cur = Number(readOptional(this.file("memory.current")) ?? 0);
      if (cur > m.limit) {
        throw new BunkerError(`the container uses ${formatBytes(cur)} of memory, more than the new limit ${formatBytes(m.limit)}`, {
          errno: "EBUSY",
          path: this.file("memory.current"),
          fix: "choose a higher limit, or drop checkBeforeUpdate",
        });
      }
    }
    this.apply(resourceWrites(r));
  }

  async freeze(timeoutMs = 10000): Promise<void> {
    this.setFreeze("1");
    const deadline = Date.now() + timeoutMs;
    let wait = 1;
    while (parseKeyValues(readText(this.file("cgroup.events"))).frozen !== 1) {
      if (Date.now() > deadline) {
        throw new BunkerError("the container did not freeze in time", { errno: "ETIMEDOUT", path: this.file("cgroup.events"), fix: "a process may be stuck in the kernel (D state); try again" });
      }
      await Bun.sleep(wait);
      wait = Math.min(wait * 2, 20);
    }
  }

  thaw(): void {
    this.setFreeze("0");
  }

  private setFreeze(v: string) {
    try {
      writeCgroupFile(this.file("cgroup.freeze"), v);
    } catch (e) {
      throw fromSysError(v === "1" ? "cannot freeze the container" : "cannot thaw the container", e, {
        path: this.file("cgroup.freeze"),
        fix: errnoCode(e) === "ENOENT" ? "cgroup.freeze needs Linux 5.2 or later" : undefined,
      });
    }
  }

  pids(): number[] {
    return this.subtree().flatMap((dir) => (readOptional(`${dir}/cgroup.procs`) ?? "").split("\n").filter(Boolean).map(Number));
  }

  killAll(): void {
    try {
      writeCgroupFile(this.file("cgroup.kill"), "1");
      return;
    } catch (e) {
      if (errnoCode(e) === "ENOENT" && !this.exists()) return;
      if (errnoCode(e) !== "ENOENT") throw fromSysError("cannot kill the container's processes", e, { path: this.file("cgroup.kill") });
    }
    // before Linux 5.14: SIGKILL each process until the subtree is empty
    for (let round = 0; round < 100 && this.populated(); round++) {
      for (const dir of this.subtree()) {
        for (const pid of (readOptional(`${dir}/cgroup.procs`) ?? "").split("\n").filter(Boolean)) {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
      sleepSync(1);
    }
  }

  private exists(): boolean {
    try {
      return statSync(this.path).isDirectory();
    } catch {
      return false;
    }
  }

  populated(): boolean {
    const ev = readOptional(this.file("cgroup.events"));
    return ev !== undefined && parseKeyValues(ev).populated === 1;
  }

  /** The cgroup and every cgroup below it, deepest first. */
  private subtree(dir = this.path): string[] {
    const out: string[] = [];
    let entries: import("../sys/fs-sync.ts").Dirent[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw e;
    }
    for (const d of entries) if (d.isDirectory()) out.push(...this.subtree(`${dir}/${d.name}`));
    out.push(dir);
    return out;
  }

  memoryMax(): number | "max" {
    return parseLimit(readOptional(this.file("memory.max")) ?? "max");
  }

  stats(): Stats {
    const cpu = parseKeyValues(readOptional(this.file("cpu.stat")) ?? "");
    const s: Stats = {
      cpu: {
        usageUsec: cpu.usage_usec ?? 0,
        userUsec: cpu.user_usec ?? 0,
        systemUsec: cpu.system_usec ?? 0,
        ...(cpu.nr_periods !== undefined ? { nrPeriods: cpu.nr_periods, nrThrottled: cpu.nr_throttled, throttledUsec: cpu.throttled_usec } : {}),
      },
    };
    const current = readOptional(this.file("memory.current"));
    if (current !== undefined) {
      const peak = readOptional(this.file("memory.peak"));
      const stat = parseKeyValues(readOptional(this.file("memory.stat")) ?? "");
      s.memory = {
        current: Number(current),
        ...(peak !== undefined ? { peak: Number(peak) } : {}),
        max: this.memoryMax(),
        events: parseKeyValues(readOptional(this.file("memory.events")) ?? ""),
        stat: Object.fromEntries(["anon", "file", "kernel", "sock", "shmem"].filter((k) => k in stat).map((k) => [k, stat[k]!])),
      };
    }
    const pids = readOptional(this.file("pids.current"));
    if (pids !== undefined) {
      const peak = readOptional(this.file("pids.peak"));
      s.pids = { current: Number(pids), max: parseLimit(readOptional(this.file("pids.max")) ?? "max"), ...(peak !== undefined ? { peak: Number(peak) } : {}) };
    }
    const io = readOptional(this.file("io.stat"));
    if (io !== undefined) s.io = parseIoStat(io);
    return s;
  }

  oomKilled(): boolean {
    const ev = parseKeyValues(readOptional(this.file("memory.events")) ?? "");
    return (ev.oom_kill ?? 0) > 0 || (ev.oom_group_kill ?? 0) > 0;
  }

  remove(): void {
    for (let attempt = 0; ; attempt++) {
      try {
        for (const dir of this.subtree()) {
          try {
            rmdirSync(dir);
          } catch (e) {
            if (errnoCode(e) !== "ENOENT") throw e;
          }
        }
        return;
      } catch (e) {
        const code = errnoCode(e);
        if (code !== "EBUSY" || attempt >= 3) throw fromSysError("cannot remove the container's cgroup", e, { path: this.path });
        // still populated: kill, then wait for the kernel to empty it
        this.killAll();
        for (let i = 0; i < 500 && this.populated(); i++) sleepSync(2);
      }
    }
  }
}

/** The error for limits that cannot be applied because a controller is missing. */
export function missingControllers(missing: string[], writes: CgroupWrite[], where: string, why: string): BunkerError {
  const files = writes.filter((w) => missing.includes(w.file.slice(0, w.file.indexOf(".")))).map(describeWrite);
  const list = missing.join(" ");
  return new BunkerError(
    `cannot apply ${files.join(", ")}: the ${list} controller${missing.length > 1 ? "s" : ""} ${why}`,
    {
      errno: "EOPNOTSUPP",
      path: where,
      fix: `delegate it (systemctl edit user@.service: [Service] Delegate=${list}, then log in again), or drop the limit`,
    },
  );
}
