// `bunker run IMAGE`: an image loaded into the user's store runs as an
// overlay of its layers, with the image's Entrypoint/Cmd/Env/WorkingDir/User,
// as root and as the unprivileged test user (whose default is --userns=auto).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { USERS, bunkerAs, isRoot, makeTempDir, ownerOf, removeTree, subRange, testUser } from "../lib/index.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";

const d = isRoot() ? describe : describe.skip;

for (const as of USERS) {
  d(`run IMAGE as ${as}`, () => {
    let dir: string, store: string, state: string;
    const b = (args: string[]) => bunkerAs(as, ["--data-root", store, "--root", state, ...args], { cwd: dir });
    beforeAll(async () => {
      dir = makeTempDir("bunker-img-run", ownerOf(as));
      store = `${dir}/store`;
      state = `${dir}/state`;
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: buildImage(), tags: ["test/app:1"] }]));
      const r = await b(["load", "-i", `${dir}/img.tar`]);
      expect(r.stdout).toBe("Loaded image: test/app:1\n");
    });
    afterAll(() => removeTree(dir));

    test("Entrypoint + Cmd, Env and WorkingDir come from the image", async () => {
      const r = await b(["run", "test/app:1"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("hello from the image world\n");
      expect(r.code).toBe(0);
      const env = await b(["run", "--entrypoint", "/bin/sh", "test/app:1", "-c", "echo $GREETING $PATH $(pwd)"]);
      expect(env.stdout).toBe("hi /app:/bin /app\n");
    });

    test("CMD replaces Cmd; -e overrides the image's Env; -w its WorkingDir", async () => {
      expect((await b(["run", "test/app:1", "there"])).stdout).toBe("hello from the image there\n");
      const r = await b(["run", "-e", "GREETING=bye", "-w", "/home", "--entrypoint", "sh", "test/app:1", "-c", "echo $GREETING $(pwd)"]);
      expect(r.stdout).toBe("bye /home\n");
    });

    test("the user namespace: auto with a subuid range (chown works), -u by name through the image's passwd", async () => {
      const r = await b(["run", "--entrypoint", "sh", "test/app:1", "-c", "cat /proc/self/uid_map; touch /f; chown 1000:1000 /f && stat -c %u:%g /f"]);
      const maps = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
      if (as === "user" && subRange("/etc/subuid", as)) {
        const sub = subRange("/etc/subuid", as)!;
        expect(maps).toEqual([`0 ${testUser().uid} 1`, `1 ${sub.start} 65536`, "1000:1000"]);
      } else {
        expect(maps[0]).toBe(`0 ${ownerOf(as).uid} 1`);
      }
      const u = await b(["run", "-u", "app", "--entrypoint", "id", "test/app:1"]);
      if (as === "user") {
        expect(u.stdout).toBe("uid=1000(app) gid=1000(app)\n");
      } else {
        // root's default is the one-id map: uid 1000 is not in it
        expect(u.code).toBe(125);
        expect(u.stderr).toContain("is not mapped in the container's user namespace");
      }
    });

    test("writes go to a private layer: the image and the next container do not see them", async () => {
      const w = await b(["run", "--entrypoint", "sh", "test/app:1", "-c", "echo changed > /app/hello; rm /etc/passwd; cat /app/hello"]);
      expect(w.stdout).toBe("changed\n");
      expect((await b(["run", "test/app:1"])).stdout).toBe("hello from the image world\n");
      expect((await b(["run", "--entrypoint", "sh", "test/app:1", "-c", "head -1 /etc/passwd"])).stdout).toBe("root:x:0:0:root:/root:/bin/sh\n");
      // nothing of the containers is left in the state dir
      expect(existsSync(state) ? readdirSync(state) : []).toEqual([]);
    });

    test("errors: unknown image, unknown user, no command", async () => {
      const r = await b(["run", "--pull", "never", "no/such:img"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: no such image: no\/such:img: ENOENT/);
      const u = await b(["run", "-u", "nobody-here", "test/app:1"]);
      expect(u.code).toBe(125);
      expect(u.stderr).toBe('bunker: user "nobody-here" is not in the image\'s /etc/passwd: ENOENT (No such file or directory) — use a numeric uid or a user the image defines\n');
      const n = await b(["run", "--entrypoint", "", "test/app:1"]);
      expect(n.code).toBe(125);
      expect(n.stderr).toContain("run: no command given");
    });
  });
}
