// run -d --rm: the container is removed when it exits (its state dir, its
// log), by the log writer turned `bunker __finish` outside the container;
// rm -f meanwhile still works and leaves no process behind.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { USERS, bunkerAs, detachedIdAs, isRoot, rootfsFixture } from "../lib/index.ts";

const describeRoot = isRoot() ? describe : describe.skip;

for (const as of USERS) {
  describeRoot(`run -d --rm (as ${as})`, () => {
    const f = rootfsFixture(as, "bunker-run-rm");
    const b = (args: string[]) => bunkerAs(as, ["--root", f.root, ...args]);
    const detached = (args: string[]) => detachedIdAs(as, ["--root", f.root, ...args]);

    test("the container is gone once its command exits: not listed, its state dir removed", async () => {
      const id = await detached(["run", "-d", "--rm", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo bye; sleep 0.3"]);
      expect((await b(["ps", "-a", "-q"])).stdout.split("\n")).toContain(id);
      for (let i = 0; i < 100 && existsSync(join(f.root, id)); i++) await Bun.sleep(50);
      expect(existsSync(join(f.root, id))).toBe(false);
      expect((await b(["ps", "-a", "-q"])).stdout.split("\n")).not.toContain(id);
      // without --rm it stays, Exited
      const kept = await detached(["run", "-d", "--rootfs", f.rootfs, "--", "/bin/true"]);
      for (let i = 0; i < 100 && !(await b(["ps", "-a"])).stdout.includes("Exited"); i++) await Bun.sleep(50);
      expect((await b(["ps", "-a"])).stdout).toMatch(new RegExp(`^${kept}\\s.*Exited \\(0\\)`, "m"));
      expect((await b(["rm", kept])).code).toBe(0);
    });

    test("rm -f of a running --rm container: gone at once, nothing of it left running", async () => {
      const id = await detached(["run", "-d", "--rm", "--rootfs", f.rootfs, "--", "/bin/sleep", "30"]);
      const pid = JSON.parse((await b(["state", id])).stdout).pid as number;
      expect((await b(["rm", "-f", id])).code).toBe(0);
      expect(existsSync(join(f.root, id))).toBe(false);
      for (let i = 0; i < 40 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(50);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    });
  });
}
