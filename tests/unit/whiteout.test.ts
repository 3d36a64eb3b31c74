import { describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isOverlayWhiteout, whiteoutOf } from "../../src/image/whiteout.ts";
import { AT_FDCWD, S_IFCHR, lstatat, mknodat } from "../../src/sys/fsat.ts";

describe("whiteout rules", () => {
  test("OCI names: .wh.NAME deletes NAME, .wh..wh..opq is opaque, other .wh..wh. names are aufs metadata", () => {
    expect(whiteoutOf("file")).toBeUndefined();
    expect(whiteoutOf("a.wh.b")).toBeUndefined();
    expect(whiteoutOf(".wh.me")).toEqual({ kind: "delete", target: "me" });
    expect(whiteoutOf(".wh..hidden")).toEqual({ kind: "delete", target: ".hidden" });
    expect(whiteoutOf(".wh..wh..opq")).toEqual({ kind: "opaque" });
    expect(whiteoutOf(".wh..wh.plnk")).toEqual({ kind: "aufs" });
    for (const bad of [".wh.", ".wh..", ".wh..."]) expect(whiteoutOf(bad)).toEqual({ kind: "bad" });
  });

  test("an overlay whiteout is a 0/0 character device, not any device", () => {
    const d = mkdtempSync(join(tmpdir(), "bunker-wh-"));
    try {
      mknodat(AT_FDCWD, join(d, "gone"), S_IFCHR | 0o600, 0); // the kernel lets anyone make a whiteout
      const st = lstatat(AT_FDCWD, join(d, "gone"))!;
      expect(isOverlayWhiteout(st.mode, st.rdev)).toBe(true);
      const node = lstatSync(join(d, "gone"));
      expect(isOverlayWhiteout(node.mode, node.rdev)).toBe(true);
      const nul = lstatSync("/dev/null");
      expect(isOverlayWhiteout(nul.mode, nul.rdev)).toBe(false);
      const dir = lstatat(AT_FDCWD, d)!;
      expect(isOverlayWhiteout(dir.mode, dir.rdev)).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
