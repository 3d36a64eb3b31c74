// bunker cp (issue 15) with docker cp's rules, both ways, as root and as the
// unprivileged user: files, directories (into an existing one, onto a new
// name, DIR/. for the contents), symlinks (kept; -L follows), "-" for a tar;
// owners (the container's root unless -a); escapes (a symlink in the container
// to the host's /etc, ../ paths, archive entries named outside the
// destination): nothing on the host is read or written; a stopped container
// whose root is kept; rename and wait.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tarBytes } from "../../src/image/tarwriter.ts";
import { imageRootsFixture } from "../lib/image-roots.ts";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, detachedIdAs, isRoot, ownerOf, rootfsFixture, runAs, type RunResult } from "../lib/index.ts";

setDefaultTimeout(60_000);
const describeRoot = isRoot() ? describe : describe.skip;
const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;

/** a small archive as the text fed to a command's stdin (its bytes are all ASCII) */
const tarText = (...entries: Parameters<typeof tarBytes>[0]) => new TextDecoder().decode(tarBytes(entries));

/** one line on stderr, exit 125, naming WHAT */
function oneLineError(r: RunResult, what: string | RegExp) {
  expect(r.code, ok(r)).toBe(125);
  expect(r.stderr.trim().split("\n"), ok(r)).toHaveLength(1);
  expect(r.stderr).toMatch(what);
}

