// `bunker run IMAGE`: an image loaded into the user's store runs as an
// overlay of its layers, with the image's Entrypoint/Cmd/Env/WorkingDir/User,
// as root and as the unprivileged test user (whose default is --userns=auto).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { USERS, bunkerAs, spawnBunkerAs, isRoot, makeTempDir, ownerOf, removeTree, subRange, testUser } from "../lib/index.ts";
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

    test("rmi refuses an image a running container uses; -f removes it", async () => {
      const run = spawnBunkerAs(as, ["--data-root", store, "--root", state, "run", "--entrypoint", "sleep", "test/app:1", "5"], { cwd: dir });
      for (let i = 0; i < 200 && !(existsSync(state) && readdirSync(state).length); i++) await Bun.sleep(20);
      await Bun.sleep(300);
      const r = await b(["rmi", "test/app:1"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: image test\/app:1 is used by container [0-9a-f]{12}: EBUSY/);
      run.kill("SIGKILL");
      await run.exited;
      // a killed bunker's record is stale: the image is free again
      await b(["tag", "test/app:1", "test/app:2"]);
      const rm = await b(["rmi", "test/app:2"]);
      expect(rm.code).toBe(0);
    });

    test("what the unpacker could not represent is said once, by load: run IMAGE's output (2>&1) is only the command's", async () => {
      // a forged overlay xattr is refused as root and as a user; a device node cannot be made without privileges
      const noted = buildImage({ extraLayers: [[{ name: "app/noted", data: "x\n", xattrs: { "user.overlay.origin": "y" } }, { name: "dev", type: "dir" }, { name: "dev/zero2", type: "char", devmajor: 1, devminor: 5, mode: 0o666 }]] });
      writeFileSync(`${dir}/noted.tar`, dockerArchive([{ image: noted, tags: ["test/noted:1"] }]));
      const load = await b(["load", "-i", `${dir}/noted.tar`]);
      expect(load.code).toBe(0);
      expect(load.stderr).toContain("bunker: note: ignored xattr user.overlay.origin from the image");
      if (as === "user") expect(load.stderr).toContain("bunker: note: device nodes skipped");
      for (let i = 0; i < 2; i++) {
        const r = await b(["run", "--entrypoint", "/bin/sh", "test/noted:1", "-c", "echo out; echo err >&2"]);
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "out\n", stderr: "err\n" });
      }
    });

    test("errors: unknown image, unknown user, no command", async () => {
      const r = await b(["run", "--pull", "never", "no/such:img"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: no such image: no\/such:img \(looked for docker\.io\/no\/such:img, localhost\/no\/such:img\): ENOENT/);
      const u = await b(["run", "-u", "nobody-here", "test/app:1"]);
      expect(u.code).toBe(125);
      expect(u.stderr).toBe("bunker: unable to find user nobody-here: no matching entries in passwd file: ENOENT (No such file or directory) — use a numeric uid or a user the image's /etc/passwd defines\n");
      const n = await b(["run", "--entrypoint", "", "test/app:1"]);
      expect(n.code).toBe(125);
      expect(n.stderr).toContain("run: no command given");
    });

    test("a later run of a reference reads its launch record; a name moved by tag, an rmi and a lost layer are still seen", async () => {
      const other = buildImage({ config: { Env: ["PATH=/app:/bin"], Entrypoint: ["/app/hello"], Cmd: ["other"], WorkingDir: "/app", User: "0" } });
      writeFileSync(`${dir}/other.tar`, dockerArchive([{ image: other, tags: ["test/other:1"] }]));
      expect((await b(["load", "-i", `${dir}/other.tar`])).code).toBe(0);
      expect((await b(["run", "test/other:1"])).stdout).toBe("hello from the image other\n");
      expect(readdirSync(`${store}/launch`).filter((f) => f.endsWith(".json")).length).toBeGreaterThan(0);
      expect((await b(["run", "test/other:1"])).stdout).toBe("hello from the image other\n");
      // the name moves to another image: the record no longer describes the store
      expect((await b(["tag", "test/app:1", "test/other:1"])).code).toBe(0);
      expect((await b(["run", "test/other:1"])).stdout).toBe("hello from the image world\n");
      expect((await b(["rmi", "test/other:1"])).code).toBe(0);
      const gone = await b(["run", "--pull", "never", "test/other:1"]);
      expect(gone.stderr).toMatch(/^bunker: no such image: test\/other:1 \(looked for docker\.io\/test\/other:1, localhost\/test\/other:1\): ENOENT/);
      // the image's User is resolved once, into the record; -u still resolves through the image's passwd
      const asApp = buildImage({ config: { Entrypoint: ["id"], User: "app" } });
      writeFileSync(`${dir}/as-app.tar`, dockerArchive([{ image: asApp, tags: ["test/as-app:1"] }]));
      expect((await b(["load", "-i", `${dir}/as-app.tar`])).code).toBe(0);
      for (let k = 0; k < 2; k++) {
        const id = await b(["run", "test/as-app:1"]);
        if (as === "user") expect(id.stdout).toBe("uid=1000(app) gid=1000(app)\n");
        else expect(id.stderr).toContain("user 1000:1000 is not mapped in the container's user namespace");
        expect((await b(["run", "-u", "0", "test/as-app:1"])).stdout).toBe("uid=0(root) gid=0(root)\n");
      }
      expect(readdirSync(`${store}/launch`)).toContain("test%2Fas-app:1.json");
      // a layer lost behind the store's back: the slow path's error, not a failed mount
      expect((await b(["run", "test/app:1"])).code).toBe(0);
      const layer = readdirSync(`${store}/layers`).find((f) => !f.endsWith(".json"))!;
      removeTree(`${store}/layers/${layer}`);
      const lost = await b(["run", "test/app:1"]);
      expect(lost.code).toBe(125);
      expect(lost.stderr).toMatch(/^bunker: the image store lost layer sha256:[0-9a-f]{64}: ENOENT/);
    });
  });
}

