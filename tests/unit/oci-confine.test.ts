// run's confinement flags (--cap-add, --cap-drop, --privileged, --security-opt)
// resolved as Docker does, and Docker seccomp profiles turned into OCI ones.
import { describe, expect, test } from "bun:test";
import { BunkerError } from "../../src/errors.ts";
import { CAPABILITIES, DOCKER_DEFAULT_CAPS } from "../../src/oci/caps.ts";
import { DOCKER_MASKED_PATHS, dockerToOci, parseSecurityOpts, resolveConfinement, wantsProfileFile, type SecurityFlags } from "../../src/oci/confine.ts";
import { dockerDefaultSeccomp } from "../../src/oci/default-seccomp.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { runSpec } from "../../src/oci/run-spec.ts";
import { singleMaps } from "../../src/sys/idmap.ts";
import { processContext } from "../../src/container/process.ts";
import { capsContext } from "../../src/container/caps-context.ts";
import "../../src/oci/seccomp-file.ts"; // --security-opt seccomp=FILE's reader (loaded by run when it needs it)
import { compileSeccomp } from "../../src/oci/seccomp.ts";

const flags = (over: Partial<SecurityFlags> = {}): SecurityFlags => ({ capAdd: [], capDrop: [], privileged: false, securityOpts: [], ...over });
const READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof BunkerError) return e.format();
    throw e;
  }
  throw new Error("no error");
}

describe("--security-opt", () => {
  test("Docker's spellings", () => {
    expect(parseSecurityOpts([])).toEqual({ noNewPrivileges: true, seccomp: "default", systemPaths: "default" });
    expect(parseSecurityOpts(["no-new-privileges=false"]).noNewPrivileges).toBe(false);
    expect(parseSecurityOpts(["no-new-privileges:false", "no-new-privileges"]).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(["no-new-privileges=true"]).noNewPrivileges).toBe(true);
    expect(parseSecurityOpts(["seccomp=unconfined"]).seccomp).toBe("unconfined");
    expect(parseSecurityOpts(["seccomp:/etc/p.json"]).seccomp).toBe("/etc/p.json");
    expect(parseSecurityOpts(["systempaths=unconfined"]).systemPaths).toBe("unconfined");
  });

  test("anything else: one line naming the option", () => {
    expect(errorOf(() => parseSecurityOpts(["no-new-privileges=yes"]))).toBe(
      `bunker: run: --security-opt "no-new-privileges=yes" is not supported: EINVAL (Invalid argument) — use no-new-privileges, no-new-privileges=true or no-new-privileges=false`,
    );
    expect(errorOf(() => parseSecurityOpts(["label=disable"]))).toContain("no AppArmor or SELinux support");
    expect(errorOf(() => parseSecurityOpts(["seccomp="]))).toContain(`--security-opt "seccomp=" is not supported`);
    expect(errorOf(() => parseSecurityOpts(["systempaths=confined"]))).toContain("systempaths=unconfined");
    expect(errorOf(() => parseSecurityOpts(["x\ny"]))).not.toContain("\n");
  });
});

