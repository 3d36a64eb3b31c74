// config.json: parse and validate before anything is created.  Every error
// names the file, the JSON path and the problem in one line, e.g.
//   config.json: linux.uidMappings[0].size: must be > 0
import { Checker, child, parseJsonObject } from "../json.ts";
import { findOf, someOf } from "../loops.ts";
import { utf8 } from "../sys/fs-core.ts";
import { capNumber } from "./caps.ts";
import { rlimitNumber } from "./rlimits.ts";
import { ACTIONS_WITH_ERRNO, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPS } from "./seccomp-names.ts";
import type { IDMapping, Namespace, NamespaceType, Process, Resources, Seccomp, Spec } from "./spec.ts";

export const NAMESPACE_TYPES: readonly NamespaceType[] = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"];
const CAP_SETS = ["bounding", "effective", "inheritable", "permitted", "ambient"] as const;
export const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
const PROPAGATIONS = ["shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"];
const DEVICE_TYPES = ["c", "b", "u", "p"];
const U32_MAX = 0xffffffff;

type Obj = Record<string, unknown>;

// ---- the spec, part by part ----

function checkMappings(c: Checker, v: unknown, path: string): IDMapping[] {
  const maps = c.objs(v, path, (o, p) => {
    const containerID = c.req(o, "containerID", p, (x, q) => c.uint(x, q, U32_MAX));
    const hostID = c.req(o, "hostID", p, (x, q) => c.uint(x, q, U32_MAX));
    const size = c.req(o, "size", p, (x, q) => c.int(x, q, 1, U32_MAX));
    if (containerID + size > U32_MAX + 1) c.fail(child(p, "size"), "containerID + size must be <= 4294967296");
    if (hostID + size > U32_MAX + 1) c.fail(child(p, "size"), "hostID + size must be <= 4294967296");
    return { containerID, hostID, size };
  });
  const overlap = (a: number, an: number, b: number, bn: number) => a < b + bn && b < a + an;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    for (let j = 0; j < i; j++) {
      const o = maps[j]!;
      if (overlap(m.containerID, m.size, o.containerID, o.size)) c.fail(child(path, i), `container IDs overlap ${child(path, j)}`);
      if (overlap(m.hostID, m.size, o.hostID, o.size)) c.fail(child(path, i), `host IDs overlap ${child(path, j)}`);
    }
  }
  return maps;
}

function checkMount(c: Checker, o: Obj, p: string): void {
  c.req(o, "destination", p, c.abs);
  c.opt(o, "type", p, c.str);
  c.opt(o, "source", p, c.str);
  c.opt(o, "options", p, c.strs);
  c.opt(o, "uidMappings", p, (x, q) => checkMappings(c, x, q));
  c.opt(o, "gidMappings", p, (x, q) => checkMappings(c, x, q));
}

function checkEnv(c: Checker, v: unknown, path: string): void {
  const env = c.strs(v, path);
  for (let i = 0; i < env.length; i++) if (env[i]!.indexOf("=") <= 0) c.fail(child(path, i), "must be NAME=VALUE");
}

/** execve's bounds on Linux: one string (MAX_ARG_STRLEN, 32 pages) */
const MAX_ARG_STRLEN = 131072;
/** and all of them with their pointers: a quarter of the stack limit (ARG_MAX), 2 MiB for the usual 8 MiB */
const DEFAULT_STACK_LIMIT = 8 << 20;

/**
 * args, env and cwd as execve and the shim's C strings can take them: no NUL
 * inside a string (it would end it early), no string longer than
 * MAX_ARG_STRLEN, and all of them within ARG_MAX; else execve fails with
 * E2BIG after everything is set up, which is caught here with the field named.
 */
