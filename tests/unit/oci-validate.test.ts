// parseConfig: a table of invalid configs with the exact messages they give,
// and ensureUserNamespace's rootless adjustments.
import { describe, expect, test } from "bun:test";
import { BunkerError } from "../../src/errors.ts";
import { ensureUserNamespace, parseConfig, parseProcess } from "../../src/oci/validate.ts";
import type { Spec } from "../../src/oci/spec.ts";

function base(): Record<string, any> {
  return {
    ociVersion: "1.2.0",
    root: { path: "rootfs", readonly: true },
    process: {
      terminal: false,
      user: { uid: 0, gid: 0, additionalGids: [10] },
      args: ["sh"],
      env: ["PATH=/usr/bin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], ambient: [] },
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }],
      noNewPrivileges: true,
      oomScoreAdj: 100,
    },
    hostname: "box",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "ro"] },
    ],
    hooks: { createRuntime: [{ path: "/bin/true", args: ["true"], env: ["A=1"], timeout: 5 }] },
    annotations: { "org.example/key": "value" },
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }, { type: "ipc" }, { type: "user" }, { type: "network" }],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }],
      sysctl: { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.queues_max": "10" },
      maskedPaths: ["/proc/kcore"],
      readonlyPaths: ["/proc/sys"],
      devices: [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666 }],
      resources: { memory: { limit: 1 << 30, swap: -1 }, pids: { limit: 100 }, cpu: { quota: 50000, period: 100000 } },
      rootfsPropagation: "rprivate",
      seccomp: {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: 1,
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        flags: ["SECCOMP_FILTER_FLAG_LOG"],
        syscalls: [
          { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
          { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        ],
      },
    },
  };
}

/** a copy of base() with FN applied */
function mutate(fn: (c: Record<string, any>) => void): string {
  const c = base();
  fn(c);
  return JSON.stringify(c);
}

function messageOf(text: string): string {
  try {
    parseConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(BunkerError);
    expect((e as BunkerError).errnoName).toBe("EINVAL");
    expect((e as BunkerError).exitCode).toBe(125);
    return (e as BunkerError).message;
  }
  return "(accepted)";
}

