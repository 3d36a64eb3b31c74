// The one tree remover: a plain remove, then the shim's remove-tree op in a user namespace.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeOwnedTree } from "../../src/sys/remove-tree.ts";
import { runStorePlan } from "../../src/sys/launch.ts";
import { removeTreePlan } from "../../src/plan/store.ts";
import { singleMaps } from "../../src/sys/idmap.ts";
import { BunkerError } from "../../src/errors.ts";
import { encodePlan } from "../../src/sys/plan-encode.ts";

const me = () => singleMaps(process.getuid!(), process.getgid!());

/** a tree a plain rmSync cannot remove unprivileged: a read-only dir with files, a dir without any permission */
function lockedTree(): string {
  const d = mkdtempSync(join(tmpdir(), "bunker-rm-"));
  mkdirSync(join(d, "a/b/c"), { recursive: true });
  for (const f of ["a/f", "a/b/f", "a/b/c/f"]) writeFileSync(join(d, f), "x");
  mkdirSync(join(d, "none"));
  writeFileSync(join(d, "none/f"), "x");
  chmodSync(join(d, "a/b"), 0o555);
  chmodSync(join(d, "none"), 0);
  return d;
}

describe("tree removal", () => {
  test("the remove-tree op is shim op 42 with its path", () => {
    const buf = encodePlan({ cloneFlags: 0, ops: [{ op: "remove-tree", path: "/s/x" }] });
    const dv = new DataView(buf.buffer);
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true)]).toEqual([42, 0, 1]);
  });

  test("the remove-tree op removes read-only and unreadable dirs of the caller (as root of a one-id user namespace)", async () => {
    const d = lockedTree();
    await runStorePlan(removeTreePlan(d), me());
    expect(existsSync(d)).toBe(false);
  });

  test("removeOwnedTree removes the same tree, whoever runs it", async () => {
    const d = lockedTree();
    await removeOwnedTree(d, me());
    expect(existsSync(d)).toBe(false);
  });

  test("what cannot be removed is one error naming the path", async () => {
    const e = await runStorePlan(removeTreePlan("/proc/version"), me()).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(BunkerError);
    expect((e as BunkerError).format()).toMatch(/^bunker: cannot remove \/proc\/version: E[A-Z]+ \(.+\) \[\/proc\/version\]$/);
  });
});