function checkExecSize(c: Checker, o: Obj, p: string): void {
  let total = 0;
  for (const key of ["args", "env"]) {
    const list = (o[key] ?? []) as string[];
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.includes("\0")) c.fail(child(child(p, key), i), "must not contain a NUL character");
      // its UTF-8 bytes (Buffer.byteLength's count): a plain loop for the usual short string, the encoder for a long one
      const n = (s.length * 3 <= MAX_ARG_STRLEN ? utf8Length(s) : utf8(s).length) + 1;
      if (n > MAX_ARG_STRLEN) c.fail(child(child(p, key), i), `${n} bytes: longer than Linux lets one execve string be (MAX_ARG_STRLEN, ${MAX_ARG_STRLEN}): execve would fail with E2BIG`);
      total += n + 8;
    }
  }
  if ((o.cwd as string).includes("\0")) c.fail(child(p, "cwd"), "must not contain a NUL character");
  const stack = findOf((o.rlimits ?? []) as { type: string; soft: number }[], (r) => r.type === "RLIMIT_STACK")?.soft ?? DEFAULT_STACK_LIMIT;
  const argMax = Math.max(MAX_ARG_STRLEN, Math.floor(stack / 4));
  if (total > argMax) c.fail(child(p, "env"), `args and env take ${total} bytes: more than Linux's ARG_MAX for execve (${argMax}, a quarter of the ${stack}-byte stack limit): execve would fail with E2BIG`);
}

/** the UTF-8 length of S (as Buffer.byteLength: a lone surrogate is 3 bytes, a pair 4) */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) (n += 4), i++;
    else n += 3;
  }
  return n;
}

/** P: "process" in a config.json, "" for an `exec --process` file */
function checkProcess(c: Checker, v: unknown, p: string): void {
  const o = c.obj(v, p);
  const terminal = c.opt(o, "terminal", p, c.bool);
  c.opt(o, "consoleSize", p, (x, q) => {
    const s = c.obj(x, q);
    c.req(s, "height", q, c.uint);
    c.req(s, "width", q, c.uint);
    if (!terminal) c.fail(q, `requires ${child(p, "terminal")} to be true`);
  });
  // runc's leniency: a missing user, uid or gid is 0
  if (o.user === undefined) o.user = {};
  c.req(o, "user", p, (x, q) => {
    const u = c.obj(x, q);
    u.uid ??= 0;
    u.gid ??= 0;
    c.req(u, "uid", q, (y, r) => c.uint(y, r, U32_MAX));
    c.req(u, "gid", q, (y, r) => c.uint(y, r, U32_MAX));
    c.opt(u, "umask", q, (y, r) => c.uint(y, r, 0o7777));
    c.opt(u, "additionalGids", q, (y, r) => {
      const gids = c.arr(y, r);
      for (let i = 0; i < gids.length; i++) c.uint(gids[i], child(r, i), U32_MAX);
    });
    c.opt(u, "username", q, c.str);
  });
  const args = c.req(o, "args", p, c.strs);
  if (args.length === 0) c.fail(child(p, "args"), "must not be empty");
  c.opt(o, "commandLine", p, c.str);
  c.opt(o, "env", p, (x, q) => checkEnv(c, x, q));
  c.req(o, "cwd", p, c.abs);
  c.opt(o, "capabilities", p, (x, q) => {
    const caps = c.obj(x, q);
    for (const set of CAP_SETS) {
      c.opt(caps, set, q, (y, r) => {
        const names = c.strs(y, r);
        for (let i = 0; i < names.length; i++) if (capNumber(names[i]!) === undefined) c.fail(child(r, i), `unknown capability ${JSON.stringify(names[i])}`);
      });
    }
  });
  c.opt(o, "rlimits", p, (x, q) => {
    const seen = new Set<string>();
    c.objs(x, q, (rl, rp) => {
      const type = c.req(rl, "type", rp, c.str);
      if (rlimitNumber(type) === undefined) c.fail(child(rp, "type"), `unknown rlimit ${JSON.stringify(type)}`);
      if (seen.has(type)) c.fail(child(rp, "type"), `duplicate ${JSON.stringify(type)}`);
      seen.add(type);
      // 2^64 - 1 (RLIM_INFINITY) parses as 2^64
      const soft = c.req(rl, "soft", rp, (y, s) => c.uint(y, s, 2 ** 64));
      const hard = c.req(rl, "hard", rp, (y, s) => c.uint(y, s, 2 ** 64));
      if (soft > hard) c.fail(child(rp, "soft"), "must be <= hard");
    });
  });
  c.opt(o, "noNewPrivileges", p, c.bool);
  c.opt(o, "apparmorProfile", p, c.str);
  c.opt(o, "selinuxLabel", p, c.str);
  c.opt(o, "oomScoreAdj", p, (x, q) => {
    const n = c.int(x, q);
    if (n < -1000 || n > 1000) c.fail(q, "must be between -1000 and 1000");
  });
  checkExecSize(c, o, p);
}

