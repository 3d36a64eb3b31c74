// src/sys/fs-sync.ts and src/sys/path.ts against node:fs and node:path: same results, same errors (code, errno, syscall, path, message).
import { afterAll, describe, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as nodePath from "node:path";
import { tmpdir } from "node:os";
import * as fs from "../../src/sys/fs-sync.ts";
import * as path from "../../src/sys/path.ts";
import { errnoCode, fromSysError } from "../../src/errors.ts";

const root = nodeFs.mkdtempSync(`${tmpdir()}/bunker-fs-sync-`);
afterAll(() => nodeFs.rmSync(root, { recursive: true, force: true }));
let n = 0;
/** a fresh directory under root */
const fresh = (): string => {
  const d = `${root}/${++n}`;
  nodeFs.mkdirSync(d);
  return d;
};

/** the error F throws, as the fields callers read */
function errorOf(f: () => unknown): Record<string, unknown> | undefined {
  try {
    f();
  } catch (e) {
    const x = e as { code?: string; errno?: number; syscall?: string; path?: string; dest?: string; message: string };
    return { code: x.code, errno: x.errno, syscall: x.syscall, path: x.path, dest: x.dest, message: x.message, errnoCode: errnoCode(e), line: fromSysError("doing it", e).format() };
  }
  return undefined;
}

/** ours and node's F give the same error (or none); DIR made afresh for each */
function sameError(setup: (d: string) => void, f: (impl: typeof fs | typeof nodeFs, d: string) => unknown): Record<string, unknown> | undefined {
  const a = fresh(), b = fresh();
  setup(a);
  setup(b);
  const ours = errorOf(() => f(fs, a));
  const theirs = errorOf(() => f(nodeFs, b));
  const norm = (e: Record<string, unknown> | undefined, d: string) => (e ? JSON.parse(JSON.stringify(e).replaceAll(d, "D")) : e);
  expect(norm(ours, a)).toEqual(norm(theirs, b));
  return ours;
}

describe("fs-sync errors are node:fs's", () => {
  const none = () => {};
  const file = (d: string) => nodeFs.writeFileSync(`${d}/f`, "x");
  const cases: [string, (d: string) => void, (impl: any, d: string) => unknown][] = [
    ["readFileSync missing", none, (i, d) => i.readFileSync(`${d}/nope`, "utf8")],
    ["readFileSync under a file", file, (i, d) => i.readFileSync(`${d}/f/x`)],
    ["writeFileSync missing dir", none, (i, d) => i.writeFileSync(`${d}/no/f`, "x")],
    ["writeFileSync wx existing", file, (i, d) => i.writeFileSync(`${d}/f`, "y", { flag: "wx" })],
    ["appendFileSync missing dir", none, (i, d) => i.appendFileSync(`${d}/no/f`, "x", { mode: 0o600 })],
    ["mkdirSync existing", file, (i, d) => i.mkdirSync(`${d}/f`)],
    ["mkdirSync missing parent", none, (i, d) => i.mkdirSync(`${d}/a/b`)],
    ["mkdirSync recursive under a file", file, (i, d) => i.mkdirSync(`${d}/f/a/b`, { recursive: true })],
    ["mkdirSync recursive over a file", file, (i, d) => i.mkdirSync(`${d}/f`, { recursive: true })],
    ["statSync missing", none, (i, d) => i.statSync(`${d}/nope`)],
    ["lstatSync missing", none, (i, d) => i.lstatSync(`${d}/nope`)],
    ["readdirSync missing", none, (i, d) => i.readdirSync(`${d}/nope`)],
    ["readdirSync a file", file, (i, d) => i.readdirSync(`${d}/f`, { withFileTypes: true })],
    ["renameSync missing", none, (i, d) => i.renameSync(`${d}/a`, `${d}/b`)],
    ["rmSync missing", none, (i, d) => i.rmSync(`${d}/nope`)],
    ["rmdirSync missing", none, (i, d) => i.rmdirSync(`${d}/nope`)],
    ["rmdirSync not empty", file, (i, d) => i.rmdirSync(d)],
    ["chmodSync missing", none, (i, d) => i.chmodSync(`${d}/nope`, 0o700)],
    ["chownSync missing", none, (i, d) => i.chownSync(`${d}/nope`, 0, 0)],
    ["openSync missing", none, (i, d) => i.openSync(`${d}/nope`, "r")],
    ["readlinkSync not a link", file, (i, d) => i.readlinkSync(`${d}/f`)],
    ["accessSync missing", none, (i, d) => i.accessSync(`${d}/nope`, i.constants.W_OK)],
    ["closeSync bad fd", none, (i) => i.closeSync(987654)],
    ["fstatSync bad fd", none, (i) => i.fstatSync(987654)],
  ];
  for (const [name, setup, f] of cases) test(name, () => expect(sameError(setup, f)).toBeDefined());

  test("fromSysError keeps errno, path and the one line", () => {
    const e = errorOf(() => fs.readFileSync(`${root}/nope/x`, "utf8"))!;
    expect(e.code).toBe("ENOENT");
    expect(e.errno).toBe(-2);
    expect(e.path).toBe(`${root}/nope/x`);
    expect(e.message).toBe(`ENOENT: no such file or directory, open '${root}/nope/x'`);
    expect(e.line).toBe(`bunker: doing it: ENOENT (No such file or directory) [${root}/nope/x]`);
  });

  test("a missing file is no error with force; a directory needs recursive (node's ERR_FS_EISDIR)", () => {
    const d = fresh();
    fs.rmSync(`${d}/nope`, { force: true });
    nodeFs.mkdirSync(`${d}/sub`);
    const e = errorOf(() => fs.rmSync(`${d}/sub`, { force: true }))!;
    expect(e.code).toBe("ERR_FS_EISDIR");
    expect(e.message).toBe(errorOf(() => nodeFs.rmSync(`${d}/sub`, { force: true }))!.message);
    expect(e.errnoCode).toBeUndefined();
  });

  test("an error as root of nothing denied, as a user: EACCES with its path", () => {
    if (process.getuid!() === 0) return; // root may write anywhere
    expect(sameError(() => {}, (i) => i.writeFileSync("/etc/bunker-fs-sync-test", "x"))!.code).toBe("EACCES");
  });
});

describe("fs-sync results are node:fs's", () => {
  test("writeFileSync: text and bytes, its mode on a new file, flags a and wx", () => {
    const d = fresh();
    const old = process.umask(0);
    try {
      fs.writeFileSync(`${d}/a`, "héllo", { mode: 0o600 });
      expect(nodeFs.readFileSync(`${d}/a`, "utf8")).toBe("héllo");
      expect(nodeFs.statSync(`${d}/a`).mode & 0o777).toBe(0o600);
      fs.writeFileSync(`${d}/a`, new Uint8Array([65, 66]), { mode: 0o644 }); // truncated; an existing file keeps its mode
      expect(nodeFs.readFileSync(`${d}/a`, "utf8")).toBe("AB");
      expect(nodeFs.statSync(`${d}/a`).mode & 0o777).toBe(0o600);
      fs.writeFileSync(`${d}/a`, "C", { flag: "a" });
      fs.appendFileSync(`${d}/a`, "D");
      expect(nodeFs.readFileSync(`${d}/a`, "utf8")).toBe("ABCD");
      fs.writeFileSync(`${d}/log`, "", { flag: "a", mode: 0o600 });
      expect(nodeFs.statSync(`${d}/log`).mode & 0o777).toBe(0o600);
      fs.writeFileSync(`${d}/new`, "x", { flag: "wx" });
      expect(nodeFs.readFileSync(`${d}/new`, "utf8")).toBe("x");
      fs.writeFileSync(`${d}/plain`, "x");
      expect(nodeFs.statSync(`${d}/plain`).mode & 0o777).toBe(0o666);
    } finally {
      process.umask(old);
    }
  });

  test("readFileSync: utf8, latin1 (every byte one character) and bytes; /proc files to their end", () => {
    const d = fresh();
    const bytes = new Uint8Array(40000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
    nodeFs.writeFileSync(`${d}/b`, bytes);
    expect(fs.readFileSync(`${d}/b`)).toEqual(new Uint8Array(nodeFs.readFileSync(`${d}/b`)));
    expect(fs.readFileSync(`${d}/b`, "latin1")).toBe(nodeFs.readFileSync(`${d}/b`, "latin1"));
    nodeFs.writeFileSync(`${d}/t`, "ünïcode ✓\n");
    expect(fs.readFileSync(`${d}/t`, "utf8")).toBe("ünïcode ✓\n");
    expect(fs.readFileSync("/proc/self/mountinfo", "latin1")).toBe(nodeFs.readFileSync("/proc/self/mountinfo", "latin1"));
    expect(fs.readFileSync(`/proc/${process.pid}/stat`, "utf8").split(" ")[0]).toBe(String(process.pid));
  });

  test("stat, lstat, fstat: type, mode, owner, size, ino and dev, mtime", () => {
    const d = fresh();
    nodeFs.writeFileSync(`${d}/f`, "12345");
    nodeFs.symlinkSync("f", `${d}/l`);
    for (const [ours, theirs] of [
      [fs.statSync(`${d}/f`), nodeFs.statSync(`${d}/f`)],
      [fs.statSync(`${d}/l`), nodeFs.statSync(`${d}/l`)],
      [fs.lstatSync(`${d}/l`), nodeFs.lstatSync(`${d}/l`)],
      [fs.statSync(d), nodeFs.statSync(d)],
    ] as const) {
      for (const k of ["mode", "uid", "gid", "size", "ino", "dev", "nlink"] as const) expect([k, ours[k]]).toEqual([k, theirs[k]]);
      expect([ours.isDirectory(), ours.isFile(), ours.isSymbolicLink()]).toEqual([theirs.isDirectory(), theirs.isFile(), theirs.isSymbolicLink()]);
      expect(Math.abs(ours.mtime.getTime() - theirs.mtime.getTime())).toBeLessThan(1);
    }
    const fd = fs.openSync(`${d}/f`, "r");
    try {
      expect(fs.fstatSync(fd).ino).toBe(nodeFs.statSync(`${d}/f`).ino);
      expect(fs.fstatSync(fd).size).toBe(5);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("exists, readdir (names and types), readlink, rename, chmod, access", () => {
    const d = fresh();
    nodeFs.mkdirSync(`${d}/sub`);
    nodeFs.writeFileSync(`${d}/f`, "x");
    nodeFs.symlinkSync("/nowhere", `${d}/dangling`);
    expect(fs.existsSync(`${d}/f`)).toBe(true);
    expect(fs.existsSync(`${d}/dangling`)).toBe(false); // followed, as node's
    expect(fs.existsSync(`${d}/f/x`)).toBe(false);
    expect(fs.readdirSync(d).sort()).toEqual(nodeFs.readdirSync(d).sort());
    const types = (l: { name: string; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }[]) =>
      l.map((e) => `${e.name}:${e.isDirectory()}${e.isFile()}${e.isSymbolicLink()}`).sort();
    expect(types(fs.readdirSync(d, { withFileTypes: true }))).toEqual(types(nodeFs.readdirSync(d, { withFileTypes: true })));
    expect(fs.readlinkSync(`${d}/dangling`)).toBe("/nowhere");
    fs.renameSync(`${d}/f`, `${d}/g`);
    expect(nodeFs.existsSync(`${d}/g`) && !nodeFs.existsSync(`${d}/f`)).toBe(true);
    fs.chmodSync(`${d}/g`, 0o640);
    expect(nodeFs.statSync(`${d}/g`).mode & 0o7777).toBe(0o640);
    fs.accessSync(`${d}/g`, fs.constants.W_OK);
    fs.chownSync(`${d}/g`, process.getuid!(), process.getgid!());
  });

  test("mkdirSync: mode, recursive (an existing directory is fine)", () => {
    const d = fresh();
    const old = process.umask(0);
    try {
      fs.mkdirSync(`${d}/a`, { mode: 0o711 });
      expect(nodeFs.statSync(`${d}/a`).mode & 0o777).toBe(0o711);
      fs.mkdirSync(`${d}/a/b/c/`, { recursive: true, mode: 0o700 });
      expect(nodeFs.statSync(`${d}/a/b`).mode & 0o777).toBe(0o700);
      expect(nodeFs.statSync(`${d}/a/b/c`).isDirectory()).toBe(true);
      fs.mkdirSync(`${d}/a/b`, { recursive: true });
      fs.mkdirSync(`${d}/plain`);
      expect(nodeFs.statSync(`${d}/plain`).mode & 0o777).toBe(0o777);
    } finally {
      process.umask(old);
    }
  });

  test("rmSync: a file, a symlink (not its target), a tree with force and recursive; rmdirSync", () => {
    const d = fresh();
    nodeFs.mkdirSync(`${d}/t/a/b`, { recursive: true });
    nodeFs.mkdirSync(`${d}/keep`);
    nodeFs.writeFileSync(`${d}/keep/f`, "x");
    for (const f of ["t/f", "t/a/f", "t/a/b/f"]) nodeFs.writeFileSync(`${d}/${f}`, "x");
    nodeFs.symlinkSync(`${d}/keep`, `${d}/t/a/link`);
    nodeFs.symlinkSync(`${d}/keep`, `${d}/link`);
    fs.rmSync(`${d}/link`, { force: true });
    expect(nodeFs.existsSync(`${d}/keep/f`)).toBe(true);
    fs.rmSync(`${d}/t`, { recursive: true, force: true });
    expect(nodeFs.existsSync(`${d}/t`)).toBe(false);
    expect(nodeFs.existsSync(`${d}/keep/f`)).toBe(true);
    fs.rmSync(`${d}/keep/f`);
    fs.rmdirSync(`${d}/keep`);
    expect(nodeFs.readdirSync(d)).toEqual([]);
  });

  test("open flags, read and pread, write", () => {
    const d = fresh();
    const w = fs.openSync(`${d}/f`, "a", 0o600);
    expect(fs.writeSync(w, "hello ")).toBe(6);
    expect(fs.writeSync(w, new TextEncoder().encode("world"))).toBe(5);
    fs.closeSync(w);
    const c = fs.openSync(`${d}/c`, fs.constants.O_WRONLY | fs.constants.O_CREAT);
    fs.closeSync(c);
    expect(errorOf(() => fs.openSync(`${d}/nope`, fs.constants.O_WRONLY))!.code).toBe("ENOENT");
    const r = fs.openSync(`${d}/f`, "r");
    try {
      const buf = new Uint8Array(16);
      expect(fs.readSync(r, buf, 0, 5, null)).toBe(5);
      expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe("hello");
      expect(fs.readSync(r, buf, 8, 5, 6)).toBe(5); // pread: at offset 6, into buf[8..]
      expect(new TextDecoder().decode(buf.subarray(8, 13))).toBe("world");
      expect(fs.readSync(r, buf, 0, 16, null)).toBe(6); // the read position is where read left it
    } finally {
      fs.closeSync(r);
    }
    const t = fs.openSync(`${d}/f`, "w");
    fs.closeSync(t);
    expect(nodeFs.statSync(`${d}/f`).size).toBe(0);
  });

  test("an embedded file outside the executable is read as a plain file", () => {
    const d = fresh();
    nodeFs.writeFileSync(`${d}/f`, "abc");
    expect(new TextDecoder().decode(fs.readEmbeddedFile(`${d}/f`))).toBe("abc");
  });
});

describe("path helpers are node:path's", () => {
  test("resolve with no absolute part stays relative (the caller passes its cwd)", () => {
    expect(path.resolve("a", "../b/./c/")).toBe("b/c");
    expect(path.resolve("")).toBe(".");
  });
  const atoms = ["", "/", "//", "a", "b", ".", "..", "a/", "/a", "..a", ".b", "x.y"];
  test("basename, dirname, isAbsolute, resolve over every 3-part combination", () => {
    let cases = 0;
    for (const a of atoms)
      for (const b of atoms)
        for (const c of atoms) {
          const p = a + b + c;
          expect([p, path.basename(p)]).toEqual([p, nodePath.basename(p)]);
          expect([p, path.dirname(p)]).toEqual([p, nodePath.dirname(p)]);
          expect([p, path.isAbsolute(p)]).toEqual([p, nodePath.isAbsolute(p)]);
          expect([p, path.resolve("/w/d", p)]).toEqual([p, nodePath.resolve("/w/d", p)]);
          expect([a, b, c, path.resolve("/w", a, b, c)]).toEqual([a, b, c, nodePath.resolve("/w", a, b, c)]);
          if (path.isAbsolute(a)) expect([a, b, c, path.resolve(a, b, c)]).toEqual([a, b, c, nodePath.resolve(a, b, c)]);
          cases++;
        }
    expect(cases).toBe(atoms.length ** 3);
  });
});
