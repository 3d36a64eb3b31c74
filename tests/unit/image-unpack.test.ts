import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TarInput } from "../../src/image/tarwriter.ts";
import { BunkerError } from "../../src/errors.ts";
import { removeDir, tempDir, unpack, xattr } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterEach(async () => { while (dirs.length) await removeDir(dirs.pop()!); });
function fresh(): string { const d = tempDir(); dirs.push(d); return d; }

const isRoot = process.geteuid!() === 0;

describe("unpack", () => {
  test("types, modes, owners, mtimes, content, xattrs", async () => {
    const d = fresh();
    const long = "p/".repeat(60) + "naïve-文件";
    const stats = await unpack(d, [[
      { name: "./", type: "dir", mode: 0o755 },
      { name: "etc/", type: "dir", mode: 0o755, mtime: 1600000000 },
      { name: "etc/passwd", data: "root:x:0:0::/root:/bin/sh\n", mode: 0o644, mtime: 1600000001 },
      { name: "bin/su", data: "#!suid", mode: 0o4755, uid: 0, gid: 0 },
      { name: "tmp/", type: "dir", mode: 0o1777 },
      { name: "home/u/", type: "dir", mode: 0o700, uid: 1000, gid: 1000 },
      { name: "home/u/f", data: "mine", mode: 0o600, uid: 1000, gid: 1000, xattrs: { "user.note": "hi" } },
      { name: "etc/sl", type: "symlink", linkname: "passwd", mtime: 1500000000 },
      { name: "etc/hl", type: "hardlink", linkname: "etc/passwd" },
      { name: "run/fifo", type: "fifo", mode: 0o640 },
      { name: "ro/", type: "dir", mode: 0o555 },
      { name: "ro/inside", data: "written before the dir became read-only" },
      { name: long, data: "long" },
      { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
    ]]);
    expect(readFileSync(`${d}/etc/passwd`, "utf8")).toStartWith("root:x");
    expect(statSync(`${d}/etc/passwd`).mtimeMs).toBe(1600000001000);
    expect(statSync(`${d}/etc`).mtimeMs).toBe(1600000000000);
    expect(statSync(`${d}/bin/su`).mode & 0o7777).toBe(0o4755);
    expect(statSync(`${d}/tmp`).mode & 0o7777).toBe(0o1777);
    expect(statSync(`${d}/ro`).mode & 0o7777).toBe(0o555);
    expect(readlinkSync(`${d}/etc/sl`)).toBe("passwd");
    expect(lstatSync(`${d}/etc/sl`).mtimeMs).toBe(1500000000000);
    expect(statSync(`${d}/etc/hl`).ino).toBe(statSync(`${d}/etc/passwd`).ino);
    expect(statSync(`${d}/run/fifo`).isFIFO()).toBe(true);
    expect(statSync(`${d}/run/fifo`).mode & 0o777).toBe(0o640);
    expect(readFileSync(`${d}/${long}`, "utf8")).toBe("long");
    expect(xattr(`${d}/home/u/f`, "user.note")).toBe("hi");
    if (isRoot) {
      expect(statSync(`${d}/home/u/f`).uid).toBe(1000);
      expect(statSync(`${d}/home/u`).gid).toBe(1000);
      expect(statSync(`${d}/dev/null`).rdev).toBe(statSync("/dev/null").rdev);
    }
    expect(stats.entries).toBe(14);
  });

  test("rootless: owners kept in user.containers.override_stat, devices skipped", async () => {
    const d = fresh();
    const stats = await unpack(d, [[
      { name: "home/u/", type: "dir", mode: 0o750, uid: 1000, gid: 1001 },
      { name: "home/u/f", data: "x", mode: 0o4711, uid: 1000, gid: 1001 },
      { name: "rootfile", data: "y", mode: 0o644 },
      { name: "dev/null", type: "char", devmajor: 1, devminor: 3 },
    ]], { rootless: true });
    expect(xattr(`${d}/home/u/f`, "user.containers.override_stat")).toBe("1000:1001:04711:file");
    expect(xattr(`${d}/home/u`, "user.containers.override_stat")).toBe("1000:1001:0750:dir");
    expect(xattr(`${d}/rootfile`, "user.containers.override_stat")).toBeUndefined();
    expect(statSync(`${d}/home/u/f`).uid).toBe(process.geteuid!());
    expect(existsSync(`${d}/dev/null`)).toBe(false);
    expect(stats.notes.join("\n")).toMatch(/device nodes skipped/);
  });

  test("a note quoting a layer's name escapes its control characters (it is printed as one line)", async () => {
    const stats = await unpack(fresh(), [[{ name: "dev/evil\n\u001b[2J", type: "char", devmajor: 1, devminor: 3 }]], { rootless: true });
    expect(stats.notes).toEqual(["device nodes skipped (dev/evil\\n\\x1b[2J and others): an unprivileged user cannot create them; bind them from the host"]);
  });

  test("whiteouts become 0/0 devices, opaque dirs an xattr (also after the layer's own entries); hardlinks reach lower layers", async () => {
    const lower = fresh(), upper = fresh();
    await unpack(lower, [[{ name: "lib/libc.so", data: "ELF" }, { name: "lib/libm.so", data: "ELFm" }, { name: "d/old", data: "o" }, { name: "e/old", data: "o" }]]);
    await unpack(upper, [[
      { name: "lib/.wh.libc.so" },
      { name: "d/.wh..wh..opq" },
      { name: "d/new", data: "n" },
      { name: "e/new", data: "n" },
      { name: "e/.wh..wh..opq" },
      { name: "bin/libm-copy", type: "hardlink", linkname: "lib/libm.so" },
    ]], { lowerDirs: [lower] });
    await expect(unpack(fresh(), [[{ name: "lib/.wh.libm.so" }, { name: "x", type: "hardlink", linkname: "lib/libm.so" }]],
      { lowerDirs: [lower] })).rejects.toThrow(/deleted/);
    const wh = lstatSync(`${upper}/lib/libc.so`);
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect(xattr(`${upper}/d`, "user.overlay.opaque")).toBe("y");
    expect(xattr(`${upper}/e`, "user.overlay.opaque")).toBe("y");
    expect(readdirSync(`${upper}/e`)).toEqual(["new"]);
    expect(readdirSync(upper).sort()).toEqual(["bin", "d", "e", "lib"]);
    expect(readFileSync(`${upper}/bin/libm-copy`, "utf8")).toBe("ELFm");
    expect(readFileSync(`${lower}/lib/libc.so`, "utf8")).toBe("ELF");
  });

  // a hardlink to an earlier layer on another filesystem (EXDEV: a lower on /dev/shm) is a copy of
  // the entry itself: a lower's symlink stays a symlink, never the content of the file it names
  test("a hardlink to a lower layer on another filesystem copies the entry, not what a symlink names", async () => {
    const lower = mkdtempSync("/dev/shm/bunker-lower-");
    dirs.push(lower);
    const victim = join(fresh(), "victim");
    writeFileSync(victim, "host secret\n");
    await unpack(lower, [[{ name: "lib/evil", type: "symlink", linkname: victim }, { name: "lib/data", data: "lower data", mode: 0o640 }]]);
    const upper = fresh();
    await unpack(upper, [[{ name: "bin/evil-link", type: "hardlink", linkname: "lib/evil" }, { name: "bin/data-link", type: "hardlink", linkname: "lib/data" }]], { lowerDirs: [lower] });
    expect(lstatSync(`${upper}/bin/evil-link`).isSymbolicLink()).toBe(true);
    expect(readlinkSync(`${upper}/bin/evil-link`)).toBe(victim);
    expect(readFileSync(`${upper}/bin/data-link`, "utf8")).toBe("lower data");
    expect(statSync(`${upper}/bin/data-link`).mode & 0o7777).toBe(0o640);
    expect(statSync(`${lower}/lib/data`).ino).not.toBe(statSync(`${upper}/bin/data-link`).ino);
  });

  // only root can make a real device node: the whiteout test must not take one for a whiteout
  test.skipIf(!isRoot)("a hardlink to a device node of the layer is a link, not a deleted file", async () => {
    const d = fresh();
    await unpack(d, [[{ name: "dev/console", type: "char", devmajor: 5, devminor: 1, mode: 0o600 }, { name: "dev/tty-link", type: "hardlink", linkname: "dev/console" }]]);
    const st = lstatSync(`${d}/dev/tty-link`);
    expect([st.isCharacterDevice(), st.rdev, st.nlink]).toEqual([true, lstatSync(`${d}/dev/console`).rdev, 2]);
  });

  test("replacing: file over dir, dir over file, symlink over file", async () => {
    const d = fresh();
    await unpack(d, [
      [{ name: "x/inner", data: "1" }, { name: "y", data: "2" }, { name: "z", data: "3" }],
      [{ name: "x", data: "now a file" }, { name: "y/", type: "dir" }, { name: "z", type: "symlink", linkname: "y" }],
    ]);
    expect(readFileSync(`${d}/x`, "utf8")).toBe("now a file");
    expect(statSync(`${d}/y`).isDirectory()).toBe(true);
    expect(readlinkSync(`${d}/z`)).toBe("y");
  });

  test("an absolute symlink is resolved inside the root", async () => {
    const d = fresh();
    await unpack(d, [[
      { name: "usr/lib/", type: "dir" },
      { name: "lib", type: "symlink", linkname: "/usr/lib" },
      { name: "lib/libz.so", data: "z" },
    ]]);
    expect(readFileSync(`${d}/usr/lib/libz.so`, "utf8")).toBe("z");
  });

  const outside = () => { const o = fresh(); writeFileSync(`${o}/victim`, "safe"); return o; };
  const attacks: [string, (o: string) => TarInput[], RegExp][] = [
    ["'..' in a name", () => [{ name: "../../evil", data: "x" }], /'\.\.'/],
    ["an absolute name", (o) => [{ name: `${o}/victim`, data: "x" }], /absolute/],
    ["a NUL in a PAX name", () => [{ name: "a".repeat(120) + "\0x", data: "x" }], /NUL/],
    ["a symlink escape", (o) => [{ name: "l", type: "symlink", linkname: "../../../../../../" + o }, { name: "l/victim", data: "pwned" }], /symlink/],
    ["a symlink chain escape", (o) => [
      { name: "a", type: "symlink", linkname: "b/../.." }, { name: "b/", type: "dir" },
      { name: "a/x/victim", data: "pwned" }], /symlink/],
    ["a hardlink outside", (o) => [{ name: "h", type: "hardlink", linkname: `../../../../../..${o}/victim` }], /'\.\.'/],
    ["a hardlink through an escaping symlink", (o) => [
      { name: "l", type: "symlink", linkname: "../../../../../../" + o }, { name: "h", type: "hardlink", linkname: "l/victim" }], /symlink/],
    ["a whiteout through an escaping symlink", (o) => [
      { name: "l", type: "symlink", linkname: "../../../../../../" + o }, { name: "l/.wh.victim" }], /symlink/],
  ];
  for (const [what, layer, msg] of attacks) {
    test(`rejects ${what} and leaves the outside alone`, async () => {
      const o = outside();
      const d = fresh();
      let err: unknown;
      try { await unpack(d, [layer(o)]); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(BunkerError);
      expect((err as BunkerError).format()).toMatch(msg);
      expect(readFileSync(`${o}/victim`, "utf8")).toBe("safe");
      expect(readdirSync(o)).toEqual(["victim"]);
    });
  }

  test("a hardlink to a missing file fails with ENOENT", async () => {
    const d = fresh();
    await expect(unpack(d, [[{ name: "h", type: "hardlink", linkname: "nope" }]])).rejects.toThrow(/does not exist/);
  });

  test("a directory the layer made read-only still gets its later entries (rootless)", async () => {
    const d = fresh();
    mkdirSync(`${d}/pre`);
    await unpack(d, [[{ name: "ro/", type: "dir", mode: 0o500 }, { name: "ro/f", data: "x", mode: 0o400 }]], { rootless: true });
    expect(statSync(`${d}/ro`).mode & 0o777).toBe(0o500);
    expect(readFileSync(`${d}/ro/f`, "utf8")).toBe("x");
  });
});
