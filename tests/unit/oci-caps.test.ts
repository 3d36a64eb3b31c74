import { describe, expect, test } from "bun:test";
import { capabilityMasks, capMask, capName, capNumber, CAPABILITIES, DOCKER_DEFAULT_CAPS, resolveCaps } from "../../src/oci/caps.ts";
import { parseUlimit, rlimitName, rlimitNumber, rlimitValue, RLIM_INFINITY } from "../../src/oci/rlimits.ts";

describe("capabilities", () => {
  test("names and numbers", () => {
    expect(CAPABILITIES.length).toBe(41);
    expect(capNumber("CAP_CHOWN")).toBe(0);
    expect(capNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capNumber("CAP_CHECKPOINT_RESTORE")).toBe(40);
    expect(capNumber("CAP_NOPE")).toBeUndefined();
    expect(capName(39)).toBe("CAP_BPF");
  });

  test("masks", () => {
    expect(capMask(["CAP_CHOWN", "CAP_KILL"])).toBe(0b100001n);
    expect(capMask(CAPABILITIES)).toBe((1n << 41n) - 1n);
    expect(() => capMask(["CAP_CHOWN", "CAP_FOO"], "process.capabilities.bounding")).toThrow(
      'process.capabilities.bounding[1]: unknown capability "CAP_FOO"',
    );
    const m = capabilityMasks({ bounding: ["CAP_SYS_ADMIN"], ambient: ["CAP_KILL"] });
    expect(m).toEqual({ bounding: 1n << 21n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 1n << 5n });
    expect(capabilityMasks(undefined).bounding).toBe(0n);
  });

  test("--cap-add / --cap-drop", () => {
    const base = DOCKER_DEFAULT_CAPS;
    expect(base.length).toBe(14);
    expect(resolveCaps(base, [], [])).toEqual([...base].sort((a, b) => capNumber(a)! - capNumber(b)!));
    const r = resolveCaps(base, ["net_admin", "CAP_SYS_PTRACE"], ["NET_RAW", "cap_mknod"]);
    expect(r).toContain("CAP_NET_ADMIN");
    expect(r).toContain("CAP_SYS_PTRACE");
    expect(r).not.toContain("CAP_NET_RAW");
    expect(r).not.toContain("CAP_MKNOD");
    expect(r.length).toBe(14);
    expect(resolveCaps(base, ["ALL"], ["sys_admin"]).length).toBe(40);
    expect(resolveCaps(base, ["chown"], ["all"])).toEqual(["CAP_CHOWN"]);
    expect(resolveCaps(base, [], ["ALL"])).toEqual([]);
    expect(resolveCaps(base, ["all"], ["all"]).length).toBe(41);
    expect(() => resolveCaps(base, ["CAP_FLY"], [])).toThrow('--cap-add: unknown capability "CAP_FLY"');
    expect(() => resolveCaps(base, [], ["fly"])).toThrow('--cap-drop: unknown capability "fly"');
  });
});

describe("rlimits", () => {
  test("names and numbers", () => {
    expect(rlimitNumber("RLIMIT_NOFILE")).toBe(7);
    expect(rlimitNumber("RLIMIT_RTTIME")).toBe(15);
    expect(rlimitNumber("RLIMIT_BOGUS")).toBeUndefined();
    expect(rlimitName(6)).toBe("RLIMIT_NPROC");
    expect(rlimitValue(1024)).toBe(1024n);
    expect(rlimitValue(JSON.parse("18446744073709551615"))).toBe(RLIM_INFINITY);
  });

  test("--ulimit", () => {
    expect(parseUlimit("nofile=1024:2048")).toEqual({ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 });
    expect(parseUlimit("nproc=512")).toEqual({ type: "RLIMIT_NPROC", soft: 512, hard: 512 });
    expect(parseUlimit("core=-1")).toEqual({ type: "RLIMIT_CORE", soft: 2 ** 64, hard: 2 ** 64 });
    expect(parseUlimit("NOFILE=1:unlimited")).toEqual({ type: "RLIMIT_NOFILE", soft: 1, hard: 2 ** 64 });
    const bad: [string, string][] = [
      ["nofile", "--ulimit nofile: expected NAME=SOFT[:HARD]"],
      ["=1", "--ulimit =1: expected NAME=SOFT[:HARD]"],
      ["nofile=1:2:3", "--ulimit nofile=1:2:3: expected NAME=SOFT[:HARD]"],
      ["files=1", '--ulimit files=1: unknown limit "files"'],
      ["nofile=abc", '--ulimit nofile=abc: "abc" is not a number'],
      ["nofile=1:", '--ulimit nofile=1:: "" is not a number'],
      ["nofile=2048:1024", "--ulimit nofile=2048:1024: the soft limit 2048 is above the hard limit 1024"],
    ];
    for (const [arg, msg] of bad) expect(() => parseUlimit(arg)).toThrow(msg);
  });
});
