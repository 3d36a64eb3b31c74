// A docker-style container's writable layer (run -d without --rm, create):
// it survives the container's exit (start again sees what it wrote), diff
// lists its changes as Docker does, commit makes an image of it that run,
// inspect and save see; rm removes it.  Root and the unprivileged user (with
// its subordinate ids: files chowned inside keep their owners), real kernel
// overlay, each with private roots.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { imageRootsFixture } from "../lib/image-roots.ts";
import { USERS, asUserArgv, bunkerBinary, runAs } from "../lib/index.ts";

const IMAGE = "localhost/bbcommit:latest";
const APPLETS = ["sh", "echo", "cat", "sleep", "true", "rm", "mkdir", "chown", "stat", "test", "ls"];

for (const as of USERS) {
  describe(`writable layer, diff, commit (as ${as})`, () => {
    const f = imageRootsFixture(as, "bunker-commit", IMAGE, APPLETS);
    const { b, quiet } = f;
    const exited = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const line = (await b(["ps", "-a"])).stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";
        if (line.includes("Exited")) return line;
        await Bun.sleep(25);
      }
      throw new Error(`${id} did not exit`);
    };
    test("start again sees the files the container wrote; rm removes its layer", async () => {
      const script = "echo x$(cat /count 2>/dev/null) > /count; cat /count";
      const r = await quiet(["run", "-d", "--name", "again", IMAGE, "sh", "-c", script]);
      expect(r.code, r.stdout).toBe(0);
      await exited("again");
      expect((await b(["logs", "again"])).stdout).toBe("x\n");
      expect((await quiet(["start", "again"])).code).toBe(0);
      await Bun.sleep(100);
      await exited("again");
      expect((await b(["logs", "again"])).stdout).toBe("x\nxx\n");
      expect(existsSync(join(f.base, "state", "again", "upper"))).toBe(true);
      // the image under a kept layer is in use, as Docker's
      const rmi = await b(["rmi", IMAGE]);
      expect(rmi.code).toBe(125);
      expect(rmi.stderr).toMatch(/is used by container again.*EBUSY/);
      expect((await b(["rm", "again"])).code).toBe(0);
      expect(existsSync(join(f.base, "state", "again"))).toBe(false);
    });

    test("diff: A, C and D lines as Docker prints them, sorted", async () => {
      const script = "mkdir -p /new/sub && echo a > /new/sub/file && echo more >> /etc/passwd && rm /etc/group /bin/ls";
      expect((await quiet(["run", "-d", "--name", "changed", IMAGE, "sh", "-c", script])).code).toBe(0);
      await exited("changed");
      const d = await b(["diff", "changed"]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toBe(["C /bin", "D /bin/ls", "C /etc", "D /etc/group", "C /etc/passwd", "A /new", "A /new/sub", "A /new/sub/file", ""].join("\n"));
    });

    test("commit of a stopped container: its changes, --change, -m, --author; run sees them", async () => {
      const c = await b(["commit", "--change", 'CMD ["cat", "/new/sub/file"]', "--change", "ENV MADE=by-commit", "-m", "a message", "--author", "Tester <t@example.org>", "changed", "localhost/committed:1"]);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
      const run = await quiet(["run", "--rm", "localhost/committed:1"]);
      expect(run.stdout).toBe("a\n");
      expect(run.code).toBe(0);
      const seen = await quiet(["run", "--rm", "localhost/committed:1", "sh", "-c", 'test -e /etc/group || echo group gone; test -e /bin/ls || echo ls gone; cat /etc/passwd | tail -n 1; echo $MADE']);
      expect(seen.stdout).toBe("group gone\nls gone\nmore\nby-commit\n");
      const info = JSON.parse((await b(["inspect", "localhost/committed:1"])).stdout);
      const img = Array.isArray(info) ? info[0] : info;
      expect(img.Id).toBe(c.stdout.trim());
      expect(img.Author).toBe("Tester <t@example.org>");
      expect(img.Config.Cmd).toEqual(["cat", "/new/sub/file"]);
      expect(img.RootFS.Layers).toHaveLength(2);
      const images = (await b(["images"])).stdout;
      expect(images).toContain("localhost/committed");
      const saved = join(f.base, "committed.tar");
      expect((await runAs(as, asUserArgv(as, [bunkerBinary(), ...f.roots, "save", "-o", saved, "localhost/committed:1"]))).code).toBe(0);
      expect(existsSync(saved)).toBe(true);
      expect((await b(["rm", "changed"])).code).toBe(0);
    });

    test("commit of a running container; owners chowned inside are kept; a commit without REF is dangling", async () => {
      // chown needs more than one id in the container: --userns=auto (rootless: its subordinate ids)
      const script = "mkdir /owned && echo mine > /owned/f && chown -R 1000:1000 /owned && echo ready && sleep 30";
      expect((await quiet(["run", "-d", "--userns=auto", "--name", "live", IMAGE, "sh", "-c", script])).code).toBe(0);
      for (let i = 0; i < 200 && !(await b(["logs", "live"])).stdout.includes("ready"); i++) await Bun.sleep(25);
      expect((await b(["logs", "live"])).stdout).toBe("ready\n");
      const c = await b(["commit", "live", "localhost/live:1"]);
      expect(c.code, c.stderr).toBe(0);
      const st = await quiet(["run", "--rm", "--userns=auto", "localhost/live:1", "stat", "-c", "%u:%g %n", "/owned", "/owned/f"]);
      expect(st.stdout).toBe("1000:1000 /owned\n1000:1000 /owned/f\n");
      // docker's commit: the container's command is the image's Cmd
      const info = JSON.parse((await b(["inspect", "localhost/live:1"])).stdout);
      expect((Array.isArray(info) ? info[0] : info).Config.Cmd).toEqual(["sh", "-c", script]);
      const dangling = await b(["commit", "--pause=false", "live"]);
      expect(dangling.code, dangling.stderr).toBe(0);
      expect((await b(["images", "-q", "--no-trunc"])).stdout).toContain(dangling.stdout.trim());
      expect((await b(["rm", "-f", "live"])).code).toBe(0);
    });

    test("what has no layer to read is refused in one line", async () => {
      const missing = await b(["diff", "nosuch"]);
      expect(missing.code).toBe(125);
      expect(missing.stderr).toMatch(/^bunker: container "nosuch" does not exist: ENOENT/);
      expect((await quiet(["run", "-d", "--rm", "--name", "gone", IMAGE, "sleep", "30"])).code).toBe(0);
      const r = await b(["commit", "gone"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: commit: container "gone" keeps its writable layer in memory of its own .*EOPNOTSUPP.*run it detached without --rm/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect((await b(["rm", "-f", "gone"])).code).toBe(0);
      const bad = await b(["commit", "--change", "RUN true", "nosuch"]);
      expect(bad.code).toBe(125);
      // start of a stopped one whose image went (rmi -f): refused before anything of it is removed
      expect((await quiet(["run", "-d", "--name", "orphan", IMAGE, "sh", "-c", "echo kept > /kept"])).code).toBe(0);
      await exited("orphan");
      expect((await b(["rmi", "-f", IMAGE])).code).toBe(0); // the last test of the block: the image is not needed after
      const start = await b(["start", "orphan"]);
      expect(start.code).toBe(125);
      expect(start.stderr).toMatch(/^bunker: start: the image container "orphan" was made from \(sha256:[0-9a-f]{64}\) is no longer in the store: ENOENT/);
      expect((await b(["diff", "orphan"])).stderr).toContain("is no longer in the store");
      expect(existsSync(join(f.base, "state", "orphan", "upper"))).toBe(true);
      expect((await b(["rm", "orphan"])).code).toBe(0);
    });
  });
}
