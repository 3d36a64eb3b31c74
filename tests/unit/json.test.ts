// src/json.ts: the bounded reader and parser of untrusted documents.
import { afterAll, expect, test } from "bun:test";
import { messageOf } from "../lib/error-line.ts";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJson, readBounded } from "../../src/json.ts";

const dir = mkdtempSync(join(tmpdir(), "bunker-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a file over its kind's limit is refused by its size, without being read (a sparse 1 TiB file: at once)", () => {
  const f = join(dir, "big.json");
  writeFileSync(f, "");
  truncateSync(f, 2 ** 40);
  const t0 = performance.now();
  expect(messageOf(() => readBounded(f, "auth", "cannot read the credentials file"))).toBe(`bunker: ${f}: too large: 1099511627776 bytes, at most 1048576 are read: EINVAL (Invalid argument) — is it the right file?`);
  expect(performance.now() - t0).toBeLessThan(100);
});

test("a stream is cut off once it passes the limit", () => {
  const p = Bun.spawnSync(["sh", "-c", `head -c 2000000 /dev/zero | "$0" -e 'import { readBounded } from ${JSON.stringify(join(import.meta.dir, "../../src/json.ts"))}; try { readBounded("-", "auth", "read") } catch (e) { console.log(e.format()) }'`, process.execPath]);
  expect(p.stdout.toString()).toBe("bunker: -: too large: more than 1048576 bytes: EINVAL (Invalid argument) — is it the right file?\n");
});

test("a missing file names the read and the path; a small one is read", () => {
  expect(messageOf(() => readBounded(join(dir, "none.json"), "config", "exec: cannot read --process"))).toBe(`bunker: exec: cannot read --process: ENOENT (No such file or directory) [${join(dir, "none.json")}]`);
  writeFileSync(join(dir, "ok.json"), '{"a":1}');
  expect(parseJson(readBounded(join(dir, "ok.json"), "config", "read"), "ok.json", "config")).toEqual({ a: 1 });
});

test("nesting: brackets inside strings do not count; the bound is exact; invalid UTF-8 is read as U+FFFD", () => {
  expect(parseJson(`{"a":"${"[".repeat(500)}"}`, "x", "config")).toEqual({ a: "[".repeat(500) });
  expect(parseJson(`{"a":"\\"${"[".repeat(500)}"}`, "x", "config")).toEqual({ a: `"${"[".repeat(500)}` });
  expect(() => parseJson(`${"[".repeat(100)}${"]".repeat(100)}`, "x", "config")).not.toThrow();
  expect(messageOf(() => parseJson(`${"[".repeat(101)}${"]".repeat(101)}`, "x", "config"))).toBe("bunker: x: JSON nested deeper than 100 levels at line 1, column 101 (byte 100): EINVAL (Invalid argument)");
  expect(parseJson(new Uint8Array([0x22, 0xff, 0x22]), "x", "config")).toBe("\ufffd");
  // byte offsets count UTF-8 bytes, columns characters
  expect(messageOf(() => parseJson('{"é": tru}', "x", "config"))).toBe('bunker: x: invalid JSON at line 1, column 7 (byte 7): unexpected "t": EINVAL (Invalid argument)');
});

test("the whole of a file and of a stream of many reads comes back, byte for byte (a file of its size, a pipe in 64 KiB reads)", () => {
  const bytes = new Uint8Array(300_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
  const f = join(dir, "many.bin");
  writeFileSync(f, bytes);
  expect(Buffer.from(readBounded(f, "config", "read")).equals(Buffer.from(bytes))).toBe(true);
  writeFileSync(join(dir, "empty.json"), "");
  expect(readBounded(join(dir, "empty.json"), "config", "read").length).toBe(0);
  const p = Bun.spawnSync(["sh", "-c", `cat "$1" | "$0" -e 'import { readBounded } from ${JSON.stringify(join(import.meta.dir, "../../src/json.ts"))}; const b = readBounded("-", "config", "read"); process.stdout.write(String(b.length) + " " + Bun.hash(b))'`, process.execPath, f]);
  expect(p.stdout.toString()).toBe(`${bytes.length} ${Bun.hash(bytes)}`);
});
