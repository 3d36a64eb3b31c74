// Named and anonymous volumes: Docker's copy-up from the image (owners and
// modes kept), data that outlives its container, a volume shared by two
// running containers, in-use removal refused, the volume commands' output,
// anonymous volumes removed with their container, ownership with a
// subordinate-id map and the ways to get such files back (volume export,
// unshare), and the one-line errors of bad sources and names.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs, subRange, waitForFile, type As } from "../lib/index.ts";
import { buildImage, dockerArchive, standardLayers } from "../lib/image-builder.ts";
import type { TarInput } from "../../src/image/tarwriter.ts";

const d = isRoot() ? describe : describe.skip;
const DB = { uid: 999, gid: 999 };

/** a database-like dir (uid 999, mode 0700) and an image VOLUME with a seed file */
function volumeLayer(): TarInput[] {
  return [
    { name: "var/", type: "dir", mode: 0o755 },
    { name: "var/lib/", type: "dir", mode: 0o755 },
    { name: "var/lib/db/", type: "dir", mode: 0o700, ...DB },
    { name: "var/lib/db/PG_VERSION", data: "15\n", mode: 0o600, ...DB },
    { name: "var/lib/db/base/", type: "dir", mode: 0o750, ...DB },
    { name: "var/lib/db/base/1", data: "rows\n", mode: 0o640, ...DB },
    { name: "anon/", type: "dir", mode: 0o755 },
    { name: "anon/seed", data: "seeded\n", mode: 0o644 },
  ];
}

const img = buildImage({
  layers: [...standardLayers(), volumeLayer()],
  config: { Env: ["PATH=/bin"], Cmd: ["sh"], User: "0", Volumes: { "/anon": {} } },
});

const HEX64 = /^[0-9a-f]{64}$/;