for (const as of USERS) {
  d(`image prune as ${as}`, () => {
    let dir: string;
    const b = (args: string[]) => bunkerAs(as, ["--data-root", `${dir}/store`, "--root", `${dir}/state`, ...args], { cwd: dir });
    const x = buildImage({ label: "x" }), y = buildImage({ label: "y" });
    beforeAll(async () => {
      dir = makeTempDir("bunker-img-prune", ownerOf(as));
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: x, tags: ["test/x:1"] }, { image: y, tags: ["test/y:1"] }]));
      expect((await b(["load", "-i", `${dir}/img.tar`])).code).toBe(0);
    });
    afterAll(async () => {
      await b(["rmi", "-f", "test/x:1", "test/y:1"]);
      removeTree(dir);
    });

    test("dangling images go, named ones stay; -a removes every image no container uses", async () => {
      // the name moves to y: x is dangling
      expect((await b(["tag", "test/y:1", "test/x:1"])).code).toBe(0);
      const p = await b(["image", "prune"]);
      expect(p.stderr).toBe("");
      expect(p.stdout).toContain(`Deleted: ${x.configDigest}\n`);
      expect((await b(["images", "-q", "--no-trunc"])).stdout.trim()).toBe(y.configDigest);
      // y runs detached: -a keeps it
      const id = (await b(["run", "-d", "--entrypoint", "sleep", "test/y:1", "30"])).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      const kept = await b(["image", "prune", "-a"]);
      expect(kept.stdout).not.toContain("Deleted:");
      expect((await b(["images", "-q", "--no-trunc"])).stdout.trim()).toBe(y.configDigest);
      expect((await b(["rm", "-f", id])).code).toBe(0);
      const all = await b(["image", "prune", "-a"]);
      expect(all.stdout).toContain(`Deleted: ${y.configDigest}\n`);
      expect((await b(["images", "-q"])).stdout).toBe("");
      // the unused blobs and layers went with them
      expect(readdirSync(`${dir}/store/layers`)).toEqual([]);
      expect(readdirSync(`${dir}/store/blobs/sha256`)).toEqual([]);
    });
  });

  d(`the default store (no --data-root) as ${as}`, () => {
    let dir: string;
    const b = (args: string[], env: Record<string, string> = {}) => bunkerAs(as, ["--root", `${dir}/state`, ...args], { cwd: dir, env: { HOME: `${dir}/home`, ...env } });
    beforeAll(() => {
      dir = makeTempDir("bunker-img-default", ownerOf(as));
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: buildImage(), tags: ["test/app:1"] }]));
    });
    afterAll(async () => {
      await b(["rmi", "-f", "test/app:1", "test/app:2"]); // the layers may belong to subordinate ids
      removeTree(dir);
    });

    test("load, images, inspect, tag, run, save, check --store and rmi use ~/.local/share/bunker, or $XDG_DATA_HOME/bunker", async () => {
      // (each of these but run used to fail with "ReferenceError: defaultDataRoot is not defined")
      expect((await b(["load", "-i", `${dir}/img.tar`])).stdout).toBe("Loaded image: test/app:1\n");
      expect(existsSync(`${dir}/home/.local/share/bunker/images.json`)).toBe(true);
      expect((await b(["images", "--format", "json"])).stdout).toContain("test/app:1");
      const inspect = await b(["inspect", "test/app:1"]);
      expect(inspect.stderr).toBe("");
      expect(JSON.parse(inspect.stdout)[0].Config.Entrypoint).toEqual(["/app/hello"]);
      expect((await b(["tag", "test/app:1", "test/app:2"])).code).toBe(0);
      expect((await b(["run", "test/app:2"])).stdout).toBe("hello from the image world\n");
      expect((await b(["save", "-o", `${dir}/saved.tar`, "test/app:2"])).code).toBe(0);
      expect(existsSync(`${dir}/saved.tar`)).toBe(true);
      const check = await b(["check", "--store"]);
      expect(check.stdout).toMatch(/ok +image store +every blob matches its digest/);
      expect((await b(["rmi", "test/app:2"])).code).toBe(0);
      // another XDG_DATA_HOME is another store
      const other = await b(["inspect", "test/app:1"], { XDG_DATA_HOME: `${dir}/xdg` });
      expect(other.code).toBe(125);
      expect(other.stderr).toMatch(/^bunker: no such image: test\/app:1/);
      expect((await b(["images", "-q"])).stdout.trim().split("\n").length).toBe(1);
    });
  });
}

