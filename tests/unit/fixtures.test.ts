// The test fixtures themselves (no privileges): the busybox rootfs must be
// complete and usable by any user, or every integration test is meaningless.
import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { hostBusybox, makeTempRootfs, removeTree } from "../lib/rootfs.ts";

describe("makeBusyboxRootfs", () => {
  const { base, rootfs } = makeTempRootfs();
  afterAll(() => removeTree(base));

  test("bin/busybox is a copy of the host's static busybox", () => {
    expect(readFileSync(join(rootfs, "bin/busybox")).equals(readFileSync(hostBusybox()))).toBe(true);
    expect(statSync(join(rootfs, "bin/busybox")).mode & 0o777).toBe(0o755);
  });

  test("every applet of busybox --list is a symlink to busybox in bin/", () => {
    const applets = Bun.spawnSync([hostBusybox(), "--list"]).stdout.toString().trim().split("\n").filter((a) => a !== "busybox");
    expect(applets.length).toBeGreaterThan(100);
    for (const a of applets) expect(readlinkSync(join(rootfs, "bin", a))).toBe("busybox");
    for (const a of ["sh", "cat", "ip", "id", "hostname", "stty", "tty", "sleep", "ls", "touch", "chown", "stat"]) {
      expect(applets).toContain(a);
    }
  });

  test("etc files, empty mount points and a sticky tmp are there", () => {
    for (const f of ["passwd", "group", "hosts", "hostname", "resolv.conf"]) expect(statSync(join(rootfs, "etc", f)).isFile()).toBe(true);
    expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toStartWith("root:x:0:0:");
    for (const d of ["proc", "dev", "sys", "tmp"]) expect(statSync(join(rootfs, d)).isDirectory()).toBe(true);
    expect(statSync(join(rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(rootfs, "sbin")).isSymbolicLink()).toBe(true);
  });

  test("the rootfs and its parent are world-readable (an unprivileged user can use it)", () => {
    for (const p of [base, rootfs, join(rootfs, "bin"), join(rootfs, "etc")]) expect(statSync(p).mode & 0o005).toBe(0o005);
    expect(statSync(join(rootfs, "etc/passwd")).mode & 0o004).toBe(0o004);
  });
});