describe("resolveConfinement", () => {
  test("default: Docker's caps in bounding/permitted/effective, nnp, Docker's seccomp, masked and read-only paths", () => {
    const c = resolveConfinement(flags(), 0);
    const caps = [...DOCKER_DEFAULT_CAPS].sort((a, b) => CAPABILITIES.indexOf(a) - CAPABILITIES.indexOf(b));
    expect(c.capabilities).toEqual({ bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] });
    expect(c.noNewPrivileges).toBe(true);
    expect(c.seccomp).toEqual(dockerDefaultSeccomp(caps));
    expect(c.maskedPaths).toEqual([...DOCKER_MASKED_PATHS]);
    expect(c.maskedPaths).toContain("/sys/devices/virtual/powercap");
    expect(c.readonlyPaths).toEqual(READONLY);
    expect(c.lockMounts).toBe(false);
    expect(c.summary.seccomp).toBe("default");
  });

  test("the default filter compiled when bunker is built (a Bun macro) is what compileSeccomp makes of the profile", () => {
    const c = resolveConfinement(flags(), 0);
    expect(c.compiledSeccomp).toBeDefined();
    expect([...c.compiledSeccomp!]).toEqual([...compileSeccomp(c.seccomp!).program]);
    // any other profile is compiled at run time
    expect(resolveConfinement(flags({ capAdd: ["NET_ADMIN"] }), 0).compiledSeccomp).toBeUndefined();
    expect(resolveConfinement(flags({ securityOpts: ["seccomp=/p.json"] }), 0, () => JSON.stringify(c.seccomp)).compiledSeccomp).toBeUndefined();
    expect(resolveConfinement(flags({ capDrop: ["KILL"], capAdd: ["KILL"] }), 1000).compiledSeccomp).toBeDefined();
  });

  test("a non-root user: nothing effective or permitted, the bounding set stays", () => {
    const c = resolveConfinement(flags(), 1000);
    expect(c.capabilities.effective).toEqual([]);
    expect(c.capabilities.permitted).toEqual([]);
    expect(c.capabilities.bounding).toHaveLength(14);
  });

  test("--cap-add / --cap-drop as Docker: ALL, names with or without CAP_, any case", () => {
    expect(resolveConfinement(flags({ capDrop: ["ALL"], capAdd: ["net_admin"] }), 0).capabilities.bounding).toEqual(["CAP_NET_ADMIN"]);
    expect(resolveConfinement(flags({ capAdd: ["ALL"], capDrop: ["SYS_ADMIN"] }), 0).capabilities.bounding).toHaveLength(40);
    const c = resolveConfinement(flags({ capAdd: ["CAP_SYS_ADMIN"] }), 0);
    expect(c.lockMounts).toBe(true);
    expect(c.summary.mountsLocked).toBe(true);
    expect(errorOf(() => resolveConfinement(flags({ capDrop: ["FLY"] }), 0))).toContain(`--cap-drop: unknown capability "FLY"`);
  });

  test("--privileged: every capability, no seccomp (whatever --security-opt says), nothing masked, read-only paths kept, mounts locked", () => {
    const c = resolveConfinement(flags({ privileged: true, securityOpts: ["seccomp=/nonexistent.json"] }), 0);
    expect(c.capabilities.bounding).toEqual([...CAPABILITIES]);
    expect(c.seccomp).toBeUndefined();
    expect(c.maskedPaths).toEqual([]);
    expect(c.readonlyPaths).toEqual(READONLY);
    expect(c.lockMounts).toBe(true);
    expect(c.summary).toMatchObject({ privileged: true, seccomp: "unconfined", noNewPrivileges: true });
  });

  test("systempaths=unconfined unmasks; /proc/sys stays read-only", () => {
    const c = resolveConfinement(flags({ securityOpts: ["systempaths=unconfined"] }), 0);
    expect(c.maskedPaths).toEqual([]);
    expect(c.readonlyPaths).toEqual(READONLY);
  });

  test("seccomp=FILE: a Docker profile is resolved for the container's caps; errors name the file and field", () => {
    const profile = JSON.stringify({
      defaultAction: "SCMP_ACT_ERRNO",
      archMap: [{ architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] }, { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86"] }],
      syscalls: [{ name: "read", action: "SCMP_ACT_ALLOW", comment: "x" }, { names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } }],
    });
    const c = resolveConfinement(flags({ securityOpts: ["seccomp=/p.json"] }), 0, () => profile);
    expect(c.seccomp).toEqual({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] });
    expect(c.summary.seccomp).toBe("/p.json");
    const bad = () => resolveConfinement(flags({ securityOpts: ["seccomp=/p.json"] }), 0, () => `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":7}]}`);
    expect(errorOf(bad)).toBe("bunker: /p.json: syscalls[0].action: must be a string: EINVAL (Invalid argument)");
    expect(errorOf(() => resolveConfinement(flags({ securityOpts: ["seccomp=/p.json"] }), 0, () => "{"))).toContain("/p.json: invalid JSON");
    const missing = () => resolveConfinement(flags({ securityOpts: ["seccomp=/p.json"] }), 0, () => {
      throw Object.assign(new Error("x"), { code: "ENOENT" });
    });
    expect(errorOf(missing)).toContain("run: cannot read the seccomp profile: ENOENT");
  });

  test("dockerToOci: includes/excludes by caps, arches and minKernel; an OCI profile passes unchanged", () => {
    const raw = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["a"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm64"] } },
        { names: ["b"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32"] } },
        { names: ["c"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_KILL"] } },
        { names: ["d"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "99.0" } },
        { names: ["e"], action: "SCMP_ACT_ALLOW", excludes: { arches: ["amd64"] } },
      ],
    };
    const out = dockerToOci(raw, ["CAP_KILL"], (min) => min !== "99.0");
    expect((out.syscalls as { names: string[] }[]).map((s) => s.names[0])).toEqual(["b"]);
    const oci = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO" }] };
    expect(dockerToOci(oci, [])).toEqual(oci);
  });
});

describe("run's plan", () => {
  const plan = (c: ReturnType<typeof resolveConfinement>, uid = 0, keepNetns = false) => {
    const spec = runSpec({
      rootPath: "/r", args: ["/bin/true"], env: [], cwd: "/", user: { uid, gid: uid }, hostname: "h", tty: false, volumes: [], tmpfs: [],
      readOnly: true, network: "none", maps: singleMaps(1000, 1000), etcFiles: {}, confinement: c,
    });
    // as run does: the default's filter compiled when bunker was built, any other profile compiled now
    const proc = c.compiledSeccomp ? { ...capsContext(spec.process!), seccomp: c.compiledSeccomp, seccompFlags: 0 } : processContext(spec.process!, spec.linux);
    return buildPlan(spec, { ...proc, lockMounts: c.lockMounts, keepNetns });
  };

  test("default: caps before and after the user switch, nnp, then the filter; masks after pivot; no lock", () => {
    const c = resolveConfinement(flags(), 0);
    const p = plan(c);
    // the precompiled default: the plan's filter is that program, the run's spec does not carry the 6 KB profile
    expect(p.ops.find((o) => o.op === "seccomp")).toMatchObject({ filter: c.compiledSeccomp });
    expect([...c.compiledSeccomp!]).toEqual([...compileSeccomp(c.seccomp!).program]);
    const k = p.ops.map((o) => o.op);
    expect(k.slice(-8)).toEqual(["close-fds", "caps", "user", "chdir", "caps", "nnp", "seccomp", "exec"]);
    expect(k.indexOf("mask")).toBeGreaterThan(k.indexOf("pivot"));
    expect(k).not.toContain("lock");
    const caps = p.ops.find((o) => o.op === "caps")!;
    expect(caps).toMatchObject({ bounding: 0xa80425fbn, effective: 0xa80425fbn, permitted: 0xa80425fbn, inheritable: 0n, ambient: 0n });
  });

  test("no-new-privileges=false: the filter is loaded before the user switch (it needs CAP_SYS_ADMIN then)", () => {
    const k = plan(resolveConfinement(flags({ securityOpts: ["no-new-privileges=false"] }), 0)).ops.map((o) => o.op);
    expect(k.slice(-7)).toEqual(["close-fds", "caps", "seccomp", "user", "chdir", "caps", "exec"]);
  });

  test("--privileged: the mounts are locked after the last of them (the root made read-only first), identity maps", () => {
    const p = plan(resolveConfinement(flags({ privileged: true }), 0));
    const k = p.ops.map((o) => o.op);
    expect(k.indexOf("lock")).toBe(k.lastIndexOf("setattr") + 1);
    expect(p.ops.find((o) => o.op === "lock")).toEqual({ op: "lock", flags: 0x10000000 | 0x20000 | 0x4000000 | 0x40000000, uidMap: "0 0 1\n", gidMap: "0 0 1\n" });
    expect(k).not.toContain("seccomp");
    expect(k).not.toContain("mask");
  });

  test("--privileged with a network helper: the lock's nested user namespace keeps the configured network namespace", () => {
    const p = plan(resolveConfinement(flags({ privileged: true }), 0), 0, true);
    expect(p.ops.find((o) => o.op === "lock")).toMatchObject({ flags: 0x10000000 | 0x20000 | 0x4000000 });
  });
});

describe("wantsProfileFile (run loads the profile reader only then)", () => {
  const f = (securityOpts: string[], privileged = false): SecurityFlags => ({ capAdd: [], capDrop: [], privileged, securityOpts });
  test("a seccomp=FILE, not the default, unconfined or --privileged", () => {
    expect(wantsProfileFile(f(["seccomp=/p.json"]))).toBe(true);
    expect(wantsProfileFile(f(["seccomp:/p.json"]))).toBe(parseSecurityOpts(["seccomp:/p.json"]).seccomp === "/p.json");
    expect(wantsProfileFile(f([]))).toBe(false);
    expect(wantsProfileFile(f(["seccomp=unconfined"]))).toBe(false);
    expect(wantsProfileFile(f(["no-new-privileges"]))).toBe(false);
    expect(wantsProfileFile(f(["seccomp=/p.json"], true))).toBe(false);
  });
});