function checkHooks(c: Checker, v: unknown): void {
  const o = c.obj(v, "hooks");
  for (const kind of HOOK_KINDS) {
    c.opt(o, kind, "hooks", (x, q) =>
      c.objs(x, q, (hook, hp) => {
        c.req(hook, "path", hp, c.abs);
        c.opt(hook, "args", hp, c.strs);
        c.opt(hook, "env", hp, (y, r) => checkEnv(c, y, r));
        c.opt(hook, "timeout", hp, (y, r) => c.int(y, r, 1));
      }),
    );
  }
}

function checkNamespaces(c: Checker, v: unknown, path: string): Namespace[] {
  const seen = new Set<string>();
  return c.objs(v, path, (o, p) => {
    const type = c.req(o, "type", p, c.str);
    if (!NAMESPACE_TYPES.includes(type as NamespaceType)) c.fail(child(p, "type"), `unknown namespace type ${JSON.stringify(type)}`);
    if (seen.has(type)) c.fail(child(p, "type"), `duplicate ${JSON.stringify(type)}`);
    seen.add(type);
    const nsPath = c.opt(o, "path", p, c.abs);
    return { type: type as NamespaceType, path: nsPath };
  });
}

function checkResources(c: Checker, v: unknown, path: string): void {
  const o = c.obj(v, path);
  c.opt(o, "devices", path, (x, q) =>
    c.objs(x, q, (dev, p) => {
      c.req(dev, "allow", p, c.bool);
      c.opt(dev, "type", p, (y, r) => {
        if (!["a", "c", "b"].includes(c.str(y, r))) c.fail(r, 'must be "a", "c" or "b"');
      });
      c.opt(dev, "major", p, (y, r) => c.int(y, r, -1));
      c.opt(dev, "minor", p, (y, r) => c.int(y, r, -1));
      c.opt(dev, "access", p, (y, r) => {
        if (!/^[rwm]*$/.test(c.str(y, r))) c.fail(r, 'must be made of "r", "w" and "m"');
      });
    }),
  );
  c.opt(o, "memory", path, (x, q) => {
    const m = c.ints(x, q, ["limit", "reservation", "swap", "kernel", "kernelTCP"], -1);
    c.opt(m, "swappiness", q, (y, r) => c.uint(y, r, 100));
    for (const k of ["disableOOMKiller", "useHierarchy", "checkBeforeUpdate"]) c.opt(m, k, q, c.bool);
  });
  c.opt(o, "cpu", path, (x, q) => {
    const cpu = c.ints(x, q, ["quota", "burst", "realtimeRuntime"], -1);
    for (const k of ["shares", "period", "realtimePeriod"]) c.opt(cpu, k, q, c.uint);
    c.opt(cpu, "idle", q, (y, r) => c.int(y, r, 0, 1));
    c.opt(cpu, "cpus", q, c.str);
    c.opt(cpu, "mems", q, c.str);
  });
  c.opt(o, "blockIO", path, (x, q) => {
    const b = c.ints(x, q, ["weight", "leafWeight"], 0);
    c.opt(b, "weightDevice", q, (y, r) => c.arr(y, r).forEach((d, i) => c.ints(d, child(r, i), ["major", "minor", "weight", "leafWeight"], 0)));
    for (const k of ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"]) {
      c.opt(b, k, q, (y, r) =>
        c.objs(y, r, (dev, p) => {
          for (const f of ["major", "minor", "rate"]) c.req(dev, f, p, c.uint);
        }),
      );
    }
  });
  c.opt(o, "hugepageLimits", path, (x, q) =>
    c.objs(x, q, (hp, p) => {
      c.req(hp, "pageSize", p, c.str);
      c.req(hp, "limit", p, c.uint);
    }),
  );
  c.opt(o, "network", path, (x, q) => {
    const n = c.ints(x, q, ["classID"], 0);
    c.opt(n, "priorities", q, (y, r) =>
      c.objs(y, r, (po, p) => {
        c.req(po, "name", p, c.str);
        c.req(po, "priority", p, c.uint);
      }),
    );
  });
  c.opt(o, "pids", path, (x, q) => c.req(c.obj(x, q), "limit", q, c.int));
  c.opt(o, "rdma", path, (x, q) => {
    for (const [k, r] of Object.entries(c.obj(x, q))) c.ints(r, child(q, k), ["hcaHandles", "hcaObjects"], 0);
  });
  c.opt(o, "unified", path, c.strMap);
}