const cases: [string, (c: Record<string, any>) => void, string][] = [
  // top level
  ["no ociVersion", (c) => delete c.ociVersion, "config.json: ociVersion: is required"],
  ["ociVersion type", (c) => (c.ociVersion = 1), "config.json: ociVersion: must be a string"],
  ["ociVersion form", (c) => (c.ociVersion = "latest"), 'config.json: ociVersion: must be a version like 1.2.0, not "latest"'],
  ["no root", (c) => delete c.root, "config.json: root: is required"],
  ["root type", (c) => (c.root = "rootfs"), "config.json: root: must be an object"],
  ["no root.path", (c) => delete c.root.path, "config.json: root.path: is required"],
  ["empty root.path", (c) => (c.root.path = ""), "config.json: root.path: must not be empty"],
  ["root.readonly type", (c) => (c.root.readonly = "yes"), "config.json: root.readonly: must be a boolean"],
  ["hostname type", (c) => (c.hostname = 5), "config.json: hostname: must be a string"],
  ["hostname length", (c) => (c.hostname = "h".repeat(65)), "config.json: hostname: must be at most 64 characters"],
  ["hostname without uts", (c) => c.linux.namespaces.splice(2, 1), "config.json: hostname: requires a uts namespace in linux.namespaces"],
  ["domainname without linux", (c) => { delete c.linux; delete c.hostname; c.domainname = "x"; }, "config.json: domainname: requires a uts namespace in linux.namespaces"],
  ["annotations value", (c) => (c.annotations.n = 1), "config.json: annotations.n: must be a string"],
  ["annotations key quoted", (c) => (c.annotations["a.b"] = true), 'config.json: annotations["a.b"]: must be a string'],
  // mounts
  ["mounts type", (c) => (c.mounts = {}), "config.json: mounts: must be an array"],
  ["mount entry type", (c) => (c.mounts[1] = "x"), "config.json: mounts[1]: must be an object"],
  ["mount destination missing", (c) => delete c.mounts[0].destination, "config.json: mounts[0].destination: is required"],
  ["mount destination relative", (c) => (c.mounts[1].destination = "sys"), "config.json: mounts[1].destination: must be an absolute path"],
  ["mount options type", (c) => (c.mounts[1].options = "ro"), "config.json: mounts[1].options: must be an array"],
  ["mount option type", (c) => (c.mounts[1].options = ["ro", 1]), "config.json: mounts[1].options[1]: must be a string"],
  ["mount idmap size", (c) => (c.mounts[0].uidMappings = [{ containerID: 0, hostID: 0, size: 0 }]), "config.json: mounts[0].uidMappings[0].size: must be > 0"],
  // process
  ["process type", (c) => (c.process = []), "config.json: process: must be an object"],
  ["no cwd", (c) => delete c.process.cwd, "config.json: process.cwd: is required"],
  ["cwd relative", (c) => (c.process.cwd = "home"), "config.json: process.cwd: must be an absolute path"],
  ["no args", (c) => delete c.process.args, "config.json: process.args: is required"],
  ["empty args", (c) => (c.process.args = []), "config.json: process.args: must not be empty"],
  ["arg type", (c) => (c.process.args = ["sh", 3]), "config.json: process.args[1]: must be a string"],
  ["env form", (c) => c.process.env.push("NOEQUALS"), "config.json: process.env[2]: must be NAME=VALUE"],
  ["env empty name", (c) => c.process.env.push("=x"), "config.json: process.env[2]: must be NAME=VALUE"],
  ["user type", (c) => (c.process.user = 5), "config.json: process.user: must be an object"],
  ["uid negative", (c) => (c.process.user.uid = -1), "config.json: process.user.uid: must be >= 0"],
  ["uid float", (c) => (c.process.user.gid = 1.5), "config.json: process.user.gid: must be an integer"],
  ["uid too big", (c) => (c.process.user.uid = 2 ** 32), "config.json: process.user.uid: must be <= 4294967295"],
  ["umask", (c) => (c.process.user.umask = 0o10000), "config.json: process.user.umask: must be <= 4095"],
  ["additionalGids", (c) => (c.process.user.additionalGids = [1, "2"]), "config.json: process.user.additionalGids[1]: must be an integer"],
  ["terminal type", (c) => (c.process.terminal = 1), "config.json: process.terminal: must be a boolean"],
  ["consoleSize without terminal", (c) => (c.process.consoleSize = { height: 24, width: 80 }), "config.json: process.consoleSize: requires process.terminal to be true"],
  ["consoleSize width", (c) => { c.process.terminal = true; c.process.consoleSize = { height: 24 }; }, "config.json: process.consoleSize.width: is required"],
  ["capabilities type", (c) => (c.process.capabilities = ["CAP_KILL"]), "config.json: process.capabilities: must be an object"],
  ["capability name", (c) => c.process.capabilities.effective.push("CAP_FLY"), 'config.json: process.capabilities.effective[1]: unknown capability "CAP_FLY"'],
  ["capability without prefix", (c) => (c.process.capabilities.ambient = ["KILL"]), 'config.json: process.capabilities.ambient[0]: unknown capability "KILL"'],
  ["rlimit name", (c) => (c.process.rlimits[0].type = "RLIMIT_FILES"), 'config.json: process.rlimits[0].type: unknown rlimit "RLIMIT_FILES"'],
  ["rlimit duplicate", (c) => c.process.rlimits.push({ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }), 'config.json: process.rlimits[1].type: duplicate "RLIMIT_NOFILE"'],
  ["rlimit soft > hard", (c) => (c.process.rlimits[0].soft = 2048), "config.json: process.rlimits[0].soft: must be <= hard"],
  ["rlimit hard missing", (c) => delete c.process.rlimits[0].hard, "config.json: process.rlimits[0].hard: is required"],
  ["rlimit negative", (c) => (c.process.rlimits[0].soft = -1), "config.json: process.rlimits[0].soft: must be >= 0"],
  ["noNewPrivileges type", (c) => (c.process.noNewPrivileges = "true"), "config.json: process.noNewPrivileges: must be a boolean"],
  ["oomScoreAdj high", (c) => (c.process.oomScoreAdj = 1001), "config.json: process.oomScoreAdj: must be between -1000 and 1000"],
  ["oomScoreAdj low", (c) => (c.process.oomScoreAdj = -1001), "config.json: process.oomScoreAdj: must be between -1000 and 1000"],
  ["oomScoreAdj type", (c) => (c.process.oomScoreAdj = "5"), "config.json: process.oomScoreAdj: must be an integer"],
  // hooks
  ["hooks type", (c) => (c.hooks = []), "config.json: hooks: must be an object"],
  ["hook path relative", (c) => (c.hooks.createRuntime[0].path = "true"), "config.json: hooks.createRuntime[0].path: must be an absolute path"],
  ["hook path missing", (c) => (c.hooks.poststop = [{}]), "config.json: hooks.poststop[0].path: is required"],
  ["hook timeout", (c) => (c.hooks.createRuntime[0].timeout = 0), "config.json: hooks.createRuntime[0].timeout: must be > 0"],
  ["hook env", (c) => (c.hooks.createRuntime[0].env = "A=1"), "config.json: hooks.createRuntime[0].env: must be an array"],
  ["hook env form", (c) => c.hooks.createRuntime[0].env.push("A"), "config.json: hooks.createRuntime[0].env[1]: must be NAME=VALUE"],
  // linux
  ["linux type", (c) => (c.linux = "x"), "config.json: linux: must be an object"],
  ["namespace type", (c) => (c.linux.namespaces[0].type = "net"), 'config.json: linux.namespaces[0].type: unknown namespace type "net"'],
  ["namespace duplicate", (c) => c.linux.namespaces.push({ type: "pid" }), 'config.json: linux.namespaces[6].type: duplicate "pid"'],
  ["namespace path", (c) => (c.linux.namespaces[5].path = "proc/1/ns/net"), "config.json: linux.namespaces[5].path: must be an absolute path"],
  ["mapping size 0", (c) => (c.linux.uidMappings[0].size = 0), "config.json: linux.uidMappings[0].size: must be > 0"],
  ["uid not mapped", (c) => (c.process.user.uid = 70000), "config.json: process.user.uid: 70000 is not mapped in linux.uidMappings"],
  ["gid not mapped", (c) => (c.linux.gidMappings = [{ containerID: 5, hostID: 1000, size: 1 }]), "config.json: process.user.gid: 0 is not mapped in linux.gidMappings"],
  ["additional gid not mapped", (c) => c.process.user.additionalGids.push(65537), "config.json: process.user.additionalGids[1]: 65537 is not mapped in linux.gidMappings"],
  ["mapping size missing", (c) => delete c.linux.gidMappings[0].size, "config.json: linux.gidMappings[0].size: is required"],
  ["mapping hostID", (c) => (c.linux.uidMappings[1].hostID = -5), "config.json: linux.uidMappings[1].hostID: must be >= 0"],
  ["mapping container overlap", (c) => (c.linux.uidMappings[1].containerID = 0), "config.json: linux.uidMappings[1]: container IDs overlap linux.uidMappings[0]"],
  ["mapping host overlap", (c) => (c.linux.uidMappings[1].hostID = 1000), "config.json: linux.uidMappings[1]: host IDs overlap linux.uidMappings[0]"],
  ["mapping range overflow", (c) => (c.linux.uidMappings[1] = { containerID: 4294967295, hostID: 5, size: 2 }), "config.json: linux.uidMappings[1].size: containerID + size must be <= 4294967296"],
  ["mappings without userns", (c) => c.linux.namespaces.splice(4, 1), "config.json: linux.uidMappings: requires a user namespace in linux.namespaces"],
  ["mappings when joining", (c) => (c.linux.namespaces[4].path = "/proc/1/ns/user"), "config.json: linux.uidMappings: cannot be set when joining a user namespace (its path is given)"],
  ["device type", (c) => (c.linux.devices[0].type = "x"), 'config.json: linux.devices[0].type: must be "c", "b", "u" or "p"'],
  ["device major", (c) => delete c.linux.devices[0].major, "config.json: linux.devices[0].major: is required"],
  ["device path", (c) => (c.linux.devices[0].path = "dev/fuse"), "config.json: linux.devices[0].path: must be an absolute path"],
  ["masked path", (c) => c.linux.maskedPaths.push("proc/x"), "config.json: linux.maskedPaths[1]: must be an absolute path"],
  ["readonly path type", (c) => (c.linux.readonlyPaths = "/proc"), "config.json: linux.readonlyPaths: must be an array"],
  ["propagation", (c) => (c.linux.rootfsPropagation = "both"), "config.json: linux.rootfsPropagation: must be one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable"],
  ["memory limit", (c) => (c.linux.resources.memory.limit = "1g"), "config.json: linux.resources.memory.limit: must be an integer"],
  ["swappiness", (c) => (c.linux.resources.memory.swappiness = 101), "config.json: linux.resources.memory.swappiness: must be <= 100"],
  ["pids limit", (c) => (c.linux.resources.pids = {}), "config.json: linux.resources.pids.limit: is required"],
  ["cpu shares", (c) => (c.linux.resources.cpu.shares = -2), "config.json: linux.resources.cpu.shares: must be >= 0"],
  ["device rule access", (c) => (c.linux.resources.devices = [{ allow: false, access: "rwx" }]), 'config.json: linux.resources.devices[0].access: must be made of "r", "w" and "m"'],
  ["device rule allow", (c) => (c.linux.resources.devices = [{ access: "rwm" }]), "config.json: linux.resources.devices[0].allow: is required"],
  ["unified", (c) => (c.linux.resources.unified = { "memory.high": 5 }), 'config.json: linux.resources.unified["memory.high"]: must be a string'],
  ["sysctl value", (c) => (c.linux.sysctl["net.core.somaxconn"] = 5), 'config.json: linux.sysctl["net.core.somaxconn"]: must be a string'],
  ["sysctl name", (c) => (c.linux.sysctl["net..x"] = "1"), 'config.json: linux.sysctl["net..x"]: invalid sysctl name'],
  ["sysctl host-wide", (c) => (c.linux.sysctl["vm.swappiness"] = "1"), 'config.json: linux.sysctl["vm.swappiness"]: not namespaced: setting it would change the host'],
  ["sysctl net without netns", (c) => c.linux.namespaces.pop(), 'config.json: linux.sysctl["net.ipv4.ip_forward"]: requires a network namespace in linux.namespaces'],
  ["sysctl ipc without ipcns", (c) => c.linux.namespaces.splice(3, 1), 'config.json: linux.sysctl["kernel.shmmax"]: requires a ipc namespace in linux.namespaces'],
  ["personality", (c) => (c.linux.personality = { domain: "LINUX64" }), 'config.json: linux.personality.domain: must be "LINUX" or "LINUX32"'],
  // seccomp
  ["seccomp defaultAction missing", (c) => delete c.linux.seccomp.defaultAction, "config.json: linux.seccomp.defaultAction: is required"],
  ["seccomp defaultAction", (c) => (c.linux.seccomp.defaultAction = "SCMP_ACT_DENY"), 'config.json: linux.seccomp.defaultAction: unknown action "SCMP_ACT_DENY"'],
  ["seccomp notify default", (c) => (c.linux.seccomp.defaultAction = "SCMP_ACT_NOTIFY"), "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"],
  ["seccomp defaultErrnoRet with ALLOW", (c) => (c.linux.seccomp.defaultAction = "SCMP_ACT_ALLOW"), "config.json: linux.seccomp.defaultErrnoRet: only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"],
  ["seccomp arch", (c) => c.linux.seccomp.architectures.push("SCMP_ARCH_Z80"), 'config.json: linux.seccomp.architectures[2]: unknown architecture "SCMP_ARCH_Z80"'],
  ["seccomp flag", (c) => c.linux.seccomp.flags.push("SECCOMP_FILTER_FLAG_FAST"), 'config.json: linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_FAST"'],
  ["seccomp names empty", (c) => (c.linux.seccomp.syscalls[0].names = []), "config.json: linux.seccomp.syscalls[0].names: must not be empty"],
  ["seccomp name form", (c) => (c.linux.seccomp.syscalls[0].names = ["Read"]), 'config.json: linux.seccomp.syscalls[0].names[0]: invalid syscall name "Read"'],
  ["seccomp action", (c) => (c.linux.seccomp.syscalls[1].action = "ALLOW"), 'config.json: linux.seccomp.syscalls[1].action: unknown action "ALLOW"'],
  ["seccomp errnoRet with KILL", (c) => Object.assign(c.linux.seccomp.syscalls[0], { action: "SCMP_ACT_KILL", errnoRet: 1 }), "config.json: linux.seccomp.syscalls[0].errnoRet: only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"],
  ["seccomp errnoRet range", (c) => Object.assign(c.linux.seccomp.syscalls[0], { action: "SCMP_ACT_ERRNO", errnoRet: 70000 }), "config.json: linux.seccomp.syscalls[0].errnoRet: must be <= 65535"],
  ["seccomp notify without listener", (c) => (c.linux.seccomp.syscalls[0].action = "SCMP_ACT_NOTIFY"), "config.json: linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY"],
  ["seccomp listenerMetadata without listenerPath", (c) => (c.linux.seccomp.listenerMetadata = "m"), "config.json: linux.seccomp.listenerMetadata: is set without listenerPath"],
  ["seccomp arg index", (c) => (c.linux.seccomp.syscalls[1].args[0].index = 6), "config.json: linux.seccomp.syscalls[1].args[0].index: must be <= 5"],
  ["seccomp arg value", (c) => (c.linux.seccomp.syscalls[1].args[0].value = -1), "config.json: linux.seccomp.syscalls[1].args[0].value: must be >= 0"],
  ["seccomp arg op", (c) => (c.linux.seccomp.syscalls[1].args[0].op = "SCMP_CMP_IN"), 'config.json: linux.seccomp.syscalls[1].args[0].op: unknown operator "SCMP_CMP_IN"'],
  ["seccomp arg op missing", (c) => delete c.linux.seccomp.syscalls[1].args[0].op, "config.json: linux.seccomp.syscalls[1].args[0].op: is required"],
];

