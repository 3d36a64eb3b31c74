// src/sys/fs-core.ts's helpers that replace Bun facilities on the start-up path (getrandom for crypto, utf8 for Buffer)
import { describe, expect, test } from "bun:test";
import { randomBytes, utf8 } from "../../src/sys/fs-core.ts";
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
