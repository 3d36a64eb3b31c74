import { afterAll, describe, expect, test } from "bun:test";
import { parseFlags, flagList, flag, flagBool } from "../../src/cli/args.ts";
import { BunkerError } from "../../src/errors.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseSubIds, autoMaps, singleMaps, subRange, userName, type SubIdFiles } from "../../src/sys/idmap.ts";
import { isOciRun } from "../../src/cli/run.ts";
import { checkUserMapped } from "../../src/container/run.ts";
import { childError } from "../../src/sys/launch.ts";
import { stepNumber } from "../../src/plan/ops.ts";

const SPECS = [
  { names: ["env", "e"], value: true, multi: true },
  { names: ["tty", "t"] },
  { names: ["interactive", "i"] },
  { names: ["rootfs"], value: true },
];

describe("flag parser", () => {
  test("docker-style forms, bundled booleans, -- and the command", () => {
    const p = parseFlags(["-it", "-eA=1", "--env", "B=2", "--env=C=3", "--rootfs=/r", "--", "sh", "-c", "x"], SPECS, "run");
    expect(flagBool(p, "tty") && flagBool(p, "interactive")).toBe(true);
    expect(flagList(p, "env")).toEqual(["A=1", "B=2", "C=3"]);
    expect(flag(p, "rootfs")).toBe("/r");
    expect(p.rest).toEqual(["sh", "-c", "x"]);
  });
  test("stops at the first positional: the command's own flags are its own", () => {
    expect(parseFlags(["--rootfs", "/r", "ls", "-la"], SPECS, "run").rest).toEqual(["ls", "-la"]);
  });
  test("unknown flag and missing value are one clear line", () => {
    expect(() => parseFlags(["--bogus"], SPECS, "run")).toThrow("run: unknown flag --bogus");
    try {
      parseFlags(["--rootfs"], SPECS, "run");
      throw new Error("no error");
    } catch (e) {
      expect((e as BunkerError).format()).toBe("bunker: run: flag --rootfs needs a value: EINVAL (Invalid argument)");
    }
  });
});