function checkSeccomp(c: Checker, v: unknown, path: string): void {
  const o = c.obj(v, path);
  const action = (x: unknown, p: string): string => {
    const a = c.str(x, p);
    if (!(a in SECCOMP_ACTIONS)) c.fail(p, `unknown action ${JSON.stringify(a)}`);
    return a;
  };
  const errnoRet = (obj: Obj, p: string, key: string, act: string) =>
    c.opt(obj, key, p, (x, q) => {
      c.uint(x, q, 0xffff);
      if (!ACTIONS_WITH_ERRNO.includes(act)) c.fail(q, "only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
    });
  const def = c.req(o, "defaultAction", path, action);
  if (def === "SCMP_ACT_NOTIFY") c.fail(child(path, "defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action");
  errnoRet(o, path, "defaultErrnoRet", def);
  c.opt(o, "architectures", path, (x, q) =>
    c.strs(x, q).forEach((a, i) => {
      if (!SECCOMP_ARCHES.includes(a)) c.fail(child(q, i), `unknown architecture ${JSON.stringify(a)}`);
    }),
  );
  c.opt(o, "flags", path, (x, q) =>
    c.strs(x, q).forEach((f, i) => {
      if (!(f in SECCOMP_FLAGS)) c.fail(child(q, i), `unknown flag ${JSON.stringify(f)}`);
    }),
  );
  const listener = c.opt(o, "listenerPath", path, c.abs);
  const metadata = c.opt(o, "listenerMetadata", path, c.str);
  c.opt(o, "syscalls", path, (x, q) =>
    c.objs(x, q, (sc, p) => {
      const names = c.req(sc, "names", p, c.strs);
      if (names.length === 0) c.fail(child(p, "names"), "must not be empty");
      names.forEach((n, j) => {
        if (!/^[a-z0-9_]+$/.test(n)) c.fail(child(child(p, "names"), j), `invalid syscall name ${JSON.stringify(n)}`);
      });
      const act = c.req(sc, "action", p, action);
      if (act === "SCMP_ACT_NOTIFY" && !listener) c.fail(child(path, "listenerPath"), "is required with SCMP_ACT_NOTIFY");
      errnoRet(sc, p, "errnoRet", act);
      c.opt(sc, "args", p, (y, r) =>
        c.objs(y, r, (arg, ap) => {
          c.req(arg, "index", ap, (z, t) => c.uint(z, t, 5));
          c.req(arg, "value", ap, (z, t) => c.uint(z, t, 2 ** 64 - 1));
          c.opt(arg, "valueTwo", ap, (z, t) => c.uint(z, t, 2 ** 64 - 1));
          c.req(arg, "op", ap, (z, t) => {
            const op = c.str(z, t);
            if (!SECCOMP_OPS.includes(op)) c.fail(t, `unknown operator ${JSON.stringify(op)}`);
          });
        }),
      );
    }),
  );
  // runc refuses it too (after the rules: a notify rule without listenerPath is named first)
  if (metadata && !listener) c.fail(child(path, "listenerMetadata"), "is set without listenerPath");
}

/** A seccomp profile on its own (run --security-opt seccomp=FILE), checked as linux.seccomp is; paths named from its root. */
export function checkSeccompProfile(raw: Record<string, unknown>, file: string): Seccomp {
  checkSeccomp(new Checker(file), raw, "");
  return raw as unknown as Seccomp;
}

// sysctls that belong to a namespace (runc's list); anything else would change the host
const IPC_SYSCTLS = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];

function checkSysctl(c: Checker, v: unknown, path: string, has: (t: NamespaceType) => boolean): void {
  for (const name of Object.keys(c.strMap(v, path))) {
    const p = child(path, name);
    if (!/^[A-Za-z0-9_-]+([./][A-Za-z0-9_@:-]+)*$/.test(name)) c.fail(p, "invalid sysctl name");
    const dotted = name.replaceAll("/", ".");
    let ns: NamespaceType;
    if (IPC_SYSCTLS.includes(dotted) || dotted.startsWith("fs.mqueue.")) ns = "ipc";
    else if (dotted.startsWith("net.")) ns = "network";
    else if (dotted === "kernel.hostname" || dotted === "kernel.domainname") ns = "uts";
    else c.fail(p, "not namespaced: setting it would change the host");
    if (!has(ns)) c.fail(p, `requires a ${ns} namespace in linux.namespaces`);
  }
}

function checkLinux(c: Checker, v: unknown): Namespace[] {
  const p = "linux";
  const o = c.obj(v, p);
  const namespaces = c.opt(o, "namespaces", p, (x, q) => checkNamespaces(c, x, q)) ?? [];
  const has = (t: NamespaceType) => someOf(namespaces, (n) => n.type === t);
  const userns = findOf(namespaces, (n) => n.type === "user");
  for (const key of ["uidMappings", "gidMappings"]) {
    c.opt(o, key, p, (x, q) => {
      checkMappings(c, x, q);
      if (!userns) c.fail(q, "requires a user namespace in linux.namespaces");
      if (userns.path) c.fail(q, "cannot be set when joining a user namespace (its path is given)");
    });
  }
  c.opt(o, "devices", p, (x, q) =>
    c.objs(x, q, (dev, dp) => {
      const type = c.req(dev, "type", dp, c.str);
      if (!DEVICE_TYPES.includes(type)) c.fail(child(dp, "type"), 'must be "c", "b", "u" or "p"');
      c.req(dev, "path", dp, c.abs);
      for (const k of ["major", "minor"]) {
        if (type === "p") c.opt(dev, k, dp, c.uint);
        else c.req(dev, k, dp, c.uint);
      }
      c.opt(dev, "fileMode", dp, (y, r) => c.uint(y, r, 0o7777));
      c.opt(dev, "uid", dp, (y, r) => c.uint(y, r, U32_MAX));
      c.opt(dev, "gid", dp, (y, r) => c.uint(y, r, U32_MAX));
    }),
  );
  c.opt(o, "cgroupsPath", p, c.str);
  c.opt(o, "resources", p, (x, q) => checkResources(c, x, q));
  c.opt(o, "rootfsPropagation", p, (x, q) => {
    if (!PROPAGATIONS.includes(c.str(x, q))) c.fail(q, `must be one of ${PROPAGATIONS.join(", ")}`);
  });
  c.opt(o, "seccomp", p, (x, q) => checkSeccomp(c, x, q));
  c.opt(o, "sysctl", p, (x, q) => checkSysctl(c, x, q, has));
  for (const key of ["maskedPaths", "readonlyPaths"]) {
    c.opt(o, key, p, (x, q) => {
      const paths = c.arr(x, q);
      for (let i = 0; i < paths.length; i++) c.abs(paths[i], child(q, i));
    });
  }
  c.opt(o, "mountLabel", p, c.str);
  c.opt(o, "personality", p, (x, q) => {
    const per = c.obj(x, q);
    const domain = c.req(per, "domain", q, c.str);
    if (domain !== "LINUX" && domain !== "LINUX32") c.fail(child(q, "domain"), 'must be "LINUX" or "LINUX32"');
    c.opt(per, "flags", q, c.strs);
  });
  return namespaces;
}

/** With mappings given, the process's ids must be among them (setresuid would fail with EINVAL). */
function checkUserMapped(c: Checker, spec: Spec): void {
  const user = spec.process?.user;
  if (!user) return;
  const inMap = (maps: IDMapping[], id: number) => someOf(maps, (m) => id >= m.containerID && id < m.containerID + m.size);
  const uids = spec.linux?.uidMappings;
  const gids = spec.linux?.gidMappings;
  if (uids?.length && !inMap(uids, user.uid)) c.fail("process.user.uid", `${user.uid} is not mapped in linux.uidMappings`);
  if (gids?.length) {
    if (!inMap(gids, user.gid)) c.fail("process.user.gid", `${user.gid} is not mapped in linux.gidMappings`);
    const extra = user.additionalGids ?? [];
    for (let i = 0; i < extra.length; i++) if (!inMap(gids, extra[i]!)) c.fail(`process.user.additionalGids[${i}]`, `${extra[i]} is not mapped in linux.gidMappings`);
  }
}

/** starts with DIGITS.DIGITS.DIGITS (a plain loop: the first regex of a start costs ~0.05 ms) */
function isVersion(v: string): boolean {
  let i = 0;
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      if (v.charCodeAt(i) !== 46) return false;
      i++;
    }
    const start = i;
    while (i < v.length && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
    if (i === start) return false;
  }
  return true;
}