describe("parseConfig", () => {
  test("the base config is valid, and so are runc's own specs", () => {
    expect(messageOf(JSON.stringify(base()))).toBe("(accepted)");
    const spec = parseConfig(JSON.stringify(base()));
    expect(spec.process!.args).toEqual(["sh"]);
  });

  test.each(cases)("%s", (_name, fn, message) => {
    expect(messageOf(mutate(fn))).toBe(message);
  });

  test("JSON syntax errors say where", () => {
    const bad: [string, string][] = [
      ["", "config.json: invalid JSON at line 1, column 1 (byte 0): unexpected end of input"],
      ['{"ociVersion": "1.0.0",}', 'config.json: invalid JSON at line 1, column 24 (byte 23): expected a string key'],
      ['{\n  "a": 1\n  "b": 2\n}', 'config.json: invalid JSON at line 3, column 3 (byte 13): expected "," or "}"'],
      ['{"a": [1, 2}', 'config.json: invalid JSON at line 1, column 12 (byte 11): expected "," or "]"'],
      ['{"a": tru}', 'config.json: invalid JSON at line 1, column 7 (byte 6): unexpected "t"'],
      ['{"a": "x\ny"}', "config.json: invalid JSON at line 1, column 9 (byte 8): control character in string"],
      ['{"a": "x', "config.json: invalid JSON at line 1, column 9 (byte 8): unterminated string"],
      ['{"a": 1} x', 'config.json: invalid JSON at line 1, column 10 (byte 9): unexpected "x"'],
      ['{"a": 01}', 'config.json: invalid JSON at line 1, column 8 (byte 7): expected "," or "}"'],
    ];
    for (const [text, msg] of bad) expect(messageOf(text)).toBe(msg);
    expect(messageOf("[]")).toBe("config.json: must be a JSON object");
    expect(() => parseConfig("{", "/b/config.json")).toThrow("/b/config.json: invalid JSON at line 1, column 2");
  });

  test("a fuzz of truncations and byte flips never crashes: it parses or throws a one-line BunkerError", () => {
    const text = JSON.stringify(base(), null, 2);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let k = 0; k < 400; k++) {
      const cut = next() % text.length;
      const variants = [text.slice(0, cut), text.slice(0, cut) + String.fromCharCode(32 + (next() % 90)) + text.slice(cut + 1)];
      for (const v of variants) {
        try {
          parseConfig(v);
        } catch (e) {
          expect(e).toBeInstanceOf(BunkerError);
          expect((e as BunkerError).message).toStartWith("config.json: ");
          expect((e as BunkerError).format()).not.toContain("\n");
        }
      }
    }
  });
});

