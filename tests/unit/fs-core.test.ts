// src/sys/fs-core.ts's helpers that replace Bun facilities on the start-up path (getrandom for crypto, utf8 for Buffer)
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { randomBytes, readlinkat, readText, statPath, AT_FDCWD, utf8 } from "../../src/sys/fs-core.ts";
import { randomHex } from "../../src/sys/random-hex.ts";

describe("randomBytes (getrandom(2))", () => {
  test("gives the asked number of bytes, different each time", () => {
    expect(randomBytes(0).length).toBe(0);
    const a = randomBytes(64), b = randomBytes(64);
    expect(a.length).toBe(64);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    // 4096 bytes: every byte value shows up (a buffer left zero, or only partly filled, would not)
    expect(new Set(randomBytes(4096)).size).toBeGreaterThan(250);
  });
  test("randomHex: 2 hex digits a byte, distinct ids", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const h = randomHex(6);
      expect(h).toMatch(/^[0-9a-f]{12}$/);
      ids.add(h);
    }
    expect(ids.size).toBe(200);
  });
});

describe("utf8", () => {
  test("encodes as Buffer.from does, NULs and non-ASCII included", () => {
    for (const s of ["", "a\0b\0", "/tmp/ümlaut/日本\0", "x".repeat(10000)]) expect(Buffer.from(utf8(s)).equals(Buffer.from(s))).toBe(true);
  });
});

describe("statPath, readText, readlinkat", () => {
  test("statPath's fields are node's statSync's: a file past 4 GiB (both words of its size), a directory, a device's rdev, a symlink followed, mtime to the µs", () => {
    const d = mkdtempSync(`${tmpdir()}/fs-core-`);
    try {
      writeFileSync(`${d}/f`, "12345");
      writeFileSync(`${d}/big`, "");
      truncateSync(`${d}/big`, 5 * 2 ** 30 + 7); // sparse
      utimesSync(`${d}/f`, 1700000000.25, 1700000000.123456);
      symlinkSync("f", `${d}/l`);
      for (const p of [`${d}/f`, `${d}/big`, d, "/dev/null", "/dev/tty", `${d}/l`]) {
        const ours = statPath(p)!, theirs = statSync(p);
        expect([p, ours.mode, ours.uid, ours.gid, ours.size, ours.nlink, ours.rdev]).toEqual([p, theirs.mode, theirs.uid, theirs.gid, theirs.size, theirs.nlink, theirs.rdev]);
        expect(Math.abs(ours.mtime * 1000 - theirs.mtimeMs)).toBeLessThan(0.01);
      }
      expect(statPath(`${d}/big`)!.size).toBe(5 * 2 ** 30 + 7);
      expect(statPath(`${d}/missing`)).toBeUndefined();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
  test("readText and readlinkat decode as node does, past the first 16 KiB read and non-ASCII", () => {
    const d = mkdtempSync(`${tmpdir()}/fs-core-`);
    try {
      const text = "ünïcode ✓ 日本\n".repeat(3000);
      writeFileSync(`${d}/t`, text);
      expect(readText(`${d}/t`)).toBe(readFileSync(`${d}/t`, "utf8"));
      expect(readText("/proc/self/mountinfo")).toBe(readFileSync("/proc/self/mountinfo", "utf8"));
      symlinkSync("zïel/ü", `${d}/l`);
      expect(readlinkat(AT_FDCWD, `${d}/l`)).toBe("zïel/ü");
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