for (const as of USERS) {
  describeRoot(`cp (as ${as})`, () => {
    const f = rootfsFixture(as, "bunker-cp");
    const owner = () => ownerOf(as);
    const b = (args: string[], stdin?: string) => bunkerAs(as, ["--root", f.root, "--data-root", join(f.base, "data"), ...args], stdin ? { stdin } : {});
    const detached = (args: string[]) => detachedIdAs(as, ["--root", f.root, "--data-root", join(f.base, "data"), ...args]);
    /** a dir of the host that AS owns */
    const hostDir = (name: string) => {
      const d = join(f.base, name);
      mkdirSync(d, { recursive: true });
      chownSync(d, owner().uid, owner().gid);
      return d;
    };
    const hostFile = (path: string, text: string, mode = 0o644) => {
      writeFileSync(path, text, { mode });
      chownSync(path, owner().uid, owner().gid);
    };
    /** a container that made /data afresh (a.txt, sub/b, link -> a.txt, etc-host -> /etc; the rootfs is the
     *  file's, an earlier container's /data goes first) and says ready */
    const dataContainer = async (extra: string[] = []) => {
      const id = await detached(["run", "-d", ...extra, "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "rm -rf /data; mkdir -p /data/sub && echo hello > /data/a.txt && echo deep > /data/sub/b && ln -s a.txt /data/link && ln -s /etc /data/etc-host && ln -s ../../../../../.. /data/up && echo ready; sleep 60"]);
      // ready: its files made (up to 30 s: a loaded machine starts it slowly; cp into a path not yet made fails)
      let ready = false;
      for (let i = 0; i < 600 && !(ready = (await b(["logs", id])).stdout.includes("ready")); i++) await Bun.sleep(50);
      expect(ready).toBe(true);
      return id;
    };
    const inside = async (id: string, script: string) => {
      const r = await b(["exec", id, "/bin/sh", "-c", script]);
      expect(r.code, ok(r)).toBe(0);
      return r.stdout;
    };

    test("out: a file onto a new name and into a directory, a directory onto a new name and into one, DIR/. its contents, a symlink kept or followed (-L), - a tar", async () => {
      const id = await dataContainer();
      const out = hostDir("out");
      const cp = async (args: string[]) => {
        const r = await b(["cp", ...args]);
        expect(r.code, ok(r)).toBe(0);
        return r;
      };
      await cp([`${id}:/data/a.txt`, join(out, "file.txt")]);
      expect(readFileSync(join(out, "file.txt"), "utf8")).toBe("hello\n");
      expect(statSync(join(out, "file.txt")).uid).toBe(owner().uid); // copies out are the caller's
      await cp([`${id}:/data`, join(out, "new")]);
      expect(readFileSync(join(out, "new/sub/b"), "utf8")).toBe("deep\n");
      const existing = hostDir("out/existing");
      await cp([`${id}:/data`, existing]);
      expect(readFileSync(join(existing, "data/a.txt"), "utf8")).toBe("hello\n");
      await cp([`${id}:/data/a.txt`, existing]);
      expect(readFileSync(join(existing, "a.txt"), "utf8")).toBe("hello\n");
      const contents = hostDir("out/contents");
      await cp([`${id}:/data/.`, contents]);
      expect(readFileSync(join(contents, "sub/b"), "utf8")).toBe("deep\n");
      expect(existsSync(join(contents, "data"))).toBe(false);
      await cp([`${id}:/data/link`, join(out, "l")]);
      expect(readlinkSync(join(out, "l"))).toBe("a.txt");
      await cp(["-L", `${id}:/data/link`, join(out, "l2")]);
      expect([lstatSync(join(out, "l2")).isFile(), readFileSync(join(out, "l2"), "utf8")]).toEqual([true, "hello\n"]);
      const tar = await runAs(as, asUserArgv(as, ["sh", "-c", `"$0" --root "$1" cp "$2":/data - | tar -tf -`, bunkerBinary(), f.root, id]));
      expect(tar.stdout.split("\n").filter(Boolean).sort(), ok(tar)).toEqual(["data/", "data/a.txt", "data/etc-host", "data/link", "data/sub/", "data/sub/b", "data/up"]);
      // the whole root: the container's files, not what /proc, /sys and /dev hold
      const all = await runAs(as, asUserArgv(as, ["sh", "-c", `"$0" --root "$1" cp "$2":/ - | tar -tf -`, bunkerBinary(), f.root, id]));
      const names = all.stdout.split("\n");
      expect(names, ok(all)).toEqual(expect.arrayContaining(["./proc/", "./sys/", "./dev/", "./data/a.txt", "./bin/busybox"]));
      expect(names.filter((n) => /^\.\/(proc|sys|dev)\/./.test(n))).toEqual([]);
      oneLineError(await b(["cp", `${id}:/data`, join(out, "file.txt")]), "cp: cannot copy a directory onto a file: ENOTDIR");
      oneLineError(await b(["cp", `${id}:/data/a.txt`, join(out, "nodir") + "/"]), "the destination directory does not exist");
      oneLineError(await b(["cp", `${id}:/data/missing`, out]), /no such file or directory in container .*ENOENT.*\[\/data\/missing\]/);
      expect((await b(["rm", "-f", id])).code).toBe(0);
    });

    test("in: files belong to the container's root, -a keeps the archive's owners; into a directory, onto a new name, DIR/., - a tar; a directory and a file do not replace each other", async () => {
      // the user's container maps its subordinate ids (what -a gives); root's --userns=auto -d fails on main
      // (cannot open the log: EACCES), so root's keeps the one-id map, where the archive's owner is root too
      const id = await dataContainer(as === "user" ? ["--userns=auto"] : []);
      const src = hostDir("in");
      hostFile(join(src, "f.txt"), "from host\n", 0o640);
      mkdirSync(join(src, "tree/deeper"), { recursive: true });
      hostFile(join(src, "tree/deeper/x"), "x\n");
      for (const d of ["tree", "tree/deeper"]) chownSync(join(src, d), owner().uid, owner().gid);
      const fileOwner = owner().uid;
      const cp = async (args: string[], stdin?: string) => {
        const r = await b(["cp", ...args], stdin);
        expect(r.code, ok(r)).toBe(0);
      };
      await cp([join(src, "f.txt"), `${id}:/data/`]);
      await cp(["-a", join(src, "f.txt"), `${id}:/data/kept.txt`]);
      await cp([join(src, "tree"), `${id}:/data`]);
      await cp([join(src, "tree"), `${id}:/data/renamed`]);
      await cp([`${join(src, "tree")}/.`, `${id}:/data/sub`]);
      await cp(["-", `${id}:/data`], tarText({ name: "fromtar/", type: "dir" }, { name: "fromtar/t.txt", data: "tar\n", uid: 7, gid: 7 }));
      const listing = await inside(id, "cd /data && stat -c '%n %u:%g %a' f.txt kept.txt tree/deeper/x renamed/deeper/x sub/deeper/x sub/b fromtar/t.txt && cat f.txt");
      expect(listing).toBe(`f.txt 0:0 640\nkept.txt ${fileOwner}:${fileOwner} 640\ntree/deeper/x 0:0 644\nrenamed/deeper/x 0:0 644\nsub/deeper/x 0:0 644\nsub/b 0:0 644\nfromtar/t.txt 0:0 644\nfrom host\n`);
      oneLineError(await b(["cp", "-", `${id}:/data`], tarText({ name: "sub", data: "not a dir\n" })), "(non-directory onto a directory): EISDIR");
      oneLineError(await b(["cp", "-", `${id}:/data`], tarText({ name: "a.txt/", type: "dir" })), "(directory onto a non-directory): ENOTDIR");
      oneLineError(await b(["cp", join(src, "tree"), `${id}:/data/a.txt`]), "cp: cannot copy a directory onto a file: ENOTDIR");
      oneLineError(await b(["cp", join(src, "f.txt"), `${id}:/nonexistent/dir/`]), "cp: the destination directory does not exist");
      oneLineError(await b(["cp", join(src, "tree"), `${id}:/nonexistent/dir`]), /no such file or directory in container.*ENOENT.*\[\/nonexistent\]/);
      expect(await inside(id, "cat /data/sub/b /data/a.txt")).toBe("deep\nhello\n");
      expect((await b(["rm", "-f", id])).code).toBe(0);
    });

    test("hard links are kept both ways (tar's): two names of one file stay one inode in the container and on the host", async () => {
      const id = await dataContainer();
      const src = hostDir("links");
      hostFile(join(src, "one"), "linked\n");
      Bun.spawnSync(["ln", join(src, "one"), join(src, "two")]);
      const cpOk = async (args: string[]) => {
        const r = await b(["cp", ...args]);
        expect(r.code, ok(r)).toBe(0);
      };
      await cpOk([src, `${id}:/data/links`]);
      expect(await inside(id, "cd /data/links && stat -c '%h %i' one two | sort -u | wc -l && stat -c '%h %n' one two && cat two")).toBe("1\n2 one\n2 two\nlinked\n");
      await inside(id, "mkdir /data/made && echo in-ctr > /data/made/x && ln /data/made/x /data/made/y");
      const out = join(hostDir("links-out"), "made");
      await cpOk([`${id}:/data/made`, out]);
      expect([statSync(join(out, "x")).ino === statSync(join(out, "y")).ino, statSync(join(out, "y")).nlink, readFileSync(join(out, "y"), "utf8")]).toEqual([true, 2, "in-ctr\n"]);
      expect((await b(["rm", "-f", id])).code).toBe(0);
    });

    test("escapes: a symlink to /etc and ../ paths resolve inside the container, archive names outside the destination are refused; nothing on the host is read or written", async () => {
      const id = await dataContainer();
      const tag = `bunker-cp-escape-${as}-${process.pid}`;
      const src = hostDir("esc");
      hostFile(join(src, tag), "should stay in the container\n");
      const out = hostDir("esc-out");
      for (const dest of [`${id}:/data/etc-host/`, `${id}:/data/up/tmp/`, `${id}:/../../../../tmp/`]) {
        const r = await b(["cp", join(src, tag), dest]);
        expect(r.code, `${dest}: ${r.stderr}`).toBe(0);
      }
      expect(existsSync(`/etc/${tag}`) || existsSync(`/tmp/${tag}`)).toBe(false);
      expect(await inside(id, `cat /etc/${tag} /tmp/${tag}`)).toBe("should stay in the container\n".repeat(2));
      // reads: the container's own files, never the host's
      for (const from of ["/data/etc-host/passwd", "/data/up/etc/passwd", "/../../../etc/passwd"]) {
        rmSync(join(out, "passwd"), { force: true });
        const r = await b(["cp", `${id}:${from}`, out]);
        expect(r.code, ok(r)).toBe(0);
        expect(readFileSync(join(out, "passwd"), "utf8")).toBe(readFileSync(join(f.rootfs, "etc/passwd"), "utf8"));
      }
      // archive names that leave the destination: refused, nothing made on either side
      for (const name of [`../../../../../../tmp/${tag}-dots`, `/tmp/${tag}-abs`]) {
        oneLineError(await b(["cp", "-", `${id}:/data`], tarText({ name, data: "evil\n" })), /would be extracted outside the destination: EINVAL/);
      }
      // a symlink of the archive itself, then a file through it
      await b(["cp", "-", `${id}:/data`], tarText({ name: "hop", type: "symlink", linkname: "/tmp" }, { name: `hop/${tag}-hop`, data: "evil\n" }));
      for (const p of [`/tmp/${tag}-dots`, `/tmp/${tag}-abs`, `/tmp/${tag}-hop`]) expect(existsSync(p)).toBe(false);
      expect((await b(["rm", "-f", id])).code).toBe(0);
    });

    test("a stopped container: its --rootfs is copied from and into; a host sandbox's root went with it (one line)", async () => {
      const id = await detached(["run", "-d", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo stopped > /root/note"]);
      expect((await b(["wait", id])).stdout).toBe("0\n");
      const out = hostDir("stopped");
      expect((await b(["cp", `${id}:/root/note`, out])).code).toBe(0);
      expect(readFileSync(join(out, "note"), "utf8")).toBe("stopped\n");
      hostFile(join(out, "back"), "back in\n");
      const r = await b(["cp", join(out, "back"), `${id}:/root/`]);
      expect(r.code, ok(r)).toBe(0);
      expect(readFileSync(join(f.rootfs, "root/back"), "utf8")).toBe("back in\n");
      expect(statSync(join(f.rootfs, "root/back")).uid).toBe(owner().uid); // the container's root is the rootfs owner
      const sandbox = await detached(["run", "-d", "--rootfs", "host", "--", "/bin/true"]);
      await b(["wait", sandbox]);
      oneLineError(await b(["cp", `${sandbox}:/etc/hostname`, out]), /is stopped and its root went with it.*ESRCH/);
      for (const c of [id, sandbox]) expect((await b(["rm", c])).code).toBe(0);
    });

    test("rename on a user network: the others' /etc/hosts list the new name, the renamed container keeps running and its address", async () => {
      const net = `cpnet${as[0]}${process.pid}`;
      const tag = `${as}-${process.pid}`;
      expect((await b(["network", "create", net])).code).toBe(0);
      try {
        const a = await detached(["run", "-d", "--name", `a-${tag}`, "--network", net, "--rootfs", f.rootfs, "--", "/bin/sleep", "60"]);
        const other = await detached(["run", "-d", "--name", `b-${tag}`, "--network", net, "--rootfs", f.rootfs, "--", "/bin/sleep", "60"]);
        const hostsOf = async (id: string) => (await b(["exec", id, "/bin/cat", "/etc/hosts"])).stdout;
        const line = (await hostsOf(other)).split("\n").find((l) => l.endsWith(`\ta-${tag}`));
        expect(line).toBeDefined();
        const pid = JSON.parse((await b(["state", a])).stdout).pid;
        expect((await b(["rename", `a-${tag}`, `web-${tag}`])).code).toBe(0);
        const hosts = await hostsOf(other);
        expect(hosts).toContain(`${line!.split("\t")[0]}\tweb-${tag}\n`);
        expect(hosts).not.toContain(`\ta-${tag}\n`);
        expect((await b(["inspect", "--format", "{{.State.Pid}} {{.State.Status}}", `web-${tag}`])).stdout).toBe(`${pid} running\n`);
        for (const c of [`web-${tag}`, other]) expect((await b(["rm", "-f", c])).code).toBe(0);
      } finally {
        await b(["network", "rm", net]);
      }
    });

    test("rename: every docker-style command finds the new name (ps, inspect, logs, exec, stop, rm), the id still works, a running container keeps running; wait prints exit codes", async () => {
      const name = `cp-ren-${as}-${process.pid}`;
      const id = await detached(["run", "-d", "--name", name, "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo up; sleep 60"]);
      const pid = JSON.parse((await b(["state", id])).stdout).pid;
      expect((await b(["rename", id, `${name}-new`])).code).toBe(0);
      // state is OCI's, by id; the docker-style commands take the name
      expect((await b(["inspect", "--format", "{{.State.Pid}} {{.State.Status}}", `${name}-new`])).stdout).toBe(`${pid} running\n`);
      const ps = (await b(["ps"])).stdout.split("\n");
      expect(ps[0]).toMatch(/NAMES$/);
      expect(ps.find((l) => l.startsWith(id))).toMatch(new RegExp(`\\sUp (Less than a second|\\d+ seconds?)\\s+${name}-new$`));
      expect((await b(["inspect", "--format", "{{.Name}}", `${name}-new`])).stdout).toBe(`/${name}-new\n`);
      expect((await b(["logs", `${name}-new`])).stdout).toBe("up\n");
      expect((await b(["exec", `${name}-new`, "/bin/echo", "in"])).stdout).toBe("in\n");
      oneLineError(await b(["rename", `${name}-new`, `${name}-new`]), "is named");
      const other = await detached(["run", "-d", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "exit 3"]);
      oneLineError(await b(["rename", other, `${name}-new`]), `the name "${name}-new" is in use by container ${id}: EEXIST`);
      oneLineError(await b(["run", "-d", "--name", `${name}-new`, "--rootfs", f.rootfs, "--", "/bin/true"]), "already exists");
      expect((await b(["stop", "-t", "1", `${name}-new`])).stdout).toBe(`${name}-new\n`);
      expect((await b(["wait", `${name}-new`, other])).stdout).toBe("143\n3\n");
      expect((await b(["rm", `${name}-new`, other])).code).toBe(0);
      // its name went with it: free for a new container
      const again = await detached(["run", "-d", "--name", `${name}-new`, "--rootfs", f.rootfs, "--", "/bin/true"]);
      expect(again).toBe(`${name}-new`);
      expect((await b(["wait", again])).stdout).toBe("0\n");
      expect((await b(["rm", again])).code).toBe(0);
      oneLineError(await b(["wait", "no-such-container"]), 'container "no-such-container" does not exist');
    });
  });
}

const IMAGE = "localhost/bbcp:latest";
for (const as of USERS) {
  describeRoot(`cp of a stopped image container (as ${as})`, () => {
    const f = imageRootsFixture(as, "bunker-cp-image", IMAGE, ["sh", "echo", "cat", "mkdir", "stat", "true"]);
    test("its kept writable layer, mounted on its image again: copied from (what it wrote, the image's files) and into (the next start sees it)", async () => {
      const script = "mkdir -p /srv; cat /srv/in.txt 2>/dev/null; echo made > /srv/made";
      const r = await f.quiet(["run", "-d", "--name", "kept", IMAGE, "sh", "-c", script]);
      expect(r.code, r.stdout).toBe(0);
      expect((await f.b(["wait", "kept"])).stdout).toBe("0\n");
      const out = join(f.base, "out");
      mkdirSync(out);
      chownSync(out, ownerOf(as).uid, ownerOf(as).gid);
      for (const from of ["/srv/made", "/etc/passwd"]) {
        const c = await f.b(["cp", `kept:${from}`, out]);
        expect(c.code, ok(c)).toBe(0);
      }
      expect(readFileSync(join(out, "made"), "utf8")).toBe("made\n");
      expect(readFileSync(join(out, "passwd"), "utf8")).toStartWith("root:x:0:0:");
      writeFileSync(join(out, "in.txt"), "copied in while stopped\n");
      chownSync(join(out, "in.txt"), ownerOf(as).uid, ownerOf(as).gid);
      const c = await f.b(["cp", join(out, "in.txt"), "kept:/srv/"]);
      expect(c.code, ok(c)).toBe(0);
      expect((await f.b(["start", "kept"])).code).toBe(0);
      expect((await f.b(["wait", "kept"])).stdout).toBe("0\n");
      // the log writer drains the container's last output after it exited: read until it is there
      let log = "";
      for (let i = 0; i < 100 && log !== "copied in while stopped\n"; i++) log = (await Bun.sleep(i ? 20 : 0), (await f.b(["logs", "kept"])).stdout);
      expect(log).toBe("copied in while stopped\n");
      expect((await f.b(["rm", "kept"])).code).toBe(0);
    });
  });
}
