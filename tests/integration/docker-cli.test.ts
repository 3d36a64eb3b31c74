// Docker-style commands that behave as Docker's (issue 15): the exit status a
// SIGKILL leaves (128+9, also when the container's init itself was killed);
// logs --tail N across the log writer's rotated files, -f, --timestamps,
// --since/--until, stderr apart, old untimed logs; exec by name; top;
// fixes that name docker's verbs (rm -f) for a container `run` made; export.
import { describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, detachedIdAs, isRoot, rootfsFixture, runAs, subRange } from "../lib/index.ts";

const describeRoot = isRoot() ? describe : describe.skip;

for (const as of USERS) {
  describeRoot(`docker-style commands (as ${as})`, () => {
    const f = rootfsFixture(as, "bunker-docker-cli");
    const b = (args: string[]) => bunkerAs(as, ["--root", f.root, ...args]);
    const detached = (args: string[]) => detachedIdAs(as, ["--root", f.root, ...args]);
    const psLine = async (id: string) => (await b(["ps", "-a"])).stdout.split("\n").find((l) => l.startsWith(id)) ?? "";

    test("kill ID KILL (the init itself) and a stop past its timeout: Exited (137), inspect's ExitCode 137", async () => {
      const killed = await detached(["run", "-d", "--rootfs", f.rootfs, "--", "/bin/sleep", "30"]);
      const stubborn = await detached(["run", "-d", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30"]);
      for (let i = 0; i < 100 && !(await b(["logs", stubborn])).stdout.includes("ready"); i++) await Bun.sleep(50);
      expect((await b(["kill", killed, "KILL"])).code).toBe(0);
      expect(await psLine(killed)).toMatch(/\sExited \(137\)/);
      expect((await b(["inspect", "--format", "{{.State.ExitCode}} {{.State.Status}}", killed])).stdout.trim()).toBe("137 exited");
      expect((await b(["stop", "-t", "1", stubborn])).code).toBe(0);
      expect(await psLine(stubborn)).toMatch(/\sExited \(137\)/);
      // the command killed inside, its init alive: the init records it
      const inner = await detached(["run", "-d", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "kill -9 $$"]);
      for (let i = 0; i < 100 && !(await psLine(inner)).includes("Exited"); i++) await Bun.sleep(50);
      expect(await psLine(inner)).toMatch(/\sExited \(137\)/);
      for (const id of [killed, stubborn, inner]) expect((await b(["rm", id])).code).toBe(0);
    });

    test("logs --tail N: the last N lines across rotated files (a last line without its newline counts)", async () => {
      const seq = await detached(["run", "-d", "--log-opt", "max-size=32k", "--log-opt", "max-file=3", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "seq 1 2000; printf partial"]);
      for (let i = 0; i < 100 && !(await psLine(seq)).includes("Exited"); i++) await Bun.sleep(50);
      expect((await b(["logs", "--tail", "3", seq])).stdout).toBe("1999\n2000\npartial");
      const many = (await b(["logs", "-n", "1500", seq])).stdout.split("\n");
      expect(many.length).toBe(1500);
      expect(existsSync(join(f.root, seq, "log.2"))).toBe(true);
      expect([many[0], many.at(-2)]).toEqual(["502", "2000"]); // spans log.2, log.1 and log (32 KiB each, a line about 45 bytes)
      expect((await b(["logs", "--tail", "0", seq])).stdout).toBe("");
      expect((await b(["logs", "--tail", "all", seq])).stdout.split("\n").length).toBe(2001);
      const bad = await b(["logs", "--tail", "x", seq]);
      expect([bad.code, bad.stderr.trim()]).toEqual([125, expect.stringContaining('--tail must be a number of lines or "all" (got "x"): EINVAL')]);
      expect((await b(["rm", seq])).code).toBe(0);
    });

    test("logs -f, --timestamps, --since/--until; stderr on stderr; a log written before lines were timed still reads; exec by name", async () => {
      const t0 = new Date().toISOString();
      const id = await detached(["run", "-d", "--name", "timed", "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "echo a; echo b >&2; sleep 1.5; echo c"]);
      expect(await b(["exec", "timed", "/bin/echo", "by-name"])).toEqual({ code: 0, stdout: "by-name\n", stderr: "" });
      const follow = await b(["logs", "-f", id]);
      expect(follow).toEqual({ code: 0, stdout: "a\nc\n", stderr: "b\n" });
      const t = (await b(["logs", "--timestamps", id])).stdout.split("\n");
      expect(t[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z a$/);
      const c = t[1]!.split(" ")[0]!;
      expect(c > t0).toBe(true);
      expect((await b(["logs", "--since", c, id])).stdout).toBe("c\n");
      expect((await b(["logs", "--since", "1h", "--until", t[0]!.split(" ")[0]!, id])).stdout).toBe("a\n");
      expect((await b(["logs", "--since", "2000-01-01T00:00:00Z", id])).stdout).toBe("a\nc\n");
      const bad = await b(["logs", "--since", "yesterday", id]);
      expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([125, 1]);
      expect(bad.stderr).toContain('logs: --since must be a time (2026-01-02T15:04:05Z), seconds since the epoch or a duration such as 10m (got "yesterday"): EINVAL');
      // a log of the old form (the bytes as written, one stream): read as it is, without times
      writeFileSync(join(f.root, id, "log.1"), "old 1\nold 2\n");
      expect((await b(["logs", id])).stdout).toBe("old 1\nold 2\na\nc\n");
      expect((await b(["logs", "-t", "--tail", "4", id])).stdout).toMatch(/^old 2\n\S+Z a\n\S+Z c\n$/);
      expect((await b(["rm", id])).code).toBe(0);
    });

    test("top ID [PS_ARGS]: the container's processes, as ps ID prints them; a name clash and kill --all of a stopped one say rm, not delete", async () => {
      const web = await detached(["run", "-d", "--name", "web", "--rootfs", f.rootfs, "--", "/bin/sleep", "30"]);
      const pid = JSON.parse((await b(["state", web])).stdout).pid as number;
      const top = await b(["top", web, "-o", "pid,args"]);
      expect(top.code, top.stderr).toBe(0);
      expect(top.stdout).toMatch(/^\s*PID COMMAND\n/);
      expect(top.stdout).toMatch(/\d+ \/bin\/sleep 30\n/);
      expect(top.stdout).toContain(`${pid} `);
      expect((await b(["top", "nope"])).stderr).toContain('container "nope" does not exist');
      const clash = await b(["run", "-d", "--name", "web", "--rootfs", f.rootfs, "--", "/bin/true"]);
      expect(clash.code).toBe(125);
      expect(clash.stderr).toContain("choose another --name, or remove it: bunker rm -f web");
      expect(clash.stderr).not.toContain("delete");
      expect((await b(["stop", "-t", "0", web])).code).toBe(0);
      const all = await b(["kill", "--all", web, "TERM"]);
      expect(all.code).toBe(125);
      // with a cgroup its processes can be told apart: then there is simply none left to signal
      const { cgroup } = JSON.parse(readFileSync(join(f.root, web, "state.json"), "utf8"));
      expect(all.stderr).toContain(cgroup ? 'container "web" is not running' : "bunker rm web removes its state");
      expect((await b(["rm", web])).code).toBe(0);
    });

    test("export ID: the running container's f.root as a tar, owners as the container sees them, symlinks kept as links; stopped too (-o FILE); refused to a terminal", async () => {
      // a file of the container's uid 1000, readable by it alone: as the user (--userns auto) a subordinate
      // id the user cannot read without the container's user namespace; as f.root (single map) host uid 1000
      const sub = as === "root" ? undefined : subRange("/etc/subuid", as)!.start, subg = as === "root" ? undefined : subRange("/etc/subgid", as)!.start;
      mkdirSync(join(f.rootfs, "root/d"), { recursive: true });
      writeFileSync(join(f.rootfs, "root/d/f"), "secret\n", { mode: 0o600 });
      chownSync(join(f.rootfs, "root/d/f"), sub === undefined ? 1000 : sub + 999, subg === undefined ? 1000 : subg + 999);
      const box = await detached(["run", "-d", ...(as === "root" ? [] : ["--userns", "auto"]), "--rootfs", f.rootfs, "--", "/bin/sh", "-c", "ln -sf / /root/up && echo ready && sleep 30"]);
      for (let i = 0; i < 100 && !(await b(["logs", box])).stdout.includes("ready"); i++) await Bun.sleep(50);
      expect((await b(["logs", box])).stdout).toBe("ready\n");
      const out = join(f.base, "export.tar");
      const r = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" > ${out}`, bunkerBinary(), "--root", f.root, "export", box]));
      expect(r.code, r.stderr).toBe(0);
      const list = Bun.spawnSync(["tar", "--numeric-owner", "-tvf", out]).stdout.toString();
      expect(list).toMatch(/^-rw------- 1000\/1000 .* \.\/root\/d\/f$/m);
      expect(list).toMatch(/^lrwxrwxrwx 0\/0 .* \.\/root\/up -> \/$/m);
      expect(list).toMatch(/ \.\/bin\/busybox$/m);
      expect(list).not.toMatch(/\.\/proc\/\d/); // other file systems (proc) are not walked
      expect(Bun.spawnSync(["tar", "-xOf", out, "./root/d/f"]).stdout.toString()).toBe("secret\n");
      expect((await b(["stop", "-t", "0", box])).code).toBe(0);
      // stopped: its --rootfs, read as the container's root again (-o: into a file)
      const out2 = join(f.base, "export-stopped.tar");
      const stopped = await b(["export", "-o", out2, box]);
      expect(stopped.code, stopped.stderr).toBe(0);
      const list2 = Bun.spawnSync(["tar", "--numeric-owner", "-tvf", out2]).stdout.toString();
      expect(list2).toMatch(/^-rw------- 1000\/1000 .* \.\/root\/d\/f$/m);
      expect(list2).toMatch(/^lrwxrwxrwx 0\/0 .* \.\/root\/up -> \/$/m);
      expect(Bun.spawnSync(["tar", "-xOf", out2, "./root/d/f"]).stdout.toString()).toBe("secret\n");
      const unwritable = await b(["export", "-o", "/nonexistent/x.tar", box]);
      expect([unwritable.code, unwritable.stderr]).toEqual([125, expect.stringMatching(/export: cannot create the output file: ENOENT.*\[\/nonexistent\/x\.tar\]/)]);
      const tty = await runAs(as, asUserArgv(as, ["script", "-qec", `${bunkerBinary()} --root ${f.root} export ${box}`, "/dev/null"]));
      expect(tty.stdout).toContain("refusing to write a tar to a terminal");
      expect((await b(["rm", box])).code).toBe(0);
    });
  });
}