describe("id ranges", () => {
  const dir = mkdtempSync(`${tmpdir()}/bunker-subid-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** subuid/subgid files of their own: ranges for the caller (by name and uid) and for root, plus EXTRA */
  function subIdFiles(extraUid = "", extraGid = ""): SubIdFiles {
    const me = process.getuid!();
    const caller = `${userName(me) ?? me}:100000:65536\n${me}:100000:65536\nroot:100000:65536\n`;
    const files = { subuid: `${dir}/subuid.${++n}`, subgid: `${dir}/subgid.${n}` };
    writeFileSync(files.subuid, caller + extraUid);
    writeFileSync(files.subgid, caller + extraGid);
    return files;
  }
  test("parseSubIds matches by name or uid, skips junk", () => {
    const text = "junk\nalice:100000:65536\n1001:300000:1000\nbob:x:y\n";
    expect(parseSubIds(text, "alice", 1000)).toEqual({ start: 100000, count: 65536 });
    expect(parseSubIds(text, "carol", 1001)).toEqual({ start: 300000, count: 1000 });
    expect(parseSubIds(text, "bob", 5)).toBeUndefined();
  });
  test("an image user outside a one-id map: without a range the fix names usermod and -u 0", () => {
    const nobodyUid = 4242424; // no range in the file given, whoever runs the test and whatever /etc/subuid holds
    const { subuid } = subIdFiles();
    expect(() => checkUserMapped({ uid: 1000, gid: 1000 }, singleMaps(nobodyUid, nobodyUid), nobodyUid, subuid)).toThrow(
      /^run: user 1000:1000 is not mapped in the container's user namespace$/,
    );
    try {
      checkUserMapped({ uid: 1000, gid: 1000 }, singleMaps(nobodyUid, nobodyUid), nobodyUid, subuid);
    } catch (e) {
      expect((e as BunkerError).format()).toBe(
        "bunker: run: user 1000:1000 is not mapped in the container's user namespace: EINVAL (Invalid argument) — your user has no subordinate ids for it: as root, usermod --add-subuids 100000-165535 --add-subgids 100000-165535 4242424, then add --userns=auto; or run as the container's root: -u 0",
      );
    }
    expect(() => checkUserMapped({ uid: 0, gid: 0 }, singleMaps(nobodyUid, nobodyUid), nobodyUid, subuid)).not.toThrow();
  });
  test("--userns=auto without a range names the file and the fix", () => {
    const files = subIdFiles();
    try {
      autoMaps(4242424, 4242424, 65536, files);
      throw new Error("no error");
    } catch (e) {
      expect((e as BunkerError).format()).toMatch(new RegExp(`^bunker: --userns=auto needs a subordinate id range for .*: ENOENT \\(No such file or directory\\) \\[${files.subuid.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\] — as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 `));
    }
  });
  test("the range is the given user's, not the caller's; a subgid range is looked up by the user too", () => {
    const files = subIdFiles("4242424:500000:1000\n", "4242424:600000:2000\n");
    // gid 4242425 has no line of its own: newgidmap reads /etc/subgid by the user, and so does bunker
    expect(autoMaps(4242424, 4242425, 65536, files)).toEqual({
      uid: [{ containerID: 0, hostID: 4242424, size: 1 }, { containerID: 1, hostID: 500000, size: 1000 }],
      gid: [{ containerID: 0, hostID: 4242425, size: 1 }, { containerID: 1, hostID: 600000, size: 2000 }],
    });
    expect(subRange(files.subuid, 4242423)).toBeUndefined();
  });
  test("$USER names the caller only: another uid /etc/passwd does not know has no name", () => {
    const saved = process.env.USER;
    process.env.USER = "somebody";
    try {
      expect(userName(4242426)).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.USER;
      else process.env.USER = saved;
    }
  });
});

describe("errors from the child", () => {
  test("exec not found is 127, not executable is 126", () => {
    const nf = childError({ op: "exec", file: "nosuch", args: ["nosuch"], env: [] }, { errno: 2, step: stepNumber("execve"), arg: 0 });
    expect(nf.exitCode).toBe(127);
    expect(nf.format()).toBe('bunker: exec "nosuch": executable file not found in $PATH: ENOENT (No such file or directory) [nosuch] — check the command and the image\'s PATH');
    expect(childError({ op: "exec", file: "/x", args: ["/x"], env: [] }, { errno: 13, step: stepNumber("execve"), arg: 0 }).exitCode).toBe(126);
  });
  test("a copy-up the container's root cannot read: says why and how to map the owner or skip the copy", () => {
    expect(childError({ op: "copyup-open", path: "/db" }, { errno: 13, step: stepNumber("open"), arg: 0 }).format()).toBe(
      "bunker: cannot open /db to copy it into the tmpfs or new volume mounted there (open): the container's root cannot read it (an owner its user namespace does not map): EACCES (Permission denied) [/db] — run with --userns=auto (the image's owners mapped; needs /etc/subuid), or start the volume empty: -v NAME:PATH:nocopy (--mount ...,volume-nocopy)",
    );
  });
  test("a bind names the source or the target", () => {
    expect(childError({ op: "rlimit", resource: 7, soft: 1048576n, hard: 2n ** 64n - 1n }, { errno: 1, step: 0, arg: 0 }).format()).toBe(
      "bunker: cannot set RLIMIT_NOFILE to 1048576:unlimited: EPERM (Operation not permitted) [process.rlimits] — a hard limit above bunker's own (/proc/self/limits) needs CAP_SYS_RESOURCE, RLIMIT_NOFILE at most fs.nr_open: ask for less (podman: --ulimit host, docker: --ulimit)",
    );
    const e = childError({ op: "bind", source: "/h", target: "/c", recursive: true, attrSet: 0, attrClr: 0 }, { errno: 2, step: stepNumber("open source"), arg: 0 });
    expect(e.format()).toBe("bunker: cannot bind mount /h on /c: ENOENT (No such file or directory) [/h] — the source must exist on the host");
  });
  test("the step an op failed at is named", () => {
    const user = { op: "user" as const, uid: 1000, gid: 1000, groups: [] };
    expect(childError(user, { errno: 1, step: stepNumber("setresgid"), arg: 0 }).format()).toBe("bunker: cannot switch to user 1000:1000 (setresgid): EPERM (Operation not permitted)");
    expect(childError(user, { errno: 22, step: stepNumber("setresuid"), arg: 0 }).format()).toStartWith("bunker: cannot switch to user 1000:1000 (setresuid): not mapped in the user namespace: EINVAL");
    const bind = { op: "bind" as const, source: "/h", target: "/c", recursive: false, attrSet: 1, attrClr: 0 };
    expect(childError(bind, { errno: 1, step: stepNumber("mount_setattr"), arg: 0 }).format()).toBe("bunker: cannot bind mount /h on /c (mount_setattr): EPERM (Operation not permitted) [/c]");
    const caps = { op: "caps" as const, stage: 0 as const, bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
    expect(childError(caps, { errno: 1, step: stepNumber("PR_CAPBSET_DROP"), arg: 21 }).format()).toBe("bunker: cannot set capabilities (PR_CAPBSET_DROP 21): EPERM (Operation not permitted)");
  });
});

describe("kernel version", () => {
  test("parsed without a regular expression; tmpfs user xattrs from 6.6", async () => {
    const { kernelVersion, tmpfsHasUserXattrs } = await import("../../src/sys/kernel.ts");
    expect(kernelVersion("6.18.44-fc-v782")).toEqual([6, 18]);
    expect(kernelVersion("5.10.0-28-amd64")).toEqual([5, 10]);
    expect(kernelVersion("garbage")).toEqual([0, 0]);
    expect(tmpfsHasUserXattrs("6.1.0-18-amd64")).toBe(false);
    expect(tmpfsHasUserXattrs("6.6.0")).toBe(true);
    expect(tmpfsHasUserXattrs("7.0.1")).toBe(true);
  });
});

describe("run: runc's form or docker's", () => {
  test("an OCI-only flag before the first argument makes runc's form", () => {
    for (const argv of [["-b", "/b", "id"], ["--bundle=/b", "id"], ["-d", "--console-socket", "/s", "id"], ["--pid-file", "/p", "id"], ["--keep", "id"], ["--no-new-keyring", "id"], ["--no-subreaper", "id"]])
      expect(isOciRun(argv)).toBe(true);
  });
  test("anything else is docker's, whatever the directory holds", () => {
    for (const argv of [["id"], ["--rm", "busybox"], ["--name", "x", "img", "sh"], ["--rootfs", "/r", "--", "sh"], ["-e", "-b", "img"], ["img", "--pid-file", "x"], ["-w", "/b", "img"], []])
      expect(isOciRun(argv)).toBe(false);
  });
});
