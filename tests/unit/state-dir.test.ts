// Removing a container's state dir (src/container/state-dir.ts): moved aside
// under removing@ in one rename, so that nothing that opens one of its files
// afterwards (a lock, a marker) makes it again and a waiter for "removed" sees it
// go at once; dirs a killed remover left there go with the next removal.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REMOVING_DIR, removeStateDir } from "../../src/container/state-dir.ts";
import type { RuntimeContext } from "../../src/container/context.ts";
import type { BunkerError } from "../../src/errors.ts";

const root = mkdtempSync(join(tmpdir(), "bunker-state-dir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const warnings: BunkerError[] = [];
const ctx = { stateRoot: root, log: { note() {}, warn: (e: BunkerError) => warnings.push(e) } } as unknown as RuntimeContext;
const maps = { uid: [], gid: [] };

function container(id: string): string {
  const dir = join(root, id);
  mkdirSync(join(dir, "rootfs/etc"), { recursive: true });
  writeFileSync(join(dir, "state.json"), "{}");
  writeFileSync(join(dir, "lock"), "");
  writeFileSync(join(dir, "rootfs/etc/hostname"), "c\n");
  return dir;
}

test("the dir is gone, and so is removing@ once empty: the state root lists containers only", async () => {
  const dir = container("c1");
  await removeStateDir(ctx, dir, maps);
  expect(existsSync(dir)).toBe(false);
  expect(readdirSync(root)).toEqual([]);
  expect(warnings).toEqual([]);
});

test("a dir already gone is no error", async () => {
  await removeStateDir(ctx, join(root, "never"), maps);
  expect(readdirSync(root)).toEqual([]);
});

test("what a killed remover left under removing@ (its pid has no process) goes with the next removal; a live remover's stays", async () => {
  const aside = join(root, REMOVING_DIR);
  const dead = join(aside, `old.${2 ** 22 + 1}.1`); // above pid_max's largest value: no such process
  const live = join(aside, `busy.${process.pid}.1`);
  for (const d of [dead, live]) mkdirSync(join(d, "rootfs"), { recursive: true });
  await removeStateDir(ctx, container("c2"), maps);
  expect(readdirSync(aside)).toEqual([`busy.${process.pid}.1`]);
  expect(existsSync(join(root, "c2"))).toBe(false);
  rmSync(aside, { recursive: true });
});
