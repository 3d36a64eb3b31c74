// The confinement `bunker run` gives a container, from Docker's flags:
// --cap-add, --cap-drop, --privileged and --security-opt
// no-new-privileges|seccomp|systempaths.  The default is Docker's: its 14
// capabilities, its seccomp profile, its masked and read-only paths, and
// (unlike Docker, whose default is off) no_new_privs.
import { readFileSync } from "../sys/fs-sync.ts";
import { BunkerError } from "../errors.ts";
import { kernelAtLeast } from "../sys/kernel.ts";
import { CAPABILITIES, DOCKER_DEFAULT_CAPS, resolveCaps } from "./caps.ts";
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "./default-spec.ts";
import { dockerDefaultSeccomp } from "./default-seccomp.ts";
import type { Capabilities, Seccomp } from "./spec.ts";
import { everyOf } from "../loops.ts";
import { defaultFilter } from "./default-filter.ts";

/** Docker's masked paths: runc's and the powercap interface (energy counters are a side channel) */
export const DOCKER_MASKED_PATHS: readonly string[] = [...DEFAULT_MASKED_PATHS, "/sys/devices/virtual/powercap"];

/**
 * Read-only in every container, --privileged and systempaths=unconfined
 * too: as root, the container's uid 0 is host uid 0, and a writable
 * /proc/sys/kernel/core_pattern or /proc/sysrq-trigger is the host's.
 */
export const ALWAYS_READONLY_PATHS: readonly string[] = DEFAULT_READONLY_PATHS;

export interface SecurityFlags {
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /** --security-opt values, in order */
  securityOpts: string[];
}

export interface SecurityOpts {
  noNewPrivileges: boolean;
  /** "default", "unconfined" or a profile file */
  seccomp: string;
  systemPaths: "default" | "unconfined";
}

/** Docker's --security-opt syntax: KEY=VALUE (or the old KEY:VALUE); no-new-privileges alone means true. */
export function parseSecurityOpts(opts: string[]): SecurityOpts {
  const out: SecurityOpts = { noNewPrivileges: true, seccomp: "default", systemPaths: "default" };
  for (const opt of opts) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(opt);
    const key = m?.[1], value = m?.[2];
    const bad = (fix: string): never => {
      throw new BunkerError(`run: --security-opt ${JSON.stringify(opt)} is not supported`, { errno: "EINVAL", fix });
    };
    if (key === "no-new-privileges") {
      if (value === undefined || value === "true") out.noNewPrivileges = true;
      else if (value === "false") out.noNewPrivileges = false;
      else bad("use no-new-privileges, no-new-privileges=true or no-new-privileges=false");
    } else if (key === "seccomp" && value) {
      out.seccomp = value;
    } else if (key === "systempaths" && value === "unconfined") {
      out.systemPaths = "unconfined";
    } else if (key === "apparmor" || key === "label") {
      bad("bunker has no AppArmor or SELinux support; it confines with capabilities, no_new_privs, seccomp and masked paths");
    } else {
      bad("use no-new-privileges[=true|false], seccomp=unconfined|FILE or systempaths=unconfined");
    }
  }
  return out;
}

/** What a container gets: the OCI fields, ready for the spec, and a summary for state and check. */
export interface Confinement {
  capabilities: Capabilities;
  noNewPrivileges: boolean;
  /** the profile; with compiledSeccomp built only when read (run does not: the spec does not carry it) */
  seccomp?: Seccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** `seccomp` compiled when bunker was built: the default profile with Docker's default capabilities (src/oci/default-filter.ts) */
  compiledSeccomp?: Uint8Array;
  /** CAP_SYS_ADMIN could remount or unmount what is read-only: lock the mounts (src/plan/build.ts) */
  lockMounts: boolean;
  summary: ConfinementSummary;
}

export interface ConfinementSummary {
  privileged: boolean;
  /** the bounding set (what a process of the container can ever hold) */
  capabilities: string[];
  noNewPrivileges: boolean;
  /** "default" (Docker's profile), "unconfined", or the profile file */
  seccomp: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** the mounts are locked in a nested user namespace (with CAP_SYS_ADMIN) */
  mountsLocked: boolean;
}