describe("runc's leniency: a missing process.user, uid or gid is 0", () => {
  test("config.json and process.json", () => {
    const c = base();
    delete c.process.user;
    expect(parseConfig(JSON.stringify(c), "config.json").process!.user).toEqual({ uid: 0, gid: 0 });
    const d = base();
    d.process.user = { uid: 5 };
    expect(parseConfig(JSON.stringify(d), "config.json").process!.user).toMatchObject({ uid: 5, gid: 0 });
    const { user: _u, ...rest } = structuredClone(base().process);
    expect(parseProcess(JSON.stringify(rest), "process.json").user).toEqual({ uid: 0, gid: 0 });
  });
});

describe("parseProcess (exec --process)", () => {
  const proc = () => structuredClone(base().process);
  const msg = (p: unknown) => {
    try {
      parseProcess(typeof p === "string" ? p : JSON.stringify(p), "process.json");
    } catch (e) {
      return (e as BunkerError).message;
    }
    return "(accepted)";
  };

  test("valid, and errors named from the file's root", () => {
    expect(msg(proc())).toBe("(accepted)");
    expect(parseProcess(JSON.stringify(proc()), "p.json").args).toEqual(["sh"]);
    expect(msg({ ...proc(), args: [] })).toBe("process.json: args: must not be empty");
    expect(msg({ ...proc(), cwd: "tmp" })).toBe("process.json: cwd: must be an absolute path");
    expect(msg({ ...proc(), consoleSize: { height: 1, width: 1 } })).toBe("process.json: consoleSize: requires terminal to be true");
    expect(msg({ ...proc(), user: { uid: "0" } })).toBe("process.json: user.uid: must be an integer");
    expect(msg("[1]")).toBe("process.json: must be a JSON object");
    expect(msg('{"args": ["sh"')).toBe('process.json: invalid JSON at line 1, column 15 (byte 14): expected "," or "]"');
  });
});