/** Parses and validates a config.json; throws a BunkerError naming the JSON path. */
export function parseConfig(text: string | Uint8Array, file = "config.json"): Spec {
  const c = new Checker(file);
  const o = parseJsonObject(text, file, "config");
  const version = c.req(o, "ociVersion", "", c.str);
  if (!isVersion(version)) c.fail("ociVersion", `must be a version like 1.2.0, not ${JSON.stringify(version)}`);
  c.req(o, "root", "", (x, q) => {
    const root = c.obj(x, q);
    const path = c.req(root, "path", q, c.str);
    if (path === "") c.fail("root.path", "must not be empty");
    c.opt(root, "readonly", q, c.bool);
  });
  c.opt(o, "mounts", "", (x, q) => c.objs(x, q, (m, p) => checkMount(c, m, p)));
  // optional in runtime-spec until `start`; bunker's create builds the process's plan, so it is needed now (as for runc)
  c.req(o, "process", "", (x, q) => checkProcess(c, x, q));
  for (const key of ["hostname", "domainname"]) {
    c.opt(o, key, "", (x, q) => {
      if (c.str(x, q).length > 64) c.fail(q, "must be at most 64 characters");
    });
  }
  c.opt(o, "hooks", "", (x) => checkHooks(c, x));
  c.opt(o, "annotations", "", c.strMap);
  const namespaces = c.opt(o, "linux", "", (x) => checkLinux(c, x)) ?? [];
  checkUserMapped(c, o as unknown as Spec);
  for (const key of ["hostname", "domainname"]) {
    if (o[key] && !someOf(namespaces, (n) => n.type === "uts")) c.fail(key, "requires a uts namespace in linux.namespaces");
  }
  return o as unknown as Spec;
}