/** flags -> confinement; UID is the container process's uid (non-root: no effective or permitted caps, as Docker) */
export function resolveConfinement(f: SecurityFlags, uid: number, read: (file: string) => string = (p) => readFileSync(p, "utf8")): Confinement {
  const opts = parseSecurityOpts(f.securityOpts);
  const caps = f.privileged ? [...CAPABILITIES] : resolveCaps(DOCKER_DEFAULT_CAPS, f.capAdd, f.capDrop);
  const held = uid === 0 ? caps : [];
  // Docker: --privileged loads no filter, whatever --security-opt says
  const filtered = !f.privileged && opts.seccomp !== "unconfined";
  const dockerCaps = caps.length === DOCKER_DEFAULT_CAPS.length && everyOf(caps, (c) => DOCKER_DEFAULT_CAPS.includes(c));
  const precompiled = filtered && opts.seccomp === "default" && dockerCaps && process.arch === "x64";
  let seccomp: Seccomp | undefined;
  if (filtered && !precompiled) seccomp = opts.seccomp === "default" ? dockerDefaultSeccomp(caps) : seccompFromFile(opts.seccomp, caps, read);
  const unmasked = f.privileged || opts.systemPaths === "unconfined";
  const maskedPaths = unmasked ? [] : [...DOCKER_MASKED_PATHS];
  const readonlyPaths = [...ALWAYS_READONLY_PATHS];
  const c: Confinement = {
    capabilities: { bounding: caps, effective: held, permitted: held, inheritable: [], ambient: [] },
    ...(precompiled ? { compiledSeccomp: defaultFilter() } : {}),
    noNewPrivileges: opts.noNewPrivileges,
    seccomp,
    maskedPaths,
    readonlyPaths,
    lockMounts: caps.includes("CAP_SYS_ADMIN"),
    summary: {
      privileged: f.privileged,
      capabilities: caps,
      noNewPrivileges: opts.noNewPrivileges,
      seccomp: filtered ? opts.seccomp : "unconfined",
      maskedPaths,
      readonlyPaths,
      mountsLocked: caps.includes("CAP_SYS_ADMIN"),
    },
  };
  // the precompiled default's profile only for a reader that wants it (its ~350 names cost a run ~0.1 ms)
  if (precompiled) {
    let built: Seccomp | undefined;
    Object.defineProperty(c, "seccomp", { enumerable: true, get: () => (built ??= dockerDefaultSeccomp(caps)) });
  }
  return c;
}

/**
 * --security-opt seccomp=FILE's reader, src/oci/seccomp-file.ts (the profile
 * checks of src/oci/validate.ts and the JSON reader, ~35 KB of code a run
 * with the default profile does not load): it sets itself here when loaded;
 * a run with a profile file imports it first (wantsProfileFile)
 */
type ProfileReader = (file: string, caps: readonly string[], read: (file: string) => string) => Seccomp;
let profileFromFile: ProfileReader | undefined;
export function setProfileReader(r: ProfileReader): void {
  profileFromFile = r;
}

/** FLAGS name a seccomp profile file: src/oci/seccomp-file.ts must be loaded before resolveConfinement */
export function wantsProfileFile(f: SecurityFlags): boolean {
  const s = parseSecurityOpts(f.securityOpts).seccomp;
  return !f.privileged && s !== "default" && s !== "unconfined";
}

function seccompFromFile(file: string, caps: readonly string[], read: (file: string) => string): Seccomp {
  if (!profileFromFile) throw new Error("the seccomp profile reader is not loaded (import src/oci/seccomp-file.ts first)");
  return profileFromFile(file, caps, read);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * A Docker profile (archMap, `name`, includes/excludes by caps, arches and
 * minKernel) as the OCI profile Docker would hand to runc for this
 * container on x86_64; an OCI profile passes through unchanged.
 */
export function dockerToOci(raw: Obj, caps: readonly string[], kernelOk: (min: string) => boolean = minKernelOk): Obj {
  const out: Obj = { ...raw };
  if (Array.isArray(raw.archMap)) {
    const x86 = raw.archMap.find((a) => isObj(a) && a.architecture === "SCMP_ARCH_X86_64") as Obj | undefined;
    out.architectures = x86 ? ["SCMP_ARCH_X86_64", ...strings(x86.subArchitectures)] : ["SCMP_ARCH_X86_64"];
    delete out.archMap;
  }
  if (Array.isArray(raw.syscalls)) {
    const arch = "amd64";
    out.syscalls = raw.syscalls
      .filter((sc) => {
        if (!isObj(sc)) return true; // the validator names it
        const inc = isObj(sc.includes) ? sc.includes : {}, exc = isObj(sc.excludes) ? sc.excludes : {};
        if (strings(inc.caps).some((c) => !caps.includes(c))) return false;
        if (strings(inc.arches).length && !strings(inc.arches).includes(arch)) return false;
        if (typeof inc.minKernel === "string" && !kernelOk(inc.minKernel)) return false;
        if (strings(exc.caps).some((c) => caps.includes(c))) return false;
        if (strings(exc.arches).includes(arch)) return false;
        return true;
      })
      .map((sc) => {
        if (!isObj(sc)) return sc;
        const { includes: _i, excludes: _e, comment: _c, name, ...rest } = sc;
        return typeof name === "string" && rest.names === undefined ? { ...rest, names: [name] } : rest;
      });
  }
  return out;
}

function minKernelOk(min: string): boolean {
  const [maj, mi] = min.split(".").map(Number);
  return kernelAtLeast(maj ?? 0, mi ?? 0);
}