describe("ensureUserNamespace", () => {
  const spec = (): Spec => {
    const c = base();
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "user" && n.type !== "network");
    delete c.linux.uidMappings;
    delete c.linux.gidMappings;
    c.process.user = { uid: 0, gid: 0 };
    return c as Spec;
  };

  test("root: unchanged", () => {
    const s = spec();
    expect(ensureUserNamespace(s, 0, 0)).toBe(s);
  });

  test("not root: a user namespace with a one-id map, /sys bound read-only without a netns", () => {
    const s = spec();
    const before = structuredClone(s);
    const r = ensureUserNamespace(s, 1000, 1001);
    expect(r).toBe(s); // adjusted in place
    expect(r.linux!.namespaces!.map((n) => n.type)).toEqual(["pid", "mount", "uts", "ipc", "user"]);
    expect(r.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(r.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(r.mounts![1]).toEqual({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
    expect(r.mounts![0]).toEqual(before.mounts![0]!);
    // valid once net.* sysctls (which need the netns it lacks) are gone
    delete r.linux!.sysctl;
    expect(messageOf(JSON.stringify(r))).toBe("(accepted)");
  });

  test("not root: process.user's ids are the mapped ones; a new netns keeps sysfs", () => {
    const s = spec();
    s.process!.user = { uid: 1000, gid: 100 };
    s.linux!.namespaces!.push({ type: "network" });
    const r = ensureUserNamespace(s, 1234, 1234);
    expect(r.linux!.uidMappings).toEqual([{ containerID: 1000, hostID: 1234, size: 1 }]);
    expect(r.linux!.gidMappings).toEqual([{ containerID: 100, hostID: 1234, size: 1 }]);
    expect(r.mounts![1]!.type).toBe("sysfs");
  });

  test("not root: given mappings and a joined user namespace are kept", () => {
    const s = spec();
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];
    const r = ensureUserNamespace(s, 1000, 1000);
    expect(r.linux!.uidMappings!.length).toBe(2);
    expect(r.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    const joined = spec();
    joined.linux!.namespaces!.push({ type: "user", path: "/proc/42/ns/user" });
    const j = ensureUserNamespace(joined, 1000, 1000);
    expect(j.linux!.uidMappings).toBeUndefined();
    expect(j.linux!.namespaces!.filter((n) => n.type === "user").length).toBe(1);
  });
});