for (const as of USERS) {
  d(`run -d, logs, ps, stop, rm as ${as}`, () => {
    let dir: string, store: string, state: string;
    const b = (args: string[]) => bunkerAs(as, ["--data-root", store, "--root", state, ...args], { cwd: dir });
    beforeAll(async () => {
      dir = makeTempDir("bunker-img-detach", ownerOf(as));
      store = `${dir}/store`;
      state = `${dir}/state`;
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: buildImage(), tags: ["test/app:1"] }]));
      expect((await b(["load", "-i", `${dir}/img.tar`])).code).toBe(0);
    });
    afterAll(() => removeTree(dir));

    test("a detached image container: id printed, Up in ps, output in logs, stop runs its trap, Exited (code) in ps -a, rm removes it", async () => {
      const r = await b(["run", "-d", "--entrypoint", "sh", "test/app:1", "-c", "echo started; echo oops >&2; trap 'echo stopping; exit 3' TERM; while :; do sleep 0.05; done"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const id = r.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      const ps = await b(["ps"]);
      expect(ps.stdout.split("\n")[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
      expect(ps.stdout).toMatch(new RegExp(`^${id}\\s+test/app:1\\s+"sh -c echo started;…"\\s+(Less than a second|\\d+ seconds?) ago\\s+Up (Less than a second|\\d+ seconds?)\\s+${id}$`, "m"));
      for (let i = 0; i < 100 && !(await b(["logs", id])).stderr.includes("oops"); i++) await Bun.sleep(20);
      // the log keeps the streams apart: stderr's lines go to logs' stderr
      expect(await b(["logs", id])).toEqual({ code: 0, stdout: "started\n", stderr: "oops\n" });
      const busy = await b(["rm", id]);
      expect(busy.code).toBe(125);
      expect(busy.stderr).toContain("is running");
      // its bunker has exited, the container has not: its image stays
      const rmi = await b(["rmi", "test/app:1"]);
      expect(rmi.code).toBe(125);
      expect(rmi.stderr).toMatch(new RegExp(`^bunker: image test/app:1 is used by container ${id}: EBUSY`));
      expect((await b(["stop", "-t", "5", id])).stdout).toBe(`${id}\n`);
      expect((await b(["logs", id])).stdout).toBe("started\nstopping\n");
      expect((await b(["ps"])).stdout).not.toContain(id);
      expect((await b(["ps", "-a"])).stdout).toMatch(new RegExp(`^${id}\\s+.*\\sExited \\(3\\) (Less than a second|\\d+ seconds?) ago\\s+${id}$`, "m"));
      expect((await b(["rm", id])).code).toBe(0);
      expect((await b(["ps", "-a", "-q"])).stdout).toBe("");
      expect(existsSync(`${state}/${id}`)).toBe(false);
    });

    test("a foreground run is registered: exec into it, ps lists it, kill ends it, nothing is left", async () => {
      const fg = spawnBunkerAs(as, ["--data-root", store, "--root", state, "run", "--name", "fg", "--entrypoint", "sleep", "test/app:1", "30"], { cwd: dir });
      let st: { status?: string } = {};
      for (let i = 0; i < 200 && st.status !== "running"; i++) {
        const r = await b(["state", "fg"]);
        if (r.code === 0) st = JSON.parse(r.stdout);
        else await Bun.sleep(20);
      }
      expect(st.status).toBe("running");
      const e = await b(["exec", "fg", "sh", "-c", "echo in $(cat /proc/1/cmdline | tr '\\0' ' ')"]);
      expect(e.stdout).toBe("in sleep 30\n"); // $(…) drops the trailing space
      expect((await b(["ps"])).stdout).toMatch(/^fg\s+test\/app:1\s+"sleep 30"\s+(Less than a second|\d+ seconds?) ago\s+Up (Less than a second|\d+ seconds?)\s+fg$/m);
      expect((await b(["kill", "fg", "KILL"])).code).toBe(0);
      expect(await fg.exited).toBe(137);
      expect(existsSync(`${state}/fg`)).toBe(false);
    });

    test("rm -f kills a running one; a detached container outlives the bunker that started it", async () => {
      const r = await b(["run", "-d", "--name", "keeper", "--entrypoint", "sleep", "test/app:1", "30"]);
      expect(r.stdout).toBe("keeper\n");
      const st = JSON.parse((await b(["state", "keeper"])).stdout);
      expect(st.status).toBe("running");
      expect(readFileSync(`/proc/${st.pid}/cmdline`, "utf8").length).toBeGreaterThan(0);
      expect((await b(["rm", "-f", "keeper"])).code).toBe(0);
      for (let i = 0; i < 100 && existsSync(`/proc/${st.pid}`) && !readFileSync(`/proc/${st.pid}/stat`, "utf8").includes(") Z"); i++) await Bun.sleep(20);
      expect((await b(["state", "keeper"])).code).toBe(125);
    });
  });
}
