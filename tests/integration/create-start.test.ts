// docker's create and start: `bunker create [run's flags] IMAGE [CMD]` sets the
// container up and prints its id, its program waiting until `bunker start`;
// a stopped one is started again (its log kept), a running one left alone.
// Root and the unprivileged user, each with private roots.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { imageRootsFixture } from "../lib/image-roots.ts";
import { USERS, bunkerBinary } from "../lib/index.ts";

const IMAGE = "localhost/bbcs:latest";

for (const as of USERS) {
  describe(`create + start (as ${as})`, () => {
    const f = imageRootsFixture(as, "bunker-create-start", IMAGE, ["sh", "echo", "cat", "sleep", "true"]);
    const { b, quiet } = f;
    const statusOf = async (id: string) => (await b(["ps", "-a"])).stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";
    const waitExited = async (id: string) => {
      for (let i = 0; i < 200 && !(await statusOf(id)).includes("Exited"); i++) await Bun.sleep(25);
      return statusOf(id);
    };

    test("create waits before the program; start runs it; start again runs it again, the log kept", async () => {
      const c = await quiet(["create", "--name", "cs1", "-e", "WHO=there", IMAGE, "sh", "-c", "echo hello $WHO $$; exit 3"]);
      expect(c.code, c.stdout).toBe(0);
      expect(c.stdout.trim()).toBe("cs1");
      expect(await statusOf("cs1")).toMatch(/\sCreated\s+cs1$/);
      // no process of the created container runs bunker's executable: the program waits as the
      // sealed monitor (bunker-start), a child of the init (CVE-2019-5736: an exec could open it)
      const init = (JSON.parse((await b(["state", "cs1"])).stdout) as { pid: number }).pid;
      const bin = statSync(bunkerBinary());
      const waiting = readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
      expect(waiting).toHaveLength(1);
      for (const pid of [init, ...waiting]) {
        const exe = statSync(`/proc/${pid}/exe`);
        expect(exe.dev === bin.dev && exe.ino === bin.ino).toBe(false);
      }
      expect(readFileSync(`/proc/${waiting[0]}/comm`, "utf8").trim()).toBe("bunker-start");
      await Bun.sleep(200);
      expect((await b(["logs", "cs1"])).stdout).toBe(""); // nothing ran yet
      const s = await quiet(["start", "cs1"]);
      expect(s.code, s.stdout).toBe(0);
      expect(s.stdout.trim()).toBe("cs1");
      expect(await waitExited("cs1")).toContain("Exited (3)");
      // PID 2: an init is PID 1, as in run -d
      expect((await b(["logs", "cs1"])).stdout).toBe("hello there 2\n");
      const again = await quiet(["start", "cs1"]);
      expect(again.code, again.stdout).toBe(0);
      for (let i = 0; i < 200 && (await b(["logs", "cs1"])).stdout.split("\n").length < 3; i++) await Bun.sleep(25);
      expect((await b(["logs", "cs1"])).stdout).toBe("hello there 2\nhello there 2\n");
      expect(await waitExited("cs1")).toContain("Exited (3)");
      expect((await b(["rm", "cs1"])).code).toBe(0);
      expect(existsSync(join(f.base, "state", "cs1"))).toBe(false);
    });

    test("start of a running container does nothing; create --rm is removed once it exits after start", async () => {
      const id = (await quiet(["create", IMAGE, "sleep", "30"])).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect((await quiet(["start", id])).code).toBe(0);
      const pid = JSON.parse((await b(["state", id])).stdout).pid as number;
      expect(await statusOf(id)).toMatch(/\sUp (Less than a second|\d+ seconds?)\s+\S+$/);
      expect((await quiet(["start", id])).code).toBe(0);
      expect(JSON.parse((await b(["state", id])).stdout).pid).toBe(pid); // the same process, not a new one
      expect((await b(["rm", "-f", id])).code).toBe(0);
      for (let i = 0; i < 40 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(50);
      expect(existsSync(`/proc/${pid}`)).toBe(false);

      const rmId = (await quiet(["create", "--rm", IMAGE, "true"])).stdout.trim();
      expect(existsSync(join(f.base, "state", rmId))).toBe(true);
      expect((await quiet(["start", rmId])).code).toBe(0);
      for (let i = 0; i < 100 && existsSync(join(f.base, "state", rmId)); i++) await Bun.sleep(50);
      expect(existsSync(join(f.base, "state", rmId))).toBe(false);
    });

    test("create -it makes a container for bunker attach; a created container removed by rm leaves no process", async () => {
      const t = await b(["create", "-it", IMAGE, "sh"]);
      expect(t.code, t.stderr).toBe(0);
      expect((await quiet(["rm", "-f", t.stdout.trim()])).code).toBe(0);
      const id = (await quiet(["create", IMAGE, "sleep", "30"])).stdout.trim();
      const pid = JSON.parse((await b(["state", id])).stdout).pid as number;
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      expect((await b(["rm", id])).code).toBe(0); // created, never started: no -f needed (as Docker's)
      for (let i = 0; i < 40 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(50);
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    });
  });
}
