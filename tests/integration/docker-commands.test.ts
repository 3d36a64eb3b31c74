// The docker-style commands a Docker user types (issue 15), on a busybox image
// loaded as `docker load` would, root and the unprivileged user: ps's table
// (docker's columns, quoted and cut COMMAND, "… ago" ages, Up/Exited/Created,
// NAMES, --filter, -n, -l, --no-trunc, templates), restart (a new init and
// start time), unpause, stats (--no-stream, -a, --format, the streamed table
// until it is ended), history of a build, info, system df and prune (what it
// says it removed is gone), container's aliases and prune, logout.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, bunkerAs, chownTree, makeTempDir, ownerOf, removeTree, spawnBunkerAs, type As, type RunResult } from "../lib/index.ts";
import { writeBusyboxArchive } from "../lib/serve.ts";

setDefaultTimeout(60_000);
const bases: string[] = [];
afterAll(() => bases.forEach(removeTree));
const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;
/** an age as docker prints it, for a container of this test (seconds or a minute old) */
const AGE = "(?:Less than a second|\\d+ seconds?|About a minute)";

for (const as of USERS) {
  describe(`docker-style commands (as ${as})`, () => {
    const base = makeTempDir("bunker-dcmd", ownerOf(as));
    bases.push(base);
    const b = (...args: string[]) => bunkerAs(as, ["--root", join(base, "state"), "--data-root", join(base, "data"), ...args], { env: { XDG_CONFIG_HOME: join(base, "config") } });
    const run = async (...args: string[]) => {
      const r = await b("run", "-d", "--network", "none", ...args);
      expect(r.code, ok(r)).toBe(0);
      return r.stdout.trim();
    };
    const loaded = (async () => {
      const archive = writeBusyboxArchive(base, "bb:latest", ["sh", "sleep", "echo", "true", "cat"]);
      chownTree(archive, ownerOf(as));
      const r = await b("load", "-i", archive);
      expect(r.code, ok(r)).toBe(0);
    })();

    test("ps: docker's columns, newest first; the command quoted and cut to 20; Up, Exited (N) … ago, Created; -n, -l, --filter, --no-trunc, templates", async () => {
      await loaded;
      const up = await run("--name", "psup", "bb", "sh", "-c", "echo a long command line here; exec sleep 60");
      const gone = await run("bb", "sh", "-c", "exit 3");
      const made = await b("create", "--name", "psnew", "--network", "none", "bb", "true");
      expect(made.code, ok(made)).toBe(0);
      try {
        for (let i = 0; i < 100 && !(await b("ps", "-a")).stdout.includes("Exited (3)"); i++) await Bun.sleep(50);
        const all = (await b("ps", "-a")).stdout.split("\n").filter(Boolean);
        expect(all[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
        expect(all.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["psnew", gone, "psup"]);
        expect(all[1]).toMatch(new RegExp(`^psnew\\s+bb\\s+"true"\\s+${AGE} ago\\s+Created\\s+psnew$`));
        expect(all[2]).toMatch(new RegExp(`^${gone}\\s+bb\\s+"sh -c exit 3"\\s+${AGE} ago\\s+Exited \\(3\\) ${AGE} ago\\s+${gone}$`));
        expect(all[3]).toMatch(new RegExp(`^psup\\s+bb\\s+"sh -c echo a long c…"\\s+${AGE} ago\\s+Up ${AGE}\\s+psup$`));
        // the column of NAMES starts where its header does
        expect(all[3]!.indexOf("psup", 10)).toBe(all[0]!.indexOf("NAMES"));
        expect((await b("ps")).stdout.split("\n").filter(Boolean).slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["psup"]);
        expect((await b("ps", "-n", "2", "-q")).stdout).toBe(`psnew\n${gone}\n`);
        expect((await b("ps", "-l", "-q")).stdout).toBe("psnew\n");
        expect((await b("ps", "-a", "-q", "--filter", "status=exited")).stdout).toBe(`${gone}\n`);
        expect((await b("ps", "-a", "-q", "-f", "name=^/ps")).stdout).toBe("psnew\npsup\n");
        expect((await b("ps", "--no-trunc", "--format", "{{.Command}}")).stdout).toBe(`"sh -c echo a long command line here; exec sleep 60"\n`);
        expect((await b("ps", "--format", "{{.Names}}|{{.State}}|{{.Status}}|{{.RunningFor}}")).stdout).toMatch(new RegExp(`^psup\\|running\\|Up ${AGE}\\|${AGE} ago\\n$`));
        expect(JSON.parse((await b("ps", "--format", "json")).stdout)).toMatchObject({ ID: "psup", Names: "psup", Image: "bb", State: "running" });
        const bad = await b("ps", "--filter", "colour=red");
        expect([bad.code, bad.stdout], ok(bad)).toEqual([125, ""]);
        expect(bad.stderr).toStartWith("bunker: invalid filter 'colour': EINVAL");
      } finally {
        await b("rm", "-f", up, gone, "psnew");
      }
    });

    test("restart: a new init (its pid) and start time, the same name; -t; unknown containers are one line", async () => {
      await loaded;
      const id = await run("--name", "rs", "bb", "sleep", "60");
      try {
        const before = (await b("inspect", "--format", "{{.State.Pid}} {{.State.StartedAt}}", "rs")).stdout.trim().split(" ");
        const r = await b("restart", "-t", "1", "rs");
        expect([r.code, r.stdout, r.stderr]).toEqual([0, "rs\n", ""]);
        const after = (await b("inspect", "--format", "{{.State.Pid}} {{.State.StartedAt}} {{.State.Status}}", "rs")).stdout.trim().split(" ");
        expect(after[2]).toBe("running");
        expect(after[0]).not.toBe(before[0]);
        expect(Date.parse(after[1]!)).toBeGreaterThan(Date.parse(before[1]!));
        // a stopped one is started
        expect((await b("stop", "-t", "1", "rs")).code).toBe(0);
        expect((await b("restart", "rs")).code).toBe(0);
        expect((await b("ps", "--format", "{{.Names}} {{.State}}")).stdout).toBe("rs running\n");
        const none = await b("restart", "nosuch");
        expect([none.code, none.stdout, none.stderr.split("\n").length]).toEqual([125, "", 2]);
        expect(none.stderr).toContain("nosuch");
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("unpause is resume's docker name; container SUBCOMMAND dispatches to the same commands; container prune", async () => {
      await loaded;
      const id = await run("--name", "al", "bb", "sleep", "60");
      const done = await run("bb", "true");
      try {
        // no cgroup on a host without delegated cgroup v2: the freezer's one line, under docker's verb
        const u = await b("unpause", "al");
        if (u.code !== 0) expect(u.stderr).toStartWith('bunker: unpause: container "al" has no cgroup: EOPNOTSUPP');
        else expect(u.stdout).toBe("al\n");
        // the short one has exited (under load it may take a while): ls lists the running one only
        for (let i = 0; i < 200 && !(await b("ps", "-a", "--format", "{{.State}}")).stdout.includes("exited"); i++) await Bun.sleep(50);
        expect((await b("container", "ls", "--format", "{{.Names}}")).stdout).toBe("al\n");
        expect(JSON.parse((await b("container", "inspect", "al")).stdout)[0].Name).toBe("/al");
        const img = await b("container", "inspect", "bb");
        expect(img.code).toBe(125); // an image is not a container
        const unknown = await b("container", "frob");
        expect([unknown.code, unknown.stderr.split("\n").length]).toEqual([125, 2]);
        expect(unknown.stderr).toContain('container: unknown subcommand "frob"');
        const p = await b("container", "prune", "-f");
        expect(p.code, ok(p)).toBe(0);
        expect(p.stdout).toBe(`Deleted Containers:\n${done}\n\nTotal reclaimed space: 0B\n`);
        expect((await b("ps", "-a", "-q")).stdout).toBe("al\n");
      } finally {
        await b("rm", "-f", id);
        await b("rm", "-f", done);
      }
    });

    test("stats: docker's table of the running containers (--no-stream), -a, --format; streamed until ended by its pid; a named container without a cgroup is one line and no header", async () => {
      await loaded;
      const id = await run("--name", "st", "bb", "sleep", "60");
      const off = await run("bb", "true");
      try {
        // the short one has exited (under load it may take a while): stats lists the running one only
        for (let i = 0; i < 200 && !(await b("ps", "-a", "--format", "{{.State}}")).stdout.includes("exited"); i++) await Bun.sleep(50);
        const r = await b("stats", "--no-stream");
        expect(r.code, ok(r)).toBe(0);
        const lines = r.stdout.split("\n").filter(Boolean);
        expect(lines[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
        expect(lines).toHaveLength(2);
        // numbers from its cgroup, or -- without one (this host's hybrid layout)
        expect(lines[1]).toMatch(/^st\s+st\s+(\d+\.\d\d%\s+\S+ \/ \S+\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+[1-9]\d*|--\s+-- \/ --\s+--\s+-- \/ --\s+-- \/ --\s+--)$/);
        const all = await b("stats", "--no-stream", "-a", "--format", "{{.Name}}");
        expect(all.stdout.split("\n").filter(Boolean).sort()).toEqual([off, "st"].sort());
        expect(JSON.parse((await b("stats", "--no-stream", "--format", "json")).stdout)).toMatchObject({ ID: "st", Name: "st" });
        const named = await b("stats", "--no-stream", "st");
        if (named.code !== 0) {
          expect([named.code, named.stdout]).toEqual([125, ""]);
          expect(named.stderr).toStartWith('bunker: stats: container "st" has no cgroup: EOPNOTSUPP');
        }
        // without --no-stream: a table a second until ^C
        const proc = spawnBunkerAs(as, ["--root", join(base, "state"), "--data-root", join(base, "data"), "stats", "--format", "{{.Name}}"]);
        let out = "";
        const reader = proc.stdout.getReader();
        const deadline = Date.now() + 15_000;
        while (out.split("\n").filter((l) => l === "st").length < 2 && Date.now() < deadline) {
          const { value, done } = await Promise.race([reader.read(), Bun.sleep(15_000).then(() => ({ value: undefined, done: true }))]);
          if (done) break;
          out += new TextDecoder().decode(value);
        }
        proc.kill("SIGINT");
        await proc.exited;
        expect(out.split("\n").filter((l) => l === "st").length).toBeGreaterThanOrEqual(2);
      } finally {
        await b("rm", "-f", id);
        await b("rm", "-f", off);
      }
    });

    test("history lists a build's steps newest first; info; system df; system prune removes what it says and asks first", async () => {
      await loaded;
      const ctx = join(base, "ctx");
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, "Dockerfile"), 'FROM bb\nRUN echo hi > /hi\nENV A=1\nCMD ["cat", "/hi"]\n');
      chownTree(ctx, ownerOf(as));
      const built = await b("build", "-t", "app:1", ctx);
      expect(built.code, ok(built)).toBe(0);
      const h = (await b("history", "app:1")).stdout.split("\n").filter(Boolean);
      expect(h[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
      expect(h.slice(1).map((l) => l.split(/\s{3,}/)[2])).toEqual(['CMD ["cat", "/hi"]', "ENV A=1", "RUN echo hi > /hi", "bunker test image builder"]);
      expect(h[1]).toMatch(new RegExp(`^[0-9a-f]{12}\\s+${AGE} ago\\s+CMD`));
      expect(h[2]).toMatch(/^<missing>\s/);
      // the layer's size (its compressed tar: a few bytes more or less with its timestamps)
      expect((await b("history", "--format", "{{.CreatedBy}}={{.Size}}", "app:1")).stdout.split("\n")[2]).toMatch(/^RUN echo hi > \/hi=2\d\dB$/);
      const missing = await b("history", "nosuch:1");
      expect([missing.code, missing.stderr.split("\n").length], ok(missing)).toEqual([125, 2]);

      const id = await run("--name", "keep", "bb", "sleep", "60");
      const stopped = await run("bb", "true");
      const net = await b("network", "create", "prunenet");
      expect(net.code, ok(net)).toBe(0);
      try {
        const info = (await b("info")).stdout;
        expect(info).toMatch(/^Server:\n Containers: 2\n  Running: \d\n  Paused: 0\n  Stopped: \d\n Images: 2\n/);
        expect((await b("info", "--format", "{{.Images}} {{.OSType}}")).stdout).toBe("2 linux\n");
        const df = (await b("system", "df")).stdout.split("\n").filter(Boolean);
        expect(df[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
        expect(df[1]).toMatch(/^Images\s+2\s+1\s+\S+B\s+\S+B \(\d+%\)$/);
        expect(df[2]).toMatch(/^Containers\s+2\s+\d\s/);
        expect(df[4]).toMatch(/^Build Cache\s+[1-9]\d*\s+0\s/);
        for (let i = 0; i < 100 && !(await b("ps", "-a", "--format", "{{.State}}")).stdout.includes("exited"); i++) await Bun.sleep(50);
        // no answer: nothing is removed
        const asked = await b("system", "prune");
        expect(asked.stdout).toStartWith("WARNING! This will remove:\n  - all stopped containers\n");
        expect((await b("ps", "-a", "-q")).stdout.split("\n").filter(Boolean).sort()).toEqual(["keep", stopped].sort());
        const p = await b("system", "prune", "-a", "-f");
        expect(p.code, ok(p)).toBe(0);
        expect(p.stdout).toContain(`Deleted Containers:\n${stopped}\n\nDeleted Networks:\nprunenet\n\nDeleted Images:\ndeleted: sha256:`);
        expect(p.stdout).toMatch(/Deleted build cache objects:\n\S+\n/);
        expect(p.stdout).toMatch(/Total reclaimed space: \d[\d.]*[kMG]?B\n$/);
        expect((await b("ps", "-a", "-q")).stdout).toBe("keep\n");
        expect((await b("network", "ls", "-q")).stdout).toBe("");
        // app:1 went (no container uses it); bb stays: keep runs on it
        expect((await b("images", "--format", "{{.Repository}}")).stdout).toBe("bb\n");
      } finally {
        await b("rm", "-f", id);
        await b("rm", "-f", stopped);
        await b("network", "rm", "prunenet");
      }
    });

    test("logout: credentials login stored are removed; none stored says so", async () => {
      const file = join(base, "config", "bunker", "auth.json");
      mkdirSync(join(base, "config", "bunker"), { recursive: true });
      writeFileSync(file, JSON.stringify({ auths: { "127.0.0.1:5999": { auth: Buffer.from("u:p").toString("base64") } } }));
      chownTree(join(base, "config"), ownerOf(as));
      const r = await b("logout", "127.0.0.1:5999");
      expect([r.code, r.stdout, r.stderr]).toEqual([0, "Removing login credentials for 127.0.0.1:5999\n", ""]);
      expect(JSON.parse(await Bun.file(file).text()).auths).toEqual({});
      expect((await b("logout", "127.0.0.1:5999")).stdout).toBe("Not logged in to 127.0.0.1:5999\n");
    });
  });
}
