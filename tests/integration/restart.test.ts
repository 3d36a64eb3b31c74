// Restart policies without a server: `run -d --restart` (and docker-style
// create) kept by the container's log writer, which becomes `bunker
// __restart` when the container ends — Docker's decision, its back-off,
// RestartCount; stop, kill and rm end it.  Root and the unprivileged user.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { USERS, bunkerAs, detachedIdAs, isRoot, rootfsFixture } from "../lib/index.ts";

const describeRoot = isRoot() ? describe : describe.skip;

for (const as of USERS) {
  describeRoot(`--restart (as ${as})`, () => {
    const f = rootfsFixture(as, "bunker-restart");
    const b = (args: string[]) => bunkerAs(as, ["--root", f.root, ...args]);
    const detached = (args: string[]) => detachedIdAs(as, ["--root", f.root, ...args]);
    const inspect = async (id: string, format: string) => (await b(["inspect", "--format", format, id])).stdout.trim();
    const runs = async (id: string, word: string) => (await b(["logs", id])).stdout.split("\n").filter((l) => l === word).length;
    /** waits until FN holds (up to MS), then says whether it does */
    async function until(fn: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
      for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(100)) if (await fn()) return true;
      return fn();
    }

    test("on-failure:2 of a command that exits 1: it runs 3 times, then stays Exited (1) with RestartCount 2", async () => {
      const id = await detached(["run", "-d", "--restart", "on-failure:2", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo ran; exit 1"]);
      expect(await until(async () => (await runs(id, "ran")) === 3 && (await inspect(id, "{{.State.Status}}")) === "exited")).toBe(true);
      // the back-off after the third exit would be 400 ms: nothing more comes
      await Bun.sleep(1500);
      expect(await runs(id, "ran")).toBe(3);
      expect(await inspect(id, "{{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}")).toBe("2 1 on-failure:2");
      // on-failure leaves a success alone
      const ok = await detached(["run", "-d", "--restart", "on-failure", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo ok"]);
      expect(await until(async () => (await inspect(ok, "{{.State.Status}}")) === "exited")).toBe(true);
      await Bun.sleep(800);
      expect(await runs(ok, "ok")).toBe(1);
      expect((await b(["rm", id, ok])).code).toBe(0);
    }, 60_000);

    test("always restarts after exit 0 until stop; stop leaves it Exited, start runs it again with RestartCount 0", async () => {
      const id = await detached(["run", "-d", "--restart", "always", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo up; sleep 0.2"]);
      expect(await until(async () => (await runs(id, "up")) >= 3)).toBe(true);
      expect(Number(await inspect(id, "{{.RestartCount}}"))).toBeGreaterThanOrEqual(2);
      expect((await b(["stop", "-t", "1", id])).code).toBe(0);
      const after = await runs(id, "up");
      await Bun.sleep(2000); // longer than any back-off so far (100, 200, 400 ms …)
      expect(await runs(id, "up")).toBe(after);
      expect(await inspect(id, "{{.State.Status}}")).toBe("exited");
      // a start by hand: the policy again, the count from 0
      expect((await b(["start", id])).code).toBe(0);
      expect(await until(async () => (await runs(id, "up")) >= after + 2)).toBe(true);
      expect((await b(["rm", "-f", id])).code).toBe(0);
      expect(existsSync(join(f.root, id))).toBe(false);
      await Bun.sleep(1000); // a restart that was waiting finds the container gone
      expect(existsSync(join(f.root, id))).toBe(false);
    }, 60_000);

    test("unless-stopped: not restarted after stop; kill ends always too; create --restart keeps it", async () => {
      const u = await detached(["run", "-d", "--restart", "unless-stopped", "--rootfs", f.rootfs, "--", "/bin/sleep", "100"]);
      expect((await b(["stop", "-t", "1", u])).code).toBe(0);
      await Bun.sleep(1500);
      expect(await inspect(u, "{{.State.Status}} {{.RestartCount}}")).toBe("exited 0");
      const k = await detached(["run", "-d", "--restart", "always", "--rootfs", f.rootfs, "--", "/bin/sleep", "100"]);
      expect((await b(["kill", k, "KILL"])).code).toBe(0);
      await Bun.sleep(1500);
      expect(await inspect(k, "{{.State.Status}} {{.RestartCount}}")).toBe("exited 0");
      const c = (await b(["create", "--restart", "on-failure:1", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo made; exit 3"])).stdout.trim();
      expect((await b(["start", c])).code).toBe(0);
      expect(await until(async () => (await runs(c, "made")) === 2 && (await inspect(c, "{{.State.Status}}")) === "exited")).toBe(true);
      expect(await inspect(c, "{{.RestartCount}} {{.State.ExitCode}}")).toBe("1 3");
      expect((await b(["rm", u, k, c])).code).toBe(0);
    }, 60_000);

    test("refused in one line: --restart without -d, with --rm, an unknown policy, a count for always", async () => {
      for (const [args, want] of [
        [["run", "--restart", "always"], "--restart always is kept for a detached container"],
        [["run", "-d", "--rm", "--restart", "always"], "--restart always and --rm conflict"],
        [["run", "-d", "--restart", "sometimes"], 'unknown restart policy "sometimes"'],
        [["run", "-d", "--restart", "always:3"], "a maximum retry count is for on-failure only"],
      ] as const) {
        const r = await b([...args, "--rootfs", f.rootfs, "--", "/bin/true"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toContain(want);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
    });
  });
}
