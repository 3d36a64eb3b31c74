// The OCI runtime CLI end to end (runc's commands and formats), as root and as
// the unprivileged test user, on bundles made by `bunker spec` + a busybox rootfs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeOciFixture, writeOciConfig, USERS, asUserArgv, bunkerAs, bunkerBinary, runAs, runInPty, isRoot, subRange, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, chownTree, waitForFile, type As } from "../lib/index.ts";

const describeRoot = isRoot() ? describe : describe.skip;

for (const as of USERS) {
  describeRoot(`OCI lifecycle as ${as}`, () => {
    let base: string, bundle: string, root: string, out: string;
    const ids: string[] = [];
    const b = (args: string[]) => bunkerAs(as, ["--root", root, ...args], { cwd: bundle });
    /** create/run -d leave the container holding bunker's stdio (as runc does for conmon): give it files */
    const detached = async (args: string[]) => {
      const err = join(base, "create.err");
      const r = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" >/dev/null 2>${err}`, bunkerBinary(), "--root", root, ...args]), { cwd: bundle });
      return { ...r, stderr: readFileSync(err, "utf8") };
    };
    const newId = () => {
      const id = `t${ids.length}-${process.pid}`;
      ids.push(id);
      return id;
    };
    /** writes config.json from `bunker spec`, with ARGS as the process */
    const config = (args: string[], edit: (c: any) => void = () => {}) => writeOciConfig(as, bundle, out, args, edit);

    beforeAll(() => {
      ({ base, bundle, root, out } = makeOciFixture(as, "bunker-oci"));
    });
    afterAll(async () => {
      for (const id of ids) await b(["delete", "--force", id]);
      removeTree(base);
    });

    test("spec writes a config that validates; a second spec refuses to overwrite", async () => {
      await config(["true"]);
      const c = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
      expect(c.ociVersion).toMatch(/^1\./);
      if (as === "user") {
        // not root: a rootless spec, with the caller's one-id map
        expect(c.linux.namespaces.map((n: any) => n.type)).toContain("user");
        expect(c.linux.uidMappings[0]).toEqual({ containerID: 0, hostID: ownerOf(as).uid, size: 1 });
      } else expect(c.linux.namespaces.map((n: any) => n.type)).not.toContain("user");
      const r = await b(["spec", "-b", bundle]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: spec: config.json already exists: EEXIST \(File exists\) \[.*config.json\] — remove it first\n$/);
    });

    test("create of a command that is not there fails at create (as runc's LookPath before the fifo), and leaves no container", async () => {
      await config(["no-such-command", "x"]);
      const id = newId();
      const c = await detached(["create", id]);
      expect(c.stderr).toBe('bunker: exec "no-such-command": executable file not found in $PATH: ENOENT (No such file or directory) [no-such-command] — check the command and the image\'s PATH\n');
      expect(c.code).toBe(127);
      expect((await b(["state", id])).stderr).toContain("does not exist");
      await config(["/bin/no-such-command"]);
      const abs = await detached(["create", newId()]);
      expect(abs.stderr).toContain('exec "/bin/no-such-command": executable file not found: ENOENT');
      expect(abs.code).toBe(127);
    });

    test("create -> created, start -> running, kill -> stopped, delete -> gone", async () => {
      await config(["sh", "-c", "echo $$ > /out/pid; trap 'echo term > /out/sig; exit 0' TERM; while :; do sleep 0.05; done"]);
      const id = newId();
      const pidFile = join(base, `${id}.pid`);
      const c = await detached(["create", "--pid-file", pidFile, id]);
      expect(c.stderr).toBe("");
      expect(c.code).toBe(0);
      const st = JSON.parse((await b(["state", id])).stdout);
      expect(st.status).toBe("created");
      expect(st.id).toBe(id);
      expect(st.bundle).toBe(bundle);
      expect(st.pid).toBe(Number(readFileSync(pidFile, "utf8")));
      expect(existsSync(join(out, "pid"))).toBe(false); // not started yet: the process waits on exec.fifo
      const list = await b(["list"]);
      expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
      expect(list.stdout).toMatch(new RegExp(`^${id}\\s+${st.pid}\\s+created\\s+${bundle}`, "m"));
      expect((await b(["start", id])).code).toBe(0);
      expect(await waitForFile(join(out, "pid"))).toBe(true);
      expect(readFileSync(join(out, "pid"), "utf8").trim()).toBe("1");
      expect(JSON.parse((await b(["state", id])).stdout).status).toBe("running");
      const again = await b(["start", id]);
      expect(again.code).toBe(125);
      expect(again.stderr).toContain("cannot start a container that is running");
      const ps = JSON.parse((await b(["ps", "-f", "json", id])).stdout);
      expect(ps[0]).toBe(st.pid);
      const del = await b(["delete", id]);
      expect(del.code).toBe(125);
      expect(del.stderr).toContain(`cannot delete container "${id}" that is running`);
      expect((await b(["kill", id, "TERM"])).code).toBe(0);
      expect(await waitForFile(join(out, "sig"))).toBe(true);
      for (let i = 0; i < 100 && JSON.parse((await b(["state", id])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
      const stopped = JSON.parse((await b(["state", id])).stdout);
      expect(stopped.status).toBe("stopped");
      expect(stopped.pid).toBe(0);
      expect((await b(["delete", id])).code).toBe(0);
      const gone = await b(["state", id]);
      expect(gone.code).toBe(125);
      expect(gone.stderr).toBe(`bunker: container "${id}" does not exist: ENOENT (No such file or directory)\n`);
      // runc's rule, which containerd's shim relies on: delete --force of a container that is gone succeeds
      expect((await b(["delete", "--force", id])).code).toBe(0);
      expect((await b(["delete", id])).code).toBe(125);
    });

    test("state NAME: a name rename gave finds its container (its id printed); an id wins over a name; a name of nothing is not found", async () => {
      await config(["sleep", "30"]);
      const id = newId(), other = newId(), name = `named-${process.pid}`;
      expect((await detached(["create", id])).code).toBe(0);
      expect((await detached(["create", other])).code).toBe(0);
      expect((await b(["rename", id, name])).code).toBe(0);
      const st = await b(["state", name]);
      expect(st.stderr).toBe("");
      expect(JSON.parse(st.stdout)).toMatchObject({ id, status: "created" });
      expect(JSON.parse((await b(["state", other])).stdout).id).toBe(other);
      expect((await b(["delete", "--force", id])).code).toBe(0);
      const gone = await b(["state", name]);
      expect(gone.code).toBe(125);
      expect(gone.stderr).toBe(`bunker: container "${name}" does not exist: ENOENT (No such file or directory)\n`);
    });

    test("exec joins every namespace; exit codes; -d with --pid-file; ps lists both", async () => {
      await config(["sleep", "30"], (c) => (c.hostname = "ocibox"));
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      const e = await b(["exec", id, "sh", "-c", "echo $$ $(hostname) $(cat /proc/1/cmdline | tr '\\0' ' ')"]);
      expect(e.stderr).toBe("");
      const [pid, host, ...cmd] = e.stdout.trim().split(" ");
      expect(Number(pid)).toBeGreaterThan(1);
      expect(host).toBe("ocibox");
      expect(cmd.join(" ")).toBe("sleep 30");
      expect((await b(["exec", id, "sh", "-c", "exit 7"])).code).toBe(7);
      const nf = await b(["exec", id, "nosuch"]);
      expect(nf.code).toBe(127);
      expect(nf.stderr).toContain('exec "nosuch": executable file not found');
      const pidFile = join(base, `${id}-exec.pid`);
      expect((await detached(["exec", "-d", "--pid-file", pidFile, id, "sleep", "20"])).code).toBe(0);
      const epid = Number(readFileSync(pidFile, "utf8"));
      expect(readFileSync(`/proc/${epid}/cmdline`, "utf8")).toBe("sleep\u000020\u0000");
      // a process of an earlier exec may still be on its way out: give it a moment
      let ps: number[] = [];
      for (let i = 0; i < 50; i++) {
        ps = JSON.parse((await b(["ps", "-f", "json", id])).stdout);
        if (ps.length === 2) break;
        await Bun.sleep(20);
      }
      expect(ps).toContain(epid);
      expect(ps).toHaveLength(2);
      expect((await b(["kill", "--all", id, "KILL"])).code).toBe(0);
      for (let i = 0; i < 100 && existsSync(`/proc/${epid}`); i++) await Bun.sleep(20);
      expect(existsSync(`/proc/${epid}`)).toBe(false);
      expect((await b(["delete", "--force", id])).code).toBe(0);
    });

    test("a process that is not root starts (exec.fifo is opened after the switch to process.user)", async () => {
      const range = subRange("/etc/subuid", as);
      await config(["sh", "-c", "echo $(id -u) $(id -g) > /out/nonroot"], (c) => {
        c.process.user = { uid: 1000, gid: 1000 };
        c.process.capabilities = { bounding: ["CAP_KILL"], effective: [], permitted: [], inheritable: [], ambient: [] };
        if (as === "user") {
          // 1000 is mapped to a subordinate id (newuidmap)
          c.linux.uidMappings = [{ containerID: 0, hostID: ownerOf(as).uid, size: 1 }, { containerID: 1, hostID: range!.start, size: 65536 }];
          c.linux.gidMappings = [{ containerID: 0, hostID: ownerOf(as).gid, size: 1 }, { containerID: 1, hostID: range!.start, size: 65536 }];
        }
      });
      const id = newId();
      const cr = await detached(["create", id]);
      expect(cr.stderr).toBe("");
      expect(cr.code).toBe(0);
      expect(JSON.parse((await b(["state", id])).stdout).status).toBe("created");
      expect((await b(["start", id])).code).toBe(0);
      expect(await waitForFile(join(out, "nonroot"))).toBe(true);
      expect(readFileSync(join(out, "nonroot"), "utf8")).toBe("1000 1000\n");
      expect((await b(["delete", "--force", id])).code).toBe(0);
    });

    test("runc's small ones: kill ID 0, exec --cap, a --pid-file in a missing directory, --log is created", async () => {
      await config(["sleep", "30"]);
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      expect(await b(["kill", id, "0"])).toMatchObject({ code: 0, stderr: "" });
      const capLine = 'while read k v; do [ "$k" = CapEff: ] && echo $v; done < /proc/self/status';
      const plain = BigInt(`0x${(await b(["exec", id, "sh", "-c", capLine])).stdout.trim()}`);
      const added = BigInt(`0x${(await b(["exec", "--cap", "CAP_SYS_ADMIN", "--cap", "net_admin", id, "sh", "-c", capLine])).stdout.trim()}`);
      expect(added).toBe(plain | (1n << 21n) | (1n << 12n));
      const bad = await b(["exec", "--cap", "bogus", id, "true"]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toBe('bunker: exec --cap: unknown capability "bogus": EINVAL (Invalid argument) — use a name from capabilities(7), e.g. NET_ADMIN, or ALL\n');
      const pf = await b(["exec", "--pid-file", join(base, "no/such/dir/pid"), id, "true"]);
      expect(pf.code).toBe(125);
      expect(pf.stderr).toBe(`bunker: cannot write --pid-file: ENOENT (No such file or directory) [${join(base, "no/such/dir/pid")}] — create its directory first\n`);
      const log = join(base, `${id}.log`);
      expect((await b(["--log", log, "state", id])).code).toBe(0);
      expect(existsSync(log)).toBe(true);
      const noLog = await b(["--log", join(base, "no/such/dir/log"), "state", id]);
      expect(noLog).toMatchObject({ code: 125, stderr: `bunker: cannot open --log: ENOENT (No such file or directory) [${join(base, "no/such/dir/log")}] — give a writable path (its directory must exist)\n` });
      // create's and run's --pid-file, a --console-socket nobody made: one line each, and no container left behind
      for (const args of [["create", "--pid-file", join(base, "no/such/dir/pid")], ["run", "-d", "--pid-file", join(base, "no/such/dir/pid")]]) {
        const r = await detached([...args, "pf-" + id]);
        expect(r).toMatchObject({ code: 125, stderr: `bunker: cannot write --pid-file: ENOENT (No such file or directory) [${join(base, "no/such/dir/pid")}] — create its directory first\n` });
        expect((await b(["state", "pf-" + id])).code).toBe(125);
      }
      await config(["sleep", "30"], (c) => (c.process.terminal = true));
      const cs = await detached(["create", "--console-socket", join(base, "no-such.sock"), "cs-" + id]);
      expect(cs).toMatchObject({ code: 125, stderr: `bunker: cannot send the terminal to the console socket: ENOENT (No such file or directory) [${join(base, "no-such.sock")}] — give --console-socket the AF_UNIX socket its caller listens on (conmon, containerd-shim), created first\n` });
      expect((await b(["state", "cs-" + id])).code).toBe(125);
      expect((await b(["kill", id, "KILL"])).code).toBe(0);
      for (let i = 0; i < 100 && JSON.parse((await b(["state", id])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
      const gone = await b(["kill", id, "0"]);
      expect(gone.code).toBe(125);
      expect(gone.stderr).toBe(`bunker: container "${id}" is not running: ESRCH (No such process)\n`);
      expect((await b(["delete", "--force", id])).code).toBe(0);
    });

    test("run: runc's form by its flags, the docker form otherwise, wherever it runs; process.terminal uses run's own terminal", async () => {
      // in the bundle directory (a config.json here): the docker form still is the docker form
      await config(["sh", "-c", "echo oci-ran"]);
      const docker = await b(["run", "--rm", "--rootfs", join(bundle, "rootfs"), "--", "/bin/echo", "docker-ran"]);
      expect(docker).toMatchObject({ code: 0, stdout: "docker-ran\n", stderr: "" });
      const img = await b(["run", "--pull", "never", "no-such-image-here"]);
      expect(img.code).toBe(125);
      expect(img.stderr).toBe("bunker: no such image: no-such-image-here (looked for docker.io/library/no-such-image-here:latest, localhost/no-such-image-here:latest): ENOENT (No such file or directory) — bunker pull no-such-image-here (or bunker load -i FILE); or to run the OCI bundle in this directory: bunker run -b . no-such-image-here\n");
      // runc's form, chosen by --pid-file (no -b: the bundle is the current directory)
      const id = newId();
      const pidFile = join(base, `${id}.pid`);
      const oci = await b(["run", "--pid-file", pidFile, id]);
      expect(oci).toMatchObject({ code: 0, stdout: "oci-ran\n" });
      expect(Number(readFileSync(pidFile, "utf8"))).toBeGreaterThan(1);
      // process.terminal (what spec writes) without --console-socket: the caller's terminal
      await config(["sh", "-c", "tty; exit 5"], (c) => (c.process.terminal = true));
      const tid = newId();
      const t = await runInPty(as, [bunkerBinary(), "--root", root, "run", "-b", bundle, tid]);
      expect(t.stdout.replace(/\r/g, "")).toBe("/dev/pts/0\n");
      expect(t.code).toBe(5);
    });

    test("linux.devices: made as asked without a user namespace (root), bound from the host in one, a missing one is an error", async () => {
      const report = "stat -c '%F %t:%T %a %u:%g' /dev/extra/null2 > /out/dev; echo x > /dev/extra/null2 && echo writable >> /out/dev";
      await config(["sh", "-c", report], (c) => {
        c.linux.devices = [{ path: "/dev/extra/null2", type: "c", major: 1, minor: 3, fileMode: 0o620, uid: 0, gid: 0 }];
      });
      const id = newId();
      if (as === "user") {
        // in a user namespace only a node the host has can be bound: one it lacks is an error
        const f = join(bundle, "config.json");
        const c = JSON.parse(readFileSync(f, "utf8"));
        c.linux.devices = [{ path: "/dev/no-such-device-here", type: "c", major: 1, minor: 3 }];
        writeFileSync(f, JSON.stringify(c));
        const bad = await detached(["create", id]);
        expect(bad.code).toBe(125);
        expect(bad.stderr).toBe("bunker: cannot bind mount /dev/no-such-device-here on /dev/no-such-device-here: ENOENT (No such file or directory) [/dev/no-such-device-here] — the source must exist on the host\n");
        expect((await b(["delete", "--force", id])).code).toBe(0);
        return;
      }
      expect((await detached(["create", id])).code).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      expect(await waitForFile(join(out, "dev"))).toBe(true);
      for (let i = 0; i < 50 && !readFileSync(join(out, "dev"), "utf8").includes("writable"); i++) await Bun.sleep(20);
      expect(readFileSync(join(out, "dev"), "utf8")).toBe("character special file 1:3 620 0:0\nwritable\n");
      expect((await b(["delete", "--force", id])).code).toBe(0);
    });

    test("linux.rootfsPropagation rshared: pivot_root works and the new / is shared", async () => {
      // mountinfo: id parent major:minor root mountpoint options [optional fields] - ...
      await config(["sh", "-c", "while read id p mm r mp o rest; do [ \"$mp\" = / ] && echo \"${rest%% - *}\"; done < /proc/self/mountinfo > /out/prop"], (c) => (c.linux.rootfsPropagation = "rshared"));
      const id = newId();
      const r = await b(["run", "-b", bundle, id]);
      expect(r.stderr).toBe("");
      expect(readFileSync(join(out, "prop"), "utf8")).toMatch(/^shared:\d+\n$/);
    });

    test("a read-only /dev (and a read-only tmpfs with a mount below it) is made read-only after its submounts", async () => {
      const script = "ls /dev/pts/ptmx /sub/in/x >/dev/null && echo mounted; touch /dev/x 2>/dev/null || echo dev-ro; touch /sub/y 2>/dev/null || echo sub-ro; touch /sub/in/z && echo in-rw";
      await config(["sh", "-c", `(${script}) > /out/ro 2>&1`], (c) => {
        c.mounts.find((m: { destination: string }) => m.destination === "/dev").options.push("ro");
        c.mounts.push({ destination: "/sub", type: "tmpfs", source: "tmpfs", options: ["ro"] });
        c.mounts.push({ destination: "/sub/in", type: "tmpfs", source: "tmpfs", options: [] });
        c.mounts.push({ destination: "/sub/in/x", type: "tmpfs", source: "tmpfs", options: [] });
      });
      const r = await b(["run", "-b", bundle, newId()]);
      expect(r.stderr).toBe("");
      expect(readFileSync(join(out, "ro"), "utf8")).toBe("mounted\ndev-ro\nsub-ro\nin-rw\n");
    });

    test("a bind onto a dangling symlink lands on its target inside the root; proc onto a symlink is refused", async () => {
      const rootfs = join(bundle, "rootfs");
      const src = join(base, "bind-src");
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, "f"), "through the link\n");
      chownTree(src, ownerOf(as));
      symlinkSync("/data/here", join(rootfs, "linked"));
      try {
        await config(["sh", "-c", "cat /data/here/f > /out/dangling"], (c) => c.mounts.push({ destination: "/linked", type: "bind", source: src, options: ["rbind"] }));
        const r = await b(["run", "-b", bundle, newId()]);
        expect(r.stderr).toBe("");
        expect(readFileSync(join(out, "dangling"), "utf8")).toBe("through the link\n");
      } finally {
        removeTree(join(rootfs, "linked"));
        removeTree(join(rootfs, "data"));
      }
      removeTree(join(rootfs, "proc"));
      symlinkSync("/tmp", join(rootfs, "proc"));
      try {
        await config(["true"]);
        const r = await b(["run", "-b", bundle, newId()]);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe("bunker: cannot mount proc on /proc: it is a symlink in the rootfs: ELOOP (Too many levels of symbolic links) [/proc] — make /proc a directory in the rootfs\n");
      } finally {
        removeTree(join(rootfs, "proc"));
        mkdirSync(join(rootfs, "proc"));
        chownTree(join(rootfs, "proc"), ownerOf(as));
      }
    });

    test("HOME comes from the container's /etc/passwd when the environment has none (create and exec, per user)", async () => {
      const passwd = join(bundle, "rootfs/etc/passwd");
      const saved = readFileSync(passwd, "utf8");
      writeFileSync(passwd, `${saved}www:x:1000:1000:w:/var/www:/bin/sh\n`);
      try {
        await config(["sh", "-c", "echo $HOME > /out/home; exec sleep 30"], (c) => (c.process.env = ["PATH=/bin"]));
        const id = newId();
        expect((await detached(["create", id])).code).toBe(0);
        expect((await b(["start", id])).code).toBe(0);
        expect(await waitForFile(join(out, "home"))).toBe(true);
        expect(readFileSync(join(out, "home"), "utf8")).toBe("/root\n");
        if (as === "root") expect((await b(["exec", "-u", "1000", id, "sh", "-c", "echo $HOME"])).stdout).toBe("/var/www\n");
        expect((await b(["exec", "-u", "4242", id, "sh", "-c", "echo $HOME"])).stdout).toBe(as === "root" ? "/\n" : "");
        expect((await b(["exec", "-e", "HOME=/x", id, "sh", "-c", "echo $HOME"])).stdout).toBe("/x\n");
        expect((await b(["delete", "--force", id])).code).toBe(0);
      } finally {
        writeFileSync(passwd, saved);
      }
    });

    test("env values with a newline stay whole: config.json process.env, exec --env, exec --process", async () => {
      await config(["sh", "-c", 'printf "[%s]" "$A" > /out/env-nl; exec sleep 30'], (c) => (c.process.env = ["PATH=/bin", "A=x\ny z"]));
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      expect(await waitForFile(join(out, "env-nl"))).toBe(true);
      expect(readFileSync(join(out, "env-nl"), "utf8")).toBe("[x\ny z]");
      expect((await b(["exec", "-e", "B=p\nq", id, "sh", "-c", 'printf "[%s][%s]" "$A" "$B"'])).stdout).toBe("[x\ny z][p\nq]");
      const pj = join(base, "process-nl.json");
      writeFileSync(pj, JSON.stringify({ args: ["sh", "-c", 'printf "[%s]" "$C"'], env: ["PATH=/bin", "C=r\n\ns"], cwd: "/" }));
      chmodSync(pj, 0o644);
      expect(await b(["exec", "-p", pj, id])).toMatchObject({ code: 0, stdout: "[r\n\ns]", stderr: "" });
      expect((await b(["delete", "--force", id])).code).toBe(0);
    });

    // runc 1.1.5 (Debian's) on the same bundle is the reference
    test.if(Bun.which("runc") !== null)("/dev/ptmx, devpts and the order of config.json's mounts are runc's (the same bundle under runc)", async () => {
      const src = join(base, "order-src");
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, "f"), "hello\n");
      chownTree(src, ownerOf(as));
      const probe = [
        "stat -c '%n|%F|%u|%g|%a' /dev/ptmx /dev/pts /dev/pts/ptmx; readlink /dev/ptmx",
        "grep ' /dev/pts ' /proc/self/mountinfo | cut -d' ' -f5-",
        // a tmpfs at /a then a bind at /a/b: the bind is on the tmpfs; a bind at /c/d then a tmpfs at /c hides it
        "cat /a/b/f; ls /c/d 2>&1; cat /e/f",
        "grep -E ' /(a|c|e)[ /]' /proc/self/mountinfo | cut -d' ' -f5",
      ].join("; ");
      await config(["sh", "-c", probe], (c) => {
        c.mounts.push(
          { destination: "/a", type: "tmpfs", source: "tmpfs", options: ["mode=755"] },
          { destination: "/a/b", type: "bind", source: src, options: ["rbind", "ro"] },
          { destination: "/c/d", type: "bind", source: src, options: ["rbind"] },
          { destination: "/c", type: "tmpfs", source: "tmpfs" },
          { destination: "/e", type: "tmpfs", source: "tmpfs" },
          { destination: "/e", type: "bind", source: src, options: ["bind"] },
        );
      });
      const runcRoot = join(base, "runc-state");
      const ours = await b(["run", "-b", bundle, newId()]);
      const theirs = await runAs(as, asUserArgv(as, ["runc", "--root", runcRoot, "run", "-b", bundle, `runc-${process.pid}`]), { cwd: bundle });
      expect(theirs.stderr).toBe("");
      expect(ours.stderr).toBe("");
      expect(ours.stdout).toBe(theirs.stdout);
      expect(ours.stdout).toContain("/dev/ptmx|symbolic link|0|0|777\n/dev/pts|directory|0|0|755\n/dev/pts/ptmx|character special file|0|0|666\npts/ptmx\n");
      expect(ours.stdout).toContain("hello\nls: /c/d: No such file or directory\nhello\n");
      expect(ours.stdout).toEndWith("\n/a\n/a/b\n/c/d\n/c\n/e\n/e\n");
    });

    test("joining another container's pid namespace by path (and, rootless, its user namespace): it sees that container's PID 1", async () => {
      await config(["sleep", "30"]);
      const a = newId();
      const ra = await detached(["run", "-d", "-b", bundle, a]);
      expect(ra.code, ra.stderr).toBe(0);
      const apid = JSON.parse((await b(["state", a])).stdout).pid as number;
      await config(["sh", "-c", "echo $$ $(cat /proc/1/cmdline | tr '\\0' ' ') > /out/joined"], (c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "pid" ? { type: "pid", path: `/proc/${apid}/ns/pid` } : n));
        if (as === "user") {
          // the pid namespace belongs to a's user namespace: join that too (its maps are a's)
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "user" ? { type: "user", path: `/proc/${apid}/ns/user` } : n));
          delete c.linux.uidMappings;
          delete c.linux.gidMappings;
        }
      });
      const r = await b(["run", "-b", bundle, newId()]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const [pid, ...cmd] = readFileSync(join(out, "joined"), "utf8").trim().split(" ");
      expect(Number(pid)).toBeGreaterThan(1);
      expect(cmd.join(" ")).toBe("sleep 30");
      expect((await b(["delete", "--force", a])).code).toBe(0);
    });

    test("exec --process with a process.json; -e, --cwd", async () => {
      await config(["sleep", "30"]);
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      const pj = join(base, "process.json");
      writeFileSync(pj, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ["sh", "-c", "echo $FOO $(pwd)"], env: ["FOO=bar", "PATH=/bin"], cwd: "/tmp" }));
      chmodSync(pj, 0o644);
      const r = await b(["exec", "--process", pj, id]);
      expect(r.stdout).toBe("bar /tmp\n");
      const r2 = await b(["exec", "-e", "X=1", "--cwd", "/etc", id, "sh", "-c", "echo $X $(pwd)"]);
      expect(r2.stdout).toBe("1 /etc\n");
      writeFileSync(pj, JSON.stringify({ user: { uid: 0, gid: 0 }, args: [], cwd: "/" }));
      const bad = await b(["exec", "--process", pj, id]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toMatch(/process.json: args: /);
      expect((await b(["delete", "--force", id])).code).toBe(0);
    });

    test("run -b ID: create+start+wait, exit status, deleted after", async () => {
      await config(["sh", "-c", "echo ran; exit 4"]);
      const id = newId();
      const r = await b(["run", "-b", bundle, id]);
      expect(r.stdout).toBe("ran\n");
      expect(r.code).toBe(4);
      expect((await b(["state", id])).code).toBe(125);
    });

    test("create refuses a duplicate id and leaves the first alone; delete --force cleans a killed create", async () => {
      await config(["sleep", "30"]);
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      const dup = await detached(["create", id]);
      expect(dup.code).toBe(125);
      expect(dup.stderr).toMatch(new RegExp(`^bunker: container "${id}" already exists: EEXIST`));
      expect(JSON.parse((await b(["state", id])).stdout).status).toBe("created");
      expect((await b(["delete", "--force", id])).code).toBe(0);
      // a create killed half way leaves a directory without state.json
      const half = newId();
      require("node:fs").mkdirSync(join(root, half), { recursive: true });
      chownTree(join(root, half), ownerOf(as));
      const st = await b(["state", half]);
      expect(st.code).toBe(125);
      expect(st.stderr).toContain("delete --force");
      expect((await b(["delete", "--force", half])).code).toBe(0);
      expect(existsSync(join(root, half))).toBe(false);
    });

    test("invalid configs fail before anything is created, naming the JSON path", async () => {
      await config(["true"], (c) => {
        if (!c.linux.uidMappings) {
          c.linux.namespaces.push({ type: "user" });
          c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
          c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
        }
        c.linux.uidMappings[0].size = 0;
      });
      const id = newId();
      const r = await detached(["create", id]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: .*config.json: linux.uidMappings\[0\].size: must be > 0/);
      expect(existsSync(join(root, id))).toBe(false);
      await config(["true"], (c) => (c.process.cwd = "relative"));
      const r2 = await detached(["create", id]);
      expect(r2.stderr).toMatch(/config.json: process.cwd: /);
    });

    test("seccomp: a rule's errno comes back, other syscalls work; capabilities are what the config says", async () => {
      await config(["sh", "-c", "mkdir /tmp/x; echo mkdir=$?; grep -E '^Cap(Eff|Bnd)' /proc/self/status"], (c) => {
        c.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
        };
        c.process.capabilities = { bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], permitted: ["CAP_KILL", "CAP_CHOWN"] };
      });
      const id = newId();
      const r = await b(["run", "-b", bundle, id]);
      expect(r.stderr).toContain("Operation not permitted");
      // uid 0 execs with permitted = effective = bounding (the kernel's rule for root, as under runc)
      expect(r.stdout).toBe("mkdir=1\nCapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n");
      expect(r.code).toBe(0);
    });

    test("hooks: prestart/createRuntime/createContainer get the state on stdin, poststart after start, poststop on delete, a failing one is named", async () => {
      const hook = join(base, "hook.sh");
      writeFileSync(hook, `#!/bin/sh\ncat > ${out}/hook-$1.json\n`);
      chmodSync(hook, 0o755);
      // startContainer runs in the container, where this host script does not exist: tested below
      const kinds = ["prestart", "createRuntime", "createContainer", "poststart", "poststop"];
      await config(["sleep", "30"], (c) => {
        c.hooks = Object.fromEntries(kinds.map((k) => [k, [{ path: hook, args: ["hook.sh", k] }]]));
      });
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      for (const k of ["prestart", "createRuntime", "createContainer"]) {
        const st = JSON.parse(readFileSync(join(out, `hook-${k}.json`), "utf8"));
        expect(st.id).toBe(id);
        expect(st.status).toBe("creating");
        expect(st.pid).toBeGreaterThan(0);
      }
      expect(existsSync(join(out, "hook-poststart.json"))).toBe(false);
      expect((await b(["start", id])).code).toBe(0);
      expect(JSON.parse(readFileSync(join(out, "hook-poststart.json"), "utf8")).status).toBe("running");
      expect(existsSync(join(out, "hook-poststop.json"))).toBe(false);
      expect((await b(["delete", "--force", id])).code).toBe(0);
      expect(JSON.parse(readFileSync(join(out, "hook-poststop.json"), "utf8")).status).toBe("stopped");
      await config(["true"], (c) => (c.hooks = { prestart: [{ path: "/bin/false" }] }));
      const bad = newId();
      const r = await detached(["create", bad]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: hooks\.prestart\[0\] \/bin\/false: exited with status 1/);
      expect(existsSync(join(root, bad))).toBe(false);
    });

    test("startContainer hooks run in the container after start, before the program; a failing one stops it", async () => {
      const hostOnly = join(base, "host-only");
      writeFileSync(hostOnly, "");
      const record = `cat > /out/start-state.json; { echo $$; hostname; test -e /bin/busybox && echo in-rootfs; test -e ${hostOnly} && echo sees-host; echo "$HOOKVAR"; } > /out/start-hook`;
      await config(["sh", "-c", "test -s /out/start-hook && echo saw-hook > /out/proc"], (c) => {
        c.hostname = "hooked";
        c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", record], env: ["HOOKVAR=from-config"] }] };
      });
      const id = newId();
      expect((await detached(["create", id])).code).toBe(0);
      const pid = JSON.parse((await b(["state", id])).stdout).pid;
      expect(existsSync(join(out, "start-hook"))).toBe(false); // not at create
      const started = await b(["start", id]);
      expect(started.stderr).toBe("");
      expect(started.code).toBe(0);
      expect(await waitForFile(join(out, "proc"))).toBe(true);
      expect(readFileSync(join(out, "proc"), "utf8")).toBe("saw-hook\n");
      // pid 2 in the container's pid namespace (the program is 1), its uts namespace and root, the hook's env
      expect(readFileSync(join(out, "start-hook"), "utf8")).toBe("2\nhooked\nin-rootfs\nfrom-config\n");
      // the state as the runtime sees it: the host pid
      expect(JSON.parse(readFileSync(join(out, "start-state.json"), "utf8"))).toEqual({ ociVersion: expect.any(String), id, status: "created", pid, bundle, annotations: {} });
      expect((await b(["delete", "--force", id])).code).toBe(0);

      const failing = [
        { hook: { path: "/bin/sh", args: ["sh", "-c", "echo not today >&2; exit 3"] }, error: /^bunker: hooks\.startContainer\[0\] \/bin\/sh: exited with status 3: not today\n$/ },
        { hook: { path: "/no/such/hook" }, error: /^bunker: hooks\.startContainer\[0\] \/no\/such\/hook: cannot run the hook: ENOENT .* — check that the hook exists and is executable\n$/ },
        { hook: { path: "/bin/sleep", args: ["sleep", "20"], timeout: 1 }, error: /^bunker: hooks\.startContainer\[0\] \/bin\/sleep: timed out after 1s and was killed: ETIMEDOUT/ },
      ];
      for (const f of failing) {
        await config(["sh", "-c", "echo ran > /out/must-not-run"], (c) => (c.hooks = { startContainer: [f.hook] }));
        const bad = newId();
        expect((await detached(["create", bad])).code).toBe(0);
        const t0 = Date.now();
        const r = await b(["start", bad]);
        expect(r.stderr).toMatch(f.error);
        expect(r.code).toBe(125);
        expect(Date.now() - t0).toBeLessThan(10_000);
        for (let i = 0; i < 100 && JSON.parse((await b(["state", bad])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
        expect(JSON.parse((await b(["state", bad])).stdout).status).toBe("stopped");
        expect(existsSync(join(out, "must-not-run"))).toBe(false);
        expect((await b(["delete", bad])).code).toBe(0);
      }
      // run: a start that fails leaves no container behind
      const gone = newId();
      const r = await b(["run", "-b", bundle, gone]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^bunker: hooks\.startContainer\[0\] /);
      expect((await b(["state", gone])).stderr).toBe(`bunker: container "${gone}" does not exist: ENOENT (No such file or directory)\n`);
    });

    test("tmpcopyup: the tmpfs starts with a copy of the directory it covers; writes stay in the tmpfs", async () => {
      const data = join(bundle, "rootfs/data");
      mkdirSync(join(data, "sub"), { recursive: true });
      writeFileSync(join(data, "a.txt"), "hello a\n");
      writeFileSync(join(data, "sub/b.txt"), "hello b\n");
      symlinkSync("a.txt", join(data, "link"));
      chownTree(data, ownerOf(as));
      chmodSync(join(data, "a.txt"), 0o640);
      chmodSync(join(data, "sub"), 0o750);
      utimesSync(join(data, "a.txt"), 1_000_000_000, 1_000_000_000);
      // root: a foreign owner is copied; rootless, the single-id map shows it as the overflow id, and the copy keeps the namespace root's
      if (as === "root") chownSync(join(data, "sub/b.txt"), 1234, 5678);
      const show = `grep " /data " /proc/self/mountinfo | sed "s/.* - //" | cut -d" " -f1; cd /data; stat -c "%n %a %u:%g" a.txt sub sub/b.txt; stat -c %Y a.txt; readlink link; cat link sub/b.txt; echo changed > a.txt; echo new > new; cat a.txt`;
      await config(["sh", "-c", show], (c) => c.mounts.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup", "mode=755"] }));
      const id = newId();
      const r = await b(["run", "-b", bundle, id]);
      expect(r.stderr).toBe("");
      const b_owner = as === "root" ? "1234:5678" : "0:0";
      expect(r.stdout).toBe(`tmpfs\na.txt 640 0:0\nsub 750 0:0\nsub/b.txt 644 ${b_owner}\n1000000000\na.txt\nhello a\nhello b\nchanged\n`);
      expect(r.code).toBe(0);
      expect(readFileSync(join(data, "a.txt"), "utf8")).toBe("hello a\n");
      expect(existsSync(join(data, "new"))).toBe(false);
    });

    test("--log --log-format json records the error for podman", async () => {
      const log = join(base, "log.json");
      const r = await bunkerAs(as, ["--root", root, "--log", log, "--log-format", "json", "state", "nosuch"], { cwd: base });
      expect(r.code).toBe(125);
      const entry = JSON.parse(readFileSync(log, "utf8").trim().split("\n").pop()!);
      expect(entry.level).toBe("error");
      expect(entry.msg).toBe('container "nosuch" does not exist: ENOENT (No such file or directory)');
      expect(typeof entry.time).toBe("string");
    });

    test("features and version", async () => {
      const f = JSON.parse((await b(["features"])).stdout);
      expect(f.ociVersionMax).toMatch(/^1\./);
      expect(f.linux.namespaces).toContain("user");
      expect(f.linux.seccomp.enabled).toBe(true);
      const v = await b(["--version"]);
      expect(v.stdout).toMatch(/^bunker version \d+\.\d+\.\d+\nspec: 1\.\d+\.\d+\n$/);
    });
  });
}