for (const as of USERS) {
  d(`volumes as ${as}`, () => {
    let dir: string, store: string, state: string, rootfs: string;
    const b = (args: string[], stdin?: string) => bunkerAs(as, ["--data-root", store, "--root", state, ...args], { cwd: dir, stdin });
    // root's default map is its own id alone; --userns=auto maps 0..65536 to themselves (rootless: the default)
    const userns = as === "root" ? ["--userns=auto"] : [];
    const run = (args: string[]) => b(["run", ...userns, ...args]);
    /** run -d, its output through a shell so the test's pipes are not held by the container */
    const detached = async (args: string[]) => {
      const r = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" 2>&1 </dev/null`, bunkerBinary(), "--data-root", store, "--root", state, "run", "-d", ...userns, ...args]));
      expect(r.code, r.stdout).toBe(0);
      return r.stdout.trim();
    };
    const hostId = (id: number) => (as === "root" ? id : subRange("/etc/subuid", as)!.start + id - 1);
    const mountpoint = (name: string) => `${store}/volumes/${name}/_data`;
    const volumes = async () => (await b(["volume", "ls", "-q"])).stdout.split("\n").filter(Boolean);
    const exited = async (id: string) => {
      for (let i = 0; i < 200 && !(await b(["ps", "-a"])).stdout.match(new RegExp(`^${id}\\s.*Exited`, "m")); i++) await Bun.sleep(50);
    };

    beforeAll(async () => {
      dir = makeTempDir("bunker-volume", ownerOf(as));
      store = join(dir, "store");
      state = join(dir, "state");
      rootfs = makeBusyboxRootfs(join(dir, "rootfs"), ownerOf(as));
      writeFileSync(join(dir, "img.tar"), dockerArchive([{ image: img, tags: ["test/vol:1"] }]));
      const r = await b(["load", "-i", join(dir, "img.tar")]);
      expect(r.stderr).toBe("");
    });
    afterAll(() => removeTree(dir));

    test("a new named volume starts with the image's content at its path: files, owners, modes", async () => {
      const r = await run(["-v", "db:/var/lib/db", "test/vol:1", "sh", "-c", "stat -c '%n %u:%g %a' /var/lib/db /var/lib/db/PG_VERSION /var/lib/db/base /var/lib/db/base/1; cat /var/lib/db/PG_VERSION"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("/var/lib/db 999:999 700\n/var/lib/db/PG_VERSION 999:999 600\n/var/lib/db/base 999:999 750\n/var/lib/db/base/1 999:999 640\n15\n");
      expect(r.code).toBe(0);
      // on the host: the container's 999 is the map's host id
      const st = statSync(mountpoint("db"));
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([hostId(999), hostId(999), 0o700]);
    });

    test("data written by one container is seen by the next (no second copy-up), survives rm of a detached one", async () => {
      expect((await run(["-v", "db:/var/lib/db", "test/vol:1", "sh", "-c", "echo 16 > /var/lib/db/PG_VERSION; echo new > /var/lib/db/added"])).code).toBe(0);
      const id = await detached(["-v", "db:/var/lib/db", "test/vol:1", "sh", "-c", "echo from-detached > /var/lib/db/detached"]);
      await exited(id);
      expect((await b(["rm", id])).code).toBe(0);
      const r = await run(["--mount", "type=volume,src=db,dst=/data,readonly", "test/vol:1", "sh", "-c", "cat /data/PG_VERSION /data/added /data/detached; echo x > /data/ro 2>/dev/null || echo read-only"]);
      expect(r.stdout).toBe("16\nnew\nfrom-detached\nread-only\n");
      expect(r.code).toBe(0);
    });

    test("two containers starting at once on a new volume: one fills it, the other waits and finds it filled", async () => {
      const both = await Promise.all([0, 1].map(() => run(["-v", "race:/var/lib/db", "test/vol:1", "cat", "/var/lib/db/PG_VERSION"])));
      expect(both.map((r) => [r.code, r.stdout, r.stderr])).toEqual([[0, "15\n", ""], [0, "15\n", ""]]);
    });

    test("two running containers share a volume: one writes, the other reads while both run", async () => {
      const writer = await detached(["--name", `writer-${as}`, "-v", "shared:/shared", "test/vol:1", "sh", "-c", "echo hello > /shared/msg.tmp; mv /shared/msg.tmp /shared/msg; sleep 30"]);
      try {
        expect(await waitForFile(join(mountpoint("shared"), "msg"))).toBe(true);
        const r = await run(["-v", "shared:/mnt", "test/vol:1", "sh", "-c", "cat /mnt/msg; echo reply > /mnt/reply"]);
        expect(r.stdout).toBe("hello\n");
        expect((await b(["exec", writer, "cat", "/shared/reply"])).stdout).toBe("reply\n");
        expect((await b(["ps"])).stdout).toContain(writer); // still running
      } finally {
        expect((await b(["rm", "-f", writer])).code).toBe(0);
      }
    });

    test("a volume a container uses, running or stopped, is not removed without -f; -f removes it", async () => {
      const id = await detached(["--name", `user-${as}`, "-v", "busy:/busy", "test/vol:1", "sh", "-c", "echo kept > /busy/f; sleep 30"]);
      try {
      const refused = await b(["volume", "rm", "busy"]);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toBe(`bunker: volume rm: volume "busy" is in use by container ${id}: EBUSY (Device or resource busy) — remove the container first (bunker rm ${id}), or bunker volume rm -f busy\n`);
      expect((await b(["stop", "-t", "1", id])).code).toBe(0);
      expect((await b(["volume", "rm", "busy"])).code).toBe(125); // stopped: still its volume
      expect((await b(["volume", "ls", "--filter", "dangling=false", "--filter", "name=busy", "-q"])).stdout).toBe("busy\n");
      expect((await b(["volume", "ls", "--filter", "dangling=true", "--filter", "name=busy", "-q"])).stdout).toBe("");
      const forced = await b(["volume", "rm", "-f", "busy"]);
      expect([forced.code, forced.stdout]).toEqual([0, "busy\n"]);
      expect(existsSync(`${store}/volumes/busy`)).toBe(false);
      } finally {
        expect((await b(["rm", "-f", id])).code).toBe(0);
      }
    });

    test("volume create, ls, inspect as Docker prints them; rm of a missing one", async () => {
      expect((await b(["volume", "create", "--label", "app=web", "--label", "tier", "lsvol"])).stdout).toBe("lsvol\n");
      expect((await b(["volume", "create", "lsvol"])).stdout).toBe("lsvol\n"); // exists: the same volume
      const anon = (await b(["volume", "create"])).stdout.trim();
      expect(anon).toMatch(HEX64);
      const ls = await b(["volume", "ls", "--filter", "name=lsvol"]);
      expect(ls.stdout).toBe("DRIVER    VOLUME NAME\nlocal     lsvol\n");
      expect((await b(["volume", "ls", "-q", "--filter", "label=app=web"])).stdout).toBe("lsvol\n");
      expect((await b(["volume", "ls", "-q", "--filter", "label=tier", "--filter", "driver=local"])).stdout).toBe("lsvol\n");
      expect((await b(["volume", "ls", "-q"])).stdout.split("\n")).toContain(anon);
      const inspect = await b(["volume", "inspect", "lsvol"]);
      expect(inspect.code).toBe(0);
      const [v] = JSON.parse(inspect.stdout);
      expect(Object.keys(v)).toEqual(["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]);
      expect(v).toMatchObject({ Driver: "local", Labels: { app: "web", tier: "" }, Mountpoint: mountpoint("lsvol"), Name: "lsvol", Options: {}, Scope: "local" });
      expect(v.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect((await b(["volume", "rm", "lsvol", anon])).stdout).toBe(`lsvol\n${anon}\n`);
      const missing = await b(["volume", "inspect", "lsvol"]);
      expect(missing.code).toBe(125);
      expect(missing.stderr).toMatch(/^bunker: volume inspect: no such volume "lsvol": ENOENT .* — bunker volume ls lists them; bunker volume create lsvol makes it\n$/);
    });

    test("anonymous volumes: the image's VOLUME and -v /path, filled from the image, removed by rm -v, --rm and a foreground run", async () => {
      // the anonymous volumes of the tests before (the image's VOLUME; their containers were removed without -v)
      expect((await b(["volume", "prune", "-f"])).code).toBe(0);
      const before = await volumes();
      // a foreground run (always removed): its anonymous volumes go with it
      const fg = await run(["-v", "/scratch", "test/vol:1", "sh", "-c", "cat /anon/seed; echo s > /scratch/s; grep -c ' /scratch ' /proc/self/mountinfo"]);
      expect(fg.stdout).toBe("seeded\n1\n");
      expect(await volumes()).toEqual(before);
      // detached: rm keeps them (dangling, pruned), rm -v removes them
      const kept = await detached(["test/vol:1", "true"]);
      await exited(kept);
      const anon = (await volumes()).filter((v) => !before.includes(v));
      expect(anon).toHaveLength(1);
      expect(anon[0]).toMatch(HEX64);
      expect((await b(["volume", "inspect", anon[0]!])).stdout).toContain('"com.docker.volume.anonymous": ""');
      expect((await b(["rm", kept])).code).toBe(0);
      expect(await volumes()).toEqual([...before, ...anon].sort());
      const prune = await b(["volume", "prune", "-f"]);
      expect(prune.stdout).toBe(`Deleted Volumes:\n${anon[0]}\n\n`);
      expect(await volumes()).toEqual(before);
      const removed = await detached(["test/vol:1", "true"]);
      await exited(removed);
      expect((await volumes()).length).toBe(before.length + 1);
      expect((await b(["rm", "-v", removed])).code).toBe(0);
      expect(await volumes()).toEqual(before);
      // run -d --rm: removed when the container ends
      await detached(["--rm", "-v", "/more", "test/vol:1", "true"]);
      for (let i = 0; i < 100 && (await volumes()).length !== before.length; i++) await Bun.sleep(50);
      expect(await volumes()).toEqual(before);
      // prune without -f asks, and keeps everything on "no"
      expect((await b(["volume", "prune"], "n\n")).stdout).toContain("Are you sure you want to continue? [y/N]");
    });

    test("--rootfs DIR: named volumes (no copy-up), --mount bind readonly and tmpfs with size and mode", async () => {
      const host = makeTempDir("bunker-volume-bind", ownerOf(as));
      try {
        writeFileSync(join(host, "in"), "from host\n");
        const r = await b(["run", "-v", "rootfsvol:/v", "--mount", `type=bind,source=${host},target=/h,readonly`, "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "--rootfs", rootfs, "--", "/bin/sh", "-c",
          "ls -A /v; echo w > /v/w; cat /h/in; touch /h/x 2>/dev/null || echo ro; stat -c %a /t; grep ' /t ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'"]);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("from host\nro\n1770\nsize=1024k\n");
        expect((await b(["run", "-v", "rootfsvol:/v", "--rootfs", rootfs, "--", "/bin/cat", "/v/w"])).stdout).toBe("w\n");
        expect((await b(["volume", "rm", "rootfsvol"])).code).toBe(0);
      } finally {
        removeTree(host);
      }
    });

    test("ownership: a non-root container user's files belong to the mapped id; volume export and unshare give them back; volume rm removes them", async () => {
      const r = await run(["-u", "999:999", "-v", "pg:/var/lib/db", "test/vol:1", "sh", "-c", "mkdir -m 700 /var/lib/db/priv && echo secret > /var/lib/db/priv/key && chmod 600 /var/lib/db/priv/key"]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const priv = join(mountpoint("pg"), "priv");
      expect(statSync(priv).uid).toBe(hostId(999));
      // the tar has the container's view of the owners
      const tar = join(dir, `pg-${as}.tar`);
      const exp = await runAs(as, asUserArgv(as, ["sh", "-c", `"$0" --data-root "$1" --root "$2" volume export pg > "$3"`, bunkerBinary(), store, state, tar]));
      expect([exp.code, exp.stderr]).toEqual([0, ""]);
      const list = Bun.spawnSync(["tar", "--numeric-owner", "-tvf", tar]).stdout.toString();
      expect(list).toMatch(/^drwx------ 999\/999 .* \.\/priv\/$/m);
      expect(list).toMatch(/^-rw------- 999\/999 .* \.\/priv\/key$/m);
      expect(list).toMatch(/^-rw------- 999\/999 .* \.\/PG_VERSION$/m);
      const cat = await b(["unshare", "cat", join(priv, "key")]);
      expect([cat.code, cat.stdout]).toEqual([0, "secret\n"]);
      expect((await b(["unshare", "stat", "-c", "%u", priv])).stdout).toBe("999\n");
      const rm = await b(["volume", "rm", "pg"]);
      expect([rm.code, rm.stderr]).toEqual([0, ""]);
      expect(existsSync(`${store}/volumes/pg`)).toBe(false);
    });

    test("bad sources and names: one line that says how the source was read and how to name a volume", async () => {
      const line = async (args: string[]) => {
        const r = await run([...args, "test/vol:1", "true"]);
        expect(r.code).toBe(125);
        expect(r.stderr.split("\n")).toHaveLength(2);
        return r.stderr;
      };
      expect(await line(["-v", "./data:/data"])).toBe(`bunker: run: -v ./data:/data: the source "./data" was read as a relative host path: EINVAL (Invalid argument) — give a host path as an absolute path (-v "$PWD/data:/dst"), or name a volume: a name starts with a letter or digit and has only letters, digits and _ . - (-v data:/dst)\n`);
      expect(await line(["-v", "data/sub:/data"])).toContain("was read as a relative host path");
      expect(await line(["-v", `${dir}/missing:/data`])).toBe(`bunker: run: -v ${dir}/missing:/data: the bind source was read as a host path and does not exist: ENOENT (No such file or directory) [${dir}/missing] — create it (mkdir -p ${dir}/missing), or to use a named volume give a name instead of a path (-v data:/dst)\n`);
      expect(await line(["--mount", "type=volume,src=.hidden,dst=/x"])).toContain('invalid volume name ".hidden"');
      expect(await line(["--mount", "type=bind,src=rel,dst=/x"])).toContain("was read as a relative host path");
      expect(await line(["-v", "ok:relative"])).toContain("the destination must be an absolute path");
      expect(await line(["--mount", "type=tmpfs,dst=/t,src=x"])).toContain('"source" does not apply to type=tmpfs');
      // a one-id map cannot read the image's private dir of uid 999: said, with the ways out (which work)
      const single = await b(["run", "--userns=single", "-v", "single:/var/lib/db", "test/vol:1", "true"]);
      expect([single.code, single.stderr.split("\n").length]).toEqual([125, 2]);
      expect(single.stderr).toContain("the container's root cannot read it (an owner its user namespace does not map): EACCES");
      expect(single.stderr).toContain("— run with --userns=auto");
      expect((await b(["run", "--userns=single", "-v", "single:/var/lib/db:nocopy", "test/vol:1", "true"])).code).toBe(0);
      expect((await b(["volume", "rm", "single"])).code).toBe(0);
      const bad = await b(["volume", "create", "bad name"]);
      expect(bad.stderr).toMatch(/^bunker: volume create: invalid volume name "bad name": EINVAL .*\n$/);
      // nothing was left behind by the refused runs
      expect(readdirSync(state).filter((n) => !n.startsWith("."))).toEqual([]);
    });
  });
}
