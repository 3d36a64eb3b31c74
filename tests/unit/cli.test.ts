import { describe, expect, test } from "bun:test";
import { parseFlags, flagList, flag, flagBool } from "../../src/cli/args.ts";
import { BunkerError } from "../../src/errors.ts";
import { parseSubIds, autoMaps, singleMaps } from "../../src/container/idmap.ts";
import { checkUserMapped, isOciRun } from "../../src/cli/run.ts";
import { childError } from "../../src/container/launch.ts";

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
  test("parseSubIds matches by name or uid, skips junk", () => {
    const text = "junk\nalice:100000:65536\n1001:300000:1000\nbob:x:y\n";
    expect(parseSubIds(text, "alice", 1000)).toEqual({ start: 100000, count: 65536 });
    expect(parseSubIds(text, "carol", 1001)).toEqual({ start: 300000, count: 1000 });
    expect(parseSubIds(text, "bob", 5)).toBeUndefined();
  });
  test("an image user outside a one-id map: without a range the fix names usermod and -u 0", () => {
    const nobodyUid = 4242424; // no /etc/subuid range anywhere
    expect(() => checkUserMapped({ uid: 1000, gid: 1000 }, singleMaps(nobodyUid, nobodyUid), nobodyUid)).toThrow(
      /^run: user 1000:1000 is not mapped in the container's user namespace$/,
    );
    try {
      checkUserMapped({ uid: 1000, gid: 1000 }, singleMaps(nobodyUid, nobodyUid), nobodyUid);
    } catch (e) {
      expect((e as BunkerError).format()).toBe(
        "bunker: run: user 1000:1000 is not mapped in the container's user namespace: EINVAL (Invalid argument) — your user has no subordinate ids for it: as root, usermod --add-subuids 100000-165535 --add-subgids 100000-165535 4242424, then add --userns=auto; or run as the container's root: -u 0",
      );
    }
    expect(() => checkUserMapped({ uid: 0, gid: 0 }, singleMaps(nobodyUid, nobodyUid), nobodyUid)).not.toThrow();
  });
  test("--userns=auto without a range names the file and the fix", () => {
    try {
      autoMaps(4242424, 4242424);
      throw new Error("no error");
    } catch (e) {
      expect((e as BunkerError).format()).toMatch(/^bunker: --userns=auto needs a subordinate id range for .*: ENOENT \(No such file or directory\) \[\/etc\/subuid\] — as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 /);
    }
  });
});

describe("errors from the child", () => {
  test("exec not found is 127, not executable is 126", () => {
    const nf = childError({ op: "exec", file: "nosuch", args: ["nosuch"], env: [] }, 2, 0);
    expect(nf.exitCode).toBe(127);
    expect(nf.format()).toBe('bunker: exec "nosuch": executable file not found in $PATH: ENOENT (No such file or directory) [nosuch] — check the command and the image\'s PATH');
    expect(childError({ op: "exec", file: "/x", args: ["/x"], env: [] }, 13, 0).exitCode).toBe(126);
  });
  test("a bind names the source or the target", () => {
    const e = childError({ op: "bind", source: "/h", target: "/c", recursive: true, attrSet: 0, attrClr: 0 }, 2, 1);
    expect(e.format()).toBe("bunker: cannot bind mount /h on /c: ENOENT (No such file or directory) [/h] — the source must exist on the host");
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