/** `exec --process FILE`: a runtime-spec process object on its own, paths named from its root. */
export function parseProcess(text: string | Uint8Array, file: string): Process {
  const raw = parseJsonObject(text, file, "config");
  checkProcess(new Checker(file), raw, "");
  return raw as unknown as Process;
}

/** `update --resources FILE`: a runtime-spec linux.resources object on its own */
export function parseResources(text: string | Uint8Array, file: string): Resources {
  const raw = parseJsonObject(text, file, "config");
  checkResources(new Checker(file), raw, "");
  return raw as Resources;
}

// ---- rootless adjustments ----

/**
 * For a caller that is not root (uid != 0): a config without a user
 * namespace gets one (as crun does), and a new user namespace without
 * mappings maps process.user's ids to the caller's (a one-id map needs no
 * newuidmap).  Without a new network namespace sysfs cannot be mounted (the
 * host's netns is not ours): /sys is bound read-only instead.
 * Adjusts SPEC in place and returns it; root's configs are left as they are.
 */
export function ensureUserNamespace(spec: Spec, uid: number, gid: number): Spec {
  if (uid === 0) return spec;
  const linux = (spec.linux ??= {});
  const namespaces = (linux.namespaces ??= []);
  let userns = findOf(namespaces, (n) => n.type === "user");
  if (!userns) {
    userns = { type: "user" };
    namespaces.push(userns);
  }
  if (!userns.path) {
    if (!linux.uidMappings?.length) linux.uidMappings = [{ containerID: spec.process?.user.uid ?? 0, hostID: uid, size: 1 }];
    if (!linux.gidMappings?.length) linux.gidMappings = [{ containerID: spec.process?.user.gid ?? 0, hostID: gid, size: 1 }];
  }
  const ownNetns = someOf(namespaces, (n) => n.type === "network" && !n.path);
  const mounts = spec.mounts ?? [];
  for (let i = 0; i < mounts.length; i++) {
    const m = mounts[i]!;
    if (m.type === "sysfs" && !ownNetns) mounts[i] = { destination: m.destination, type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
  }
  return spec;
}
