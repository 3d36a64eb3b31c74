// End-to-end tests of `bunker run` and `bunker check`: the compiled dist/bunker,
// run as root and as the unprivileged test user (setpriv), against a busybox
// rootfs made from Debian's busybox-static. Every test asserts exact outcomes.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, lstatSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  USERS,
  asUserArgv,
  envFor,
  bunkerAs,
  bunkerBinary,
  chownTree,
  collect,
  isRoot,
  makeTempDir,
  makeBusyboxRootfs,
  ownerOf,
  removeTree,
  runAs,
  runInPty,
  spawnBunkerAs,
  subRange,
  testUser,
  waitForFile,
  type RunResult,
} from "../lib/index.ts";

/** stdout split into lines, without the final newline (and without \r from a pty) */
function lines(s: string): string[] {
  const t = s.replace(/\r/g, "").replace(/\n$/, "");
  return t === "" ? [] : t.split("\n");
}

/** "         0       1001          1" -> "0 1001 1" */
function mapLines(s: string): string[] {
  return lines(s).map((l) => l.trim().split(/\s+/).join(" "));
}

/** A bunker failure: exit CODE, nothing on stdout, exactly one stderr line in the documented format. */
function expectBunkerError(r: RunResult, code: number, errno?: string, path?: string) {
  const detail = `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;
  expect(r.code, detail).toBe(code);
  const errLines = lines(r.stderr);
  expect(errLines, detail).toHaveLength(1);
  const line = errLines[0]!;
  // bunker: <what>: <ERRNO> (<message>) [path] — <fix>
  expect(line).toMatch(/^bunker: .+: E[A-Z0-9]+ \([^)]+\)/);
  if (errno !== undefined) expect(line).toContain(`: ${errno} (`);
  expect(r.stdout, detail).toBe("");
  if (path !== undefined) expect(line).toContain(`[${path}]`);
}

interface MountInfo {
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
}

function parseMountinfo(text: string): MountInfo[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return lines(text).map((l) => {
    const [pre, post] = l.split(" - ");
    const f = pre!.split(" ");
    return { root: unescape(f[3]!), mountPoint: unescape(f[4]!), options: f[5]!.split(","), fsType: post!.split(" ")[0]! };
  });
}

/** What the `root` field of the container's "/" mount must be: DIR's path inside the host filesystem holding it. */
function expectedMountRoot(dir: string): string {
  const real = realpathSync(dir);
  const mounts = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === "/" || real === m.mountPoint || real.startsWith(m.mountPoint + "/");
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  const rel = relative(best!.mountPoint, real);
  return join(best!.root, rel);
}

/** name, type, size, mode and mtime of every file under DIR, plus the content of regular files under etc/ */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      let extra = "";
      if (st.isFile() && rel.startsWith("etc/")) extra = JSON.stringify(readFileSync(p, "utf8"));
      out.push(`${rel} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.uid}:${st.gid} ${extra}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** host pids whose argv is exactly ARGV */
function pidsWithCmdline(argv: string[]): number[] {
  const want = argv.map((a) => a + "\0").join("");
  return readdirSync("/proc")
    .filter((d) => {
      try {
        return /^\d+$/.test(d) && readFileSync(`/proc/${d}/cmdline`, "utf8") === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** SIGKILLs every host process whose command line contains MARKER (containers a failed test left behind) */
function killMatching(marker: string): void {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(marker)) process.kill(Number(d), "SIGKILL");
    } catch {}
  }
}

function hostInterfaces(): string[] {
  return readdirSync("/sys/class/net").sort();
}

// each run takes about 0.1 s, but a loaded CI machine can be 10-50x slower
setDefaultTimeout(60_000);

const SIGNALS = ["INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "WINCH"] as const;
const SIGNUM: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, WINCH: 28 };

describe.skipIf(!isRoot())("bunker (needs root to switch users)", () => {
  for (const as of USERS) {
    describe(`run as ${as}`, () => {
      let base = "";
      let rootfs = "";
      let n = 0;
      const owner = ownerOf(as);

      beforeAll(() => {
        bunkerBinary();
        base = makeTempDir(`bunker-it-${as}`);
        rootfs = makeBusyboxRootfs(join(base, "rootfs"), owner);
      });
      afterAll(() => removeTree(base));

      /** a fresh dir under the test's base dir, owned by the container's host user */
      const ownedDir = (name: string) => {
        const d = join(base, `${name}-${++n}`);
        mkdirSync(d, { mode: 0o755 });
        chownTree(d, owner);
        return d;
      };
      const bunker = (args: string[], opts?: Parameters<typeof bunkerAs>[2]) => bunkerAs(as, args, opts);
      /** bunker run FLAGS --rootfs R -- /bin/sh -c SCRIPT */
      const sh = (script: string, flags: string[] = [], opts?: Parameters<typeof bunkerAs>[2]) =>
        bunker(["run", ...flags, "--rootfs", rootfs, "--", "/bin/sh", "-c", script], opts);
      const ok = (r: RunResult) => {
        expect(r.code, `stderr: ${r.stderr}`).toBe(0);
        return lines(r.stdout);
      };

      // ---- process and namespaces -------------------------------------------------

      test("CMD is PID 1: /proc/1/cmdline is CMD's argv", async () => {
        const r = await bunker(["run", "--rootfs", rootfs, "--", "/bin/cat", "/proc/1/cmdline"]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe("/bin/cat\0/proc/1/cmdline\0");
      });

      test("CMD is PID 1: the shell's $$ is 1", async () => {
        expect(ok(await sh("echo $$; true"))).toEqual(["1"]);
      });

      test("--hostname sets hostname, uname -n and /etc/hostname", async () => {
        const out = ok(await sh("hostname; uname -n; cat /etc/hostname", ["--hostname", `box-${as}`]));
        expect(out).toEqual([`box-${as}`, `box-${as}`, `box-${as}`]);
      });

      test("/etc/hosts inside maps localhost", async () => {
        const out = ok(await sh("cat /etc/hosts", ["--hostname", "hbox"]));
        expect(out.some((l) => /^127\.0\.0\.1\s.*\blocalhost\b/.test(l))).toBe(true);
      });

      test("a foreground run's events: create, start, die with its exit code (the monitor's), destroy, in that order", async () => {
        const data = ownedDir("data");
        const r = await bunker(["--data-root", data, "run", "--name", `ev-${as}`, "--rootfs", rootfs, "--", "/bin/sh", "-c", "exit 3"]);
        expect(r.code, r.stderr).toBe(3);
        const events = lines(readFileSync(join(data, "engine-events.jsonl"), "utf8")).map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
        expect(events.map((e) => `${e.Action}${e.Action === "die" ? ` ${e.Actor.Attributes.exitCode}` : ""}`)).toEqual(["create", "start", "die 3", "destroy"]);
        expect(new Set(events.map((e) => e.Actor.ID))).toEqual(new Set([`ev-${as}`]));
      });

      test("id -u and id -g are 0", async () => {
        expect(ok(await sh("id -u; id -g"))).toEqual(["0", "0"]);
      });

      test("default user namespace is the one-id map 0 -> caller", async () => {
        const out = ok(await sh("cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; cat /proc/self/setgroups"));
        expect(out.map((l) => l.trim().split(/\s+/).join(" "))).toEqual([
          `0 ${owner.uid} 1`,
          "--",
          `0 ${owner.gid} 1`,
          "--",
          "deny",
        ]);
      });

      const uidRange = subRange("/etc/subuid", as);
      const gidRange = subRange("/etc/subgid", as);
      if (uidRange && gidRange) {
        test("--userns=auto maps 0 -> caller and 1..65536 -> the subuid/subgid range", async () => {
          const r = await sh("cat /proc/self/uid_map; echo --; cat /proc/self/gid_map", ["--userns=auto"]);
          expect(r.code, r.stderr).toBe(0);
          expect(mapLines(r.stdout)).toEqual([
            `0 ${owner.uid} 1`,
            `1 ${uidRange.start} ${Math.min(uidRange.count, 65536)}`,
            "--",
            `0 ${owner.gid} 1`,
            `1 ${gidRange.start} ${Math.min(gidRange.count, 65536)}`,
          ]);
        });

        test("--userns=auto: chown to a subordinate id works, -u 1000:1000 runs as 1000", async () => {
          const r = await sh(
            "touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f; id -u",
            ["--userns=auto", "--tmpfs", "/tmp"],
          );
          expect(ok(r)).toEqual(["1000:1000", "0"]);
          const u = await sh("id -u; id -g", ["--userns=auto", "-u", "1000:1000"]);
          expect(ok(u)).toEqual(["1000", "1000"]);
        });
      } else if (as === "root") {
        // root without a range of its own: auto maps the "containers" user's range (tests/setup.sh adds
        // it), so the container's root is not host root (it was the identity map 0..65536: host root)
        test("--userns=auto as root without a subuid range of its own: the containers user's range", async () => {
          const line = readFileSync("/etc/subuid", "utf8").split("\n").find((l) => l.startsWith("containers:"));
          expect(line, "tests/setup.sh adds containers:300000:65536").toBeDefined();
          const [, start, count] = line!.split(":");
          const r = await sh("cat /proc/self/uid_map; cat /proc/self/gid_map; touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f", ["--userns=auto", "--tmpfs", "/tmp"]);
          const map = `0 ${start} ${Math.min(65536, Number(count))}`;
          expect(mapLines(ok(r).join("\n"))).toEqual([map, map, "1000:1000"]);
        });
      } else {
        test("--userns=auto without a subuid range fails with one clear line (125)", async () => {
          const r = await sh("true", ["--userns=auto"]);
          expectBunkerError(r, 125);
          expect(r.stderr).toContain("subuid");
        });
      }

      test("network none: only lo exists (ip link) and it is UP", async () => {
        const out = ok(await sh("ip -o link show"));
        expect(out).toHaveLength(1);
        expect(out[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
      });

      test("network none: /sys/class/net and /proc/net/dev list only lo", async () => {
        const out = ok(await sh("ls /sys/class/net; echo --; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"));
        expect(out).toEqual(["lo", "--", "lo"]);
      });

      test("network none: 127.0.0.1 is reachable (lo is configured)", async () => {
        const out = ok(await sh("ip -o -4 addr show dev lo | grep -o 'inet [0-9./]*'; ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok"));
        expect(out).toEqual(["inet 127.0.0.1/8", "ping-ok"]);
      });

      test("--net host sees the host's interfaces", async () => {
        const out = ok(await sh("ls /sys/class/net; echo --; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort", ["--net", "host"]));
        const sep = out.indexOf("--");
        expect(out.slice(sep + 1)).toEqual(hostInterfaces());
      });

      test("host processes are invisible: /proc lists only PID 1", async () => {
        // the shell's own glob: no child process, so only PID 1 may exist
        const out = ok(await sh("for p in /proc/[0-9]*; do echo ${p#/proc/}; done"));
        expect(out).toEqual(["1"]);
      });

      test("mountinfo shows the rootfs as /", async () => {
        const r = await sh("cat /proc/self/mountinfo");
        expect(r.code, r.stderr).toBe(0);
        const roots = parseMountinfo(r.stdout).filter((m) => m.mountPoint === "/");
        expect(roots).toHaveLength(1);
        expect(roots[0]!.root).toBe(expectedMountRoot(rootfs));
      });

      test("filesystem layout: proc, tmpfs /dev, devpts, mqueue, read-only /sys", async () => {
        const r = await sh("cat /proc/self/mountinfo");
        expect(r.code, r.stderr).toBe(0);
        const m = new Map(parseMountinfo(r.stdout).map((x) => [x.mountPoint, x]));
        expect(m.get("/proc")?.fsType).toBe("proc");
        expect(m.get("/dev")?.fsType).toBe("tmpfs");
        expect(m.get("/dev/pts")?.fsType).toBe("devpts");
        expect(m.get("/dev/mqueue")?.fsType).toBe("mqueue");
        expect(m.get("/dev/shm")).toBeDefined();
        expect(m.get("/sys")?.options).toContain("ro");
      });

      test("device nodes: null zero full random urandom tty are char devices and work", async () => {
        const out = ok(
          await sh(
            "for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done; " +
              "echo x > /dev/null && head -c 5 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; " +
              "if echo x > /dev/full 2>/dev/null; then echo full-WROTE; else echo full-ENOSPC; fi; " +
              "test -e /dev/ptmx && echo ptmx",
          ),
        );
        expect(out.map((l) => l.trim())).toEqual(["null", "zero", "full", "random", "urandom", "tty", "5", "8", "full-ENOSPC", "ptmx"]);
      });

      test("/sys refuses writes", async () => {
        const out = ok(await sh("if touch /sys/bunker-probe 2>/dev/null; then echo WROTE; else echo REFUSED; fi"));
        expect(out).toEqual(["REFUSED"]);
      });

      // ---- filesystem: volumes, read-only, rootfs untouched ---------------------------

      test("-v HOST:CTR: writes appear on the host, host files are visible", async () => {
        const vol = ownedDir("vol");
        writeFileSync(join(vol, "from-host"), "host-data\n");
        const out = ok(await sh("cat /data/from-host; echo container-data > /data/from-container", ["-v", `${vol}:/data`]));
        expect(out).toEqual(["host-data"]);
        expect(readFileSync(join(vol, "from-container"), "utf8")).toBe("container-data\n");
      });

      test("-v HOST:CTR:ro refuses writes, reads work", async () => {
        const vol = ownedDir("rovol");
        writeFileSync(join(vol, "f"), "ro-data\n");
        const out = ok(
          await sh("cat /data/f; if echo x > /data/new 2>/dev/null; then echo WROTE; else echo REFUSED; fi", ["-v", `${vol}:/data:ro`]),
        );
        expect(out).toEqual(["ro-data", "REFUSED"]);
        expect(existsSync(join(vol, "new"))).toBe(false);
      });

      test("without --read-only the root is writable (control for the next test)", async () => {
        const out = ok(await sh(`touch /probe-${as} && echo WROTE && rm /probe-${as}`));
        expect(out).toEqual(["WROTE"]);
        expect(existsSync(join(rootfs, `probe-${as}`))).toBe(false);
      });

      test("--read-only refuses writes to the root", async () => {
        const out = ok(await sh(`if touch /probe-ro 2>/dev/null; then echo WROTE; else echo REFUSED; fi`, ["--read-only"]));
        expect(out).toEqual(["REFUSED"]);
        expect(existsSync(join(rootfs, "probe-ro"))).toBe(false);
      });

      test("--tmpfs PATH mounts a writable tmpfs (also under --read-only)", async () => {
        const r = await sh("echo t > /tmp/f && cat /tmp/f && grep ' /tmp ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1", [
          "--read-only",
          "--tmpfs",
          "/tmp",
        ]);
        expect(ok(r)).toEqual(["t", "tmpfs"]);
        expect(existsSync(join(rootfs, "tmp/f"))).toBe(false);
      });

      test("-v FILE:FILE:ro binds a single file over a rootfs file", async () => {
        const vol = ownedDir("filevol");
        writeFileSync(join(vol, "passwd"), "bound:x:0:0::/:/bin/sh\n");
        const out = ok(await sh("cat /etc/passwd", ["-v", `${join(vol, "passwd")}:/etc/passwd:ro`]));
        expect(out).toEqual(["bound:x:0:0::/:/bin/sh"]);
        expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toStartWith("root:x:0:0:");
      });

      test("--tmpfs PATH:OPTS passes size and mode", async () => {
        const out = ok(await sh("grep ' /tmp ' /proc/self/mountinfo | sed 's/.* - //'; stat -c %a /tmp", ["--tmpfs", "/tmp:size=1m,mode=1700"]));
        expect(out).toHaveLength(2);
        expect(out[0]!.split(" ")[0]).toBe("tmpfs");
        expect(out[0]!.split(" ")[2]!.split(",")).toEqual(expect.arrayContaining(["size=1024k", "mode=1700"]));
        expect(out[1]).toBe("1700");
      });

      test("the rootfs is unchanged by a run (/etc/hosts, /etc/hostname, /etc/resolv.conf, every file)", async () => {
        const before = snapshot(rootfs);
        const out = ok(await sh("cat /etc/hosts /etc/hostname /etc/resolv.conf >/dev/null; hostname", ["--hostname", "untouched"]));
        expect(out).toEqual(["untouched"]);
        expect(snapshot(rootfs)).toEqual(before);
        expect(readFileSync(join(rootfs, "etc/hostname"), "utf8")).toBe("rootfs-original-hostname\n");
        expect(readFileSync(join(rootfs, "etc/hosts"), "utf8")).toBe("127.0.0.1\trootfs-original-hosts\n");
        expect(readFileSync(join(rootfs, "etc/resolv.conf"), "utf8")).toBe("# rootfs-original-resolv\n");
      });

      // ---- process settings ------------------------------------------------------------

      test("-e sets variables; the host environment does not leak", async () => {
        const out = ok(
          await sh('echo "$FOO|$EMPTY|${UNSET-unset}|${BUNKER_HOST_SECRET-none}"', ["-e", "FOO=bar baz", "-e", "EMPTY="], {
            env: { BUNKER_HOST_SECRET: "leaked" },
          }),
        );
        expect(out).toEqual(["bar baz||unset|none"]);
      });

      test("-e NAME alone takes NAME from bunker's environment", async () => {
        const out = ok(await sh('echo "$FROM_HOST"', ["-e", "FROM_HOST"], { env: { FROM_HOST: "host value" } }));
        expect(out).toEqual(["host value"]);
      });

      test("--env-file reads K=V lines, skips comments and blank lines; -e overrides it", async () => {
        const dir = ownedDir("envfile");
        writeFileSync(join(dir, "env"), "# a comment\nA=1\n\nB=two words\nC=from-file\n");
        const out = ok(await sh('echo "$A|$B|$C"', ["--env-file", join(dir, "env"), "-e", "C=from-flag"]));
        expect(out).toEqual(["1|two words|from-flag"]);
      });

      test("-w sets the working directory", async () => {
        expect(ok(await sh("pwd", ["-w", "/etc"]))).toEqual(["/etc"]);
        expect(ok(await sh("pwd", ["-w", "/tmp"]))).toEqual(["/tmp"]);
      });

      test("-u 0:0 runs as 0:0", async () => {
        expect(ok(await sh("id -u; id -g", ["-u", "0:0"]))).toEqual(["0", "0"]);
      });

      // the rootfs's /etc/passwd and /etc/group, as an image's: a name's primary and supplementary groups
      test("-u NAME gets the groups /etc/group inside the rootfs gives it (--userns=auto); a one-id map keeps none", async () => {
        const users = makeBusyboxRootfs(join(base, `users-${++n}`));
        writeFileSync(join(users, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
        writeFileSync(join(users, "etc/group"), "root:x:0:\nwheel:x:10:app\nstaff:x:50:root,app\napp:x:1000:\n");
        chownTree(users, owner);
        const id = (flags: string[]) => bunker(["run", ...flags, "--rootfs", users, "--", "/bin/sh", "-c", "id -u; id -g; id -G"]);
        expect(ok(await id(["--userns=auto", "-u", "app"]))).toEqual(["1000", "1000", "1000 10 50"]);
        expect(ok(await id(["--userns=auto", "-u", "app:wheel"]))).toEqual(["1000", "10", "10"]);
        // HOME from the user's passwd entry, as runc's (-e HOME wins)
        const home = (flags: string[]) => bunker(["run", "--userns=auto", ...flags, "--rootfs", users, "--", "/bin/sh", "-c", 'echo "$HOME"']);
        expect(ok(await home(["-u", "app"]))).toEqual(["/home/app"]);
        expect(ok(await home(["-u", "app", "-e", "HOME=/x"]))).toEqual(["/x"]);
        expect(ok(await home(["-u", "2000"]))).toEqual(["/"]);
        expect(ok(await id(["--userns=auto", "-u", "root"]))).toEqual(["0", "0", "0 50"]);
        // setgroups is denied in the default map: root runs, without its supplementary group
        expect(ok(await id(["-u", "root"]))).toEqual(["0", "0", "0"]);
        const r = await id(["--userns=auto", "-u", "ghost"]);
        expectBunkerError(r, 125, "ENOENT", `${users}/etc/passwd`);
        expect(r.stderr).toContain("unable to find user ghost: no matching entries in passwd file");
      });

      // exec's -u as Docker's: the container's own files, read inside its root
      test("exec -u NAME, NAME:GROUP, UID, UID:GID, NAME:GID, UID:GROUP through the container's /etc/passwd and /etc/group; HOME; an unknown one is 126; a symlinked passwd stays inside", async () => {
        const users = makeBusyboxRootfs(join(base, `users-${++n}`));
        writeFileSync(join(users, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
        writeFileSync(join(users, "etc/group"), "root:x:0:\nwheel:x:10:app\nstaff:x:50:root,app\napp:x:1000:\n");
        chownTree(users, owner);
        const id = `exec-user-${as}-${process.pid}`;
        const r = await bunker(["run", "-d", "--userns=auto", "--name", id, "--rootfs", users, "--", "sleep", "60"]);
        expect(r.code, r.stderr).toBe(0);
        try {
          const idOf = (u: string) => bunker(["exec", "-u", u, id, "/bin/sh", "-c", 'id -u; id -g; id -G; echo "$HOME"']);
          expect(ok(await idOf("app"))).toEqual(["1000", "1000", "1000 10 50", "/home/app"]);
          expect(ok(await idOf("app:wheel"))).toEqual(["1000", "10", "10", "/home/app"]);
          expect(ok(await idOf("app:50"))).toEqual(["1000", "50", "50", "/home/app"]);
          expect(ok(await idOf("1000"))).toEqual(["1000", "1000", "1000 10 50", "/home/app"]);
          expect(ok(await idOf("1000:staff"))).toEqual(["1000", "50", "50", "/home/app"]);
          expect(ok(await idOf("1000:10"))).toEqual(["1000", "10", "10", "/home/app"]);
          // a uid the passwd file lacks: gid 0, HOME /
          expect(ok(await idOf("2000"))).toEqual(["2000", "0", "0", "/"]);
          expect(ok(await idOf("root"))).toEqual(["0", "0", "0 50", "/root"]);
          // -e HOME wins
          expect(ok(await bunker(["exec", "-u", "app", "-e", "HOME=/x", id, "/bin/sh", "-c", 'echo "$HOME"']))).toEqual(["/x"]);
          const ghost = await bunker(["exec", "-u", "ghost", id, "true"]);
          expectBunkerError(ghost, 126, "ENOENT", "/etc/passwd");
          expect(ghost.stderr).toContain("bunker: unable to find user ghost: no matching entries in passwd file");
          const noGroup = await bunker(["exec", "-u", "app:ghosts", id, "true"]);
          expectBunkerError(noGroup, 126, "ENOENT");
          expect(noGroup.stderr).toContain("unable to find group ghosts: no matching entries in group file");
          expectBunkerError(await bunker(["exec", "-u", "a:b:c", id, "true"]), 125, "EINVAL");
          // the container's /etc/passwd a symlink to an absolute path: resolved in its root, not the host's
          const hostFile = join(base, `host-passwd-${n}`);
          writeFileSync(hostFile, "hostonly:x:4321:4321::/host:/bin/sh\n");
          rmSync(join(users, "etc/passwd"));
          symlinkSync(`/../../../../../..${hostFile}`, join(users, "etc/passwd"));
          const escaped = await bunker(["exec", "-u", "hostonly", id, "true"]);
          expectBunkerError(escaped, 126, "ENOENT");
          expect(escaped.stderr).toContain("unable to find user hostonly");
        } finally {
          await bunker(["rm", "-f", id]);
        }
      });

      // ---- exit codes and errors ---------------------------------------------------------

      test("exit status 0 and 3 are CMD's", async () => {
        expect((await sh("exit 0")).code).toBe(0);
        const r = await sh("exit 3");
        expect(r.code).toBe(3);
        expect(r.stderr).toBe("");
      });

      test("128+N when CMD is killed by signal N (--init: CMD is not PID 1)", async () => {
        expect((await sh("kill -TERM $$", ["--init"])).code).toBe(128 + SIGNUM.TERM!);
        expect((await sh("kill -KILL $$", ["--init"])).code).toBe(128 + SIGNUM.KILL!);
      });

      test("126 when CMD is not executable", async () => {
        const r = await bunker(["run", "--rootfs", rootfs, "--", "/etc/passwd"]);
        expectBunkerError(r, 126, "EACCES");
        expect(r.stderr).toContain("/etc/passwd");
      });

      test("127 when CMD is not found", async () => {
        const r = await bunker(["run", "--rootfs", rootfs, "--", "/bin/no-such-command"]);
        expectBunkerError(r, 127, "ENOENT");
        expect(r.stderr).toContain("no-such-command");
      });

      test("127 when CMD is not found in PATH", async () => {
        const r = await bunker(["run", "--rootfs", rootfs, "--", "no-such-command"]);
        expectBunkerError(r, 127, "ENOENT");
        expect(r.stderr).toContain("no-such-command");
      });

      test("missing rootfs: one bunker: line, ENOENT, the path, 125", async () => {
        const missing = join(base, "no-such-rootfs");
        expectBunkerError(await bunker(["run", "--rootfs", missing, "--", "/bin/true"]), 125, "ENOENT", missing);
      });

      test("missing -v source: one bunker: line, ENOENT, the path, 125", async () => {
        const missing = join(base, "no-such-volume");
        expectBunkerError(await bunker(["run", "-v", `${missing}:/data`, "--rootfs", rootfs, "--", "/bin/true"]), 125, "ENOENT", missing);
      });

      test("unknown flag: one bunker: line naming it, 125", async () => {
        const r = await bunker(["run", "--bogus-flag", "--rootfs", rootfs, "--", "/bin/true"]);
        expectBunkerError(r, 125, "EINVAL");
        expect(r.stderr).toContain("--bogus-flag");
      });

      /** ARGV run as AS inside a new user namespace whose user.max_user_namespaces is 0 (bunker cannot create one) */
      const withoutUserns = (argv: string[]) =>
        runAs(
          "root",
          asUserArgv(as, ["unshare", "-U", "-r", "/bin/sh", "-c", 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh", ...argv]),
          { env: envFor(as) },
        );

      test("user namespaces unavailable: one bunker: line naming the sysctl, 125", async () => {
        const r = await withoutUserns([bunkerBinary(), "run", "--rootfs", rootfs, "--", "/bin/true"]);
        expectBunkerError(r, 125, "ENOSPC", "/proc/sys/user/max_user_namespaces");
        expect(r.stderr).toContain("sysctl");
      });

      test("bunker check with user namespaces unavailable: a FAIL line with one fix, exit non-zero", async () => {
        const r = await withoutUserns([bunkerBinary(), "check"]);
        expect(r.code).not.toBe(0);
        const userns = lines(r.stdout).filter((l) => /^\S+\s+user namespace/i.test(l));
        expect(userns, r.stdout).toHaveLength(1);
        expect(userns[0]).toMatch(/^fail/i);
        expect(userns[0]!.split("max_user_namespaces=").length - 1, userns[0]).toBe(1); // the fix, said once
      });

      if (as === "user") {
        test("as uid 0 of an unprivileged user namespace (as podman runs a runtime), the state dir is $XDG_RUNTIME_DIR/bunker", async () => {
          const r = await runAs("root", asUserArgv(as, ["unshare", "-U", "-r", bunkerBinary(), "check"]), { env: envFor(as) });
          const state = lines(r.stdout).filter((l) => /^\S+\s+state/i.test(l));
          expect(state, r.stdout + r.stderr).toHaveLength(1);
          expect(state[0]).toMatch(/^ok\b/i);
          expect(state[0]).toContain(`${testUser().runtimeDir}/bunker`);
        });
      }

      test("-u with an id the one-id map does not hold: one bunker: line pointing at --userns=auto, 125", async () => {
        const r = await bunker(["run", "-u", "1000", "--rootfs", rootfs, "--", "/bin/id"]);
        expectBunkerError(r, 125, "EINVAL");
        expect(r.stderr).toContain("--userns=auto");
      });

      test("-w to a missing directory: one bunker: line, ENOENT, the path, 125", async () => {
        expectBunkerError(await bunker(["run", "-w", "/no-such-dir", "--rootfs", rootfs, "--", "/bin/pwd"]), 125, "ENOENT", "/no-such-dir");
      });

      test("no command: one bunker: line, 125", async () => {
        expectBunkerError(await bunker(["run", "--rootfs", rootfs]), 125, "EINVAL");
      });

      // ---- signals ------------------------------------------------------------------------

      /**
       * Starts `bunker run FLAGS -v OUT:/out -- sh -c SCRIPT` (SCRIPT writes /out/ready when set up),
       * waits for the ready file, sends SIGNAL to bunker and collects the result; the container's
       * processes are found by a marker in their command line and killed afterwards in any case.
       */
      const signalRun = async (flags: string[], script: string, signal: NodeJS.Signals) => {
        const out = ownedDir("sig");
        const marker = `sig-test-${process.pid}-${++n}`;
        const proc = spawnBunkerAs(as, ["run", ...flags, "-v", `${out}:/out`, "--rootfs", rootfs, "--", "/bin/sh", "-c", `: ${marker}; ${script}`]);
        try {
          expect(await waitForFile(join(out, "ready"))).toBe(true);
          proc.kill(signal);
          return { r: await collect(proc, 10_000), out };
        } finally {
          proc.kill("SIGKILL");
          killMatching(marker);
        }
      };

      for (const sig of SIGNALS) {
        test(`SIG${sig} sent to bunker reaches the container's process`, async () => {
          const script = `trap 'echo ${sig} > /out/got; exit 42' ${sig}; echo ready > /out/ready; while :; do sleep 0.05; done`;
          const { r, out } = await signalRun([], script, `SIG${sig}` as NodeJS.Signals);
          expect(r.signal, `bunker itself was killed; stderr: ${r.stderr}`).toBeUndefined();
          expect(r.code, r.stderr).toBe(42);
          expect(readFileSync(join(out, "got"), "utf8")).toBe(`${sig}\n`);
        });
      }

      test("--init forwards SIGTERM to CMD (no trap: CMD dies, 143)", async () => {
        const { r } = await signalRun(["--init"], "echo ready > /out/ready; while :; do sleep 0.05; done", "SIGTERM");
        expect(r.code, r.stderr).toBe(128 + SIGNUM.TERM!);
      });

      /** `bunker run -- sh -c '…; exec sleep MARKER'` started and ready: MARKER finds the container's PID 1 on the host */
      const startSleeper = async (opts: string[] = []) => {
        const out = ownedDir("sleeper");
        const marker = `${Date.now() % 100000}.${++n}`;
        const proc = spawnBunkerAs(as, ["run", ...opts, "-v", `${out}:/out`, "--rootfs", rootfs, "--", "/bin/sh", "-c", `echo ready > /out/ready; exec sleep ${marker}`]);
        const ready = await waitForFile(join(out, "ready"));
        /** the host pids of the container's `sleep MARKER`, polled until WANT(pids) or 2 s */
        const sleepers = async (want: (pids: number[]) => boolean) => {
          let pids = pidsWithCmdline(["sleep", marker]);
          for (let i = 0; i < 50 && !want(pids); i++) {
            await Bun.sleep(40);
            pids = pidsWithCmdline(["sleep", marker]);
          }
          return pids;
        };
        return { proc, ready, sleepers };
      };

      test("128+N without --init: PID 1 killed by SIGKILL from the host gives 137", async () => {
        const { proc, ready, sleepers } = await startSleeper();
        const pids = await sleepers((p) => p.length > 0);
        for (const pid of pids) process.kill(pid, "SIGKILL");
        const r = await collect(proc, 10_000);
        expect(ready).toBe(true);
        expect(pids).toHaveLength(1);
        expect(r.code, r.stderr).toBe(128 + SIGNUM.KILL!);
      });

      test("while the container runs, bunker's pid is the small C monitor; its state is removed at exit", async () => {
        const out = ownedDir("monitor");
        const name = `mon-${process.pid}-${++n}`;
        expect(Bun.spawnSync(["mkfifo", "-m", "0666", join(out, "fifo")]).exitCode).toBe(0);
        const proc = spawnBunkerAs(as, ["run", "--name", name, "-v", `${out}:/out`, "--rootfs", rootfs, "--", "/bin/sh", "-c", "echo ready > /out/ready; read x < /out/fifo; exit 7"]);
        try {
          expect(await waitForFile(join(out, "ready"))).toBe(true);
          await Bun.sleep(100); // the exec into the monitor follows the container's start
          const status = readFileSync(`/proc/${proc.pid}/status`, "latin1");
          const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
          expect(readFileSync(`/proc/${proc.pid}/cmdline`, "latin1").split("\0")[0]).toBe("bunker-monitor");
          expect(rssKb).toBeLessThan(2 * 1024); // ~0.1 MB (musl), ~0.7 MB (glibc); Bun alone is ~40 MB
          const st = await bunker(["state", name]);
          expect(st.code, st.stderr).toBe(0);
          expect(JSON.parse(st.stdout).status).toBe("running");
          writeFileSync(join(out, "fifo"), "go\n");
          const r = await collect(proc, 10_000);
          expect(r.code, r.stderr).toBe(7);
          const gone = await bunker(["state", name]);
          expect(gone.stderr).toContain("does not exist");
        } finally {
          proc.kill("SIGKILL");
        }
      });

      test("the container does not outlive bunker (SIGKILL to bunker kills it); rm -f cleans up what it left", async () => {
        const name = `killed-${process.pid}-${++n}`;
        const { proc, ready, sleepers } = await startSleeper(["--name", name]);
        proc.kill("SIGKILL");
        await proc.exited;
        expect(ready).toBe(true);
        const left = await sleepers((p) => p.length === 0);
        for (const pid of left) process.kill(pid, "SIGKILL"); // clean up what the test found
        expect(left, "container processes left running after bunker was killed").toEqual([]);
        // a killed runtime leaves its state dir: rm -f removes it
        const rm = await bunkerAs(as, ["rm", "-f", name]);
        expect(rm.stderr).toBe("");
        expect((await bunkerAs(as, ["state", name])).code).toBe(125);
      });

      // ---- terminal and stdin ---------------------------------------------------------------

      test("-t under a pty: tty is a /dev/pts device, stty size is the outer window size", async () => {
        const r = await runInPty(
          as,
          [bunkerBinary(), "run", "-t", "--rootfs", rootfs, "--", "/bin/sh", "-c", "tty; stty size; test -t 0 && test -t 1 && echo both-tty; exit 5"],
          { rows: 33, cols: 77 },
        );
        const out = lines(r.stdout);
        expect(r.code, r.stdout + r.stderr).toBe(5);
        expect(out).toHaveLength(3);
        expect(out[0]).toMatch(/^\/dev\/pts\/\d+$/);
        expect(out.slice(1)).toEqual(["33 77", "both-tty"]);
      });

      test("-t: resizing the outer terminal resizes the container's (SIGWINCH reaches it)", async () => {
        const out = ownedDir("winch");
        const r = await runInPty(
          as,
          [
            bunkerBinary(), "run", "-t", "-v", `${out}:/out`, "--rootfs", rootfs, "--", "/bin/sh", "-c",
            "trap 'stty size > /out/size; exit 0' WINCH; stty size; echo ready > /out/ready; while :; do sleep 0.05; done",
          ],
          { rows: 20, cols: 60, resize: { whenFileExists: join(out, "ready"), rows: 41, cols: 99 } },
        );
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(lines(r.stdout)).toEqual(["20 60"]);
        expect(readFileSync(join(out, "size"), "utf8")).toBe("41 99\n");
      });

      test("-t -i under a pty: typed input reaches the container", async () => {
        const r = await runInPty(
          as,
          [bunkerBinary(), "run", "-t", "-i", "--rootfs", rootfs, "--", "/bin/sh", "-c", "read x; echo got:$x"],
          { input: "hello\n" },
        );
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(lines(r.stdout)).toContain("got:hello");
      });

      test("-i passes stdin through", async () => {
        const r = await bunker(["run", "-i", "--rootfs", rootfs, "--", "/bin/cat"], { stdin: "line1\nline2\n" });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe("line1\nline2\n");
      });

      test("without -i stdin is not passed (cat reads EOF)", async () => {
        const r = await bunker(["run", "--rootfs", rootfs, "--", "/bin/cat"], { stdin: "should-not-arrive\n", timeoutMs: 10_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe("");
      });

      // ---- --init -----------------------------------------------------------------------------

      test("--init: PID 1 is the init, not CMD", async () => {
        const script = "echo $$; cat /proc/1/cmdline";
        const r = await sh(script, ["--init"]);
        expect(r.code, r.stderr).toBe(0);
        const [pid, ...rest] = r.stdout.split("\n");
        expect(pid).not.toBe("1");
        expect(Number(pid)).toBeGreaterThan(1);
        expect(rest.join("\n")).not.toBe(`/bin/sh\0-c\0${script}\0`);
      });

      test("--init: the init is the small C program from a sealed memfd, not a copy of bunker", async () => {
        // the command is forked before PID 1 execs the init, which names itself a moment later
        const script = "for i in $(seq 50); do [ \"$(cat /proc/1/comm)\" = bunker-init ] && break; sleep 0.02; done; cat /proc/1/comm; sed -n 's/^VmRSS: *//p' /proc/1/status; readlink /proc/1/exe; (echo x >> /proc/1/exe) 2>/dev/null && echo WRITABLE; true";
        const r = await sh(script, ["--init"]);
        expect(r.code, r.stderr).toBe(0);
        const [comm, rss, exe, ...rest] = r.stdout.trim().split("\n");
        expect(comm).toBe("bunker-init");
        expect(Number(rss!.split(" ")[0])).toBeLessThan(2 * 1024); // kB; ~0.1 MB; a copy of bunker is ~7-40 MB
        expect(exe).toStartWith("/memfd:bunker-monitor");
        expect(rest).toEqual([]); // the executable cannot be rewritten from the container
      });

      test("--init reaps an orphaned zombie", async () => {
        // the orphan is reparented to PID 1 (the init), exits after 0.3 s, and must be gone (reaped) 1 s later
        const out = ok(
          await sh(
            "pid=$( (sleep 0.3 >/dev/null 2>&1 & echo $!) ); grep PPid /proc/$pid/status; sleep 1.2; " +
              "if [ -e /proc/$pid ]; then grep State /proc/$pid/status; else echo reaped; fi",
            ["--init"],
          ),
        );
        expect(out).toEqual(["PPid:\t1", "reaped"]);
      });

      // ---- file descriptors ------------------------------------------------------------------

      /** runs `ls -l /proc/self/fd` in the container with fds 3, 4 and 7 open in bunker; returns the fd numbers seen */
      const fdsInside = async (flags: string[]) => {
        const script = 'exec 3</etc/hostname 4</etc/hostname 7</etc/hostname; exec "$@"';
        const r = await runAs(as, asUserArgv(as, ["/bin/sh", "-c", script, "sh", bunkerBinary(), "run", ...flags, "--rootfs", rootfs, "--", "/bin/ls", "-l", "/proc/self/fd"]));
        expect(r.code, r.stderr).toBe(0);
        return lines(r.stdout)
          .map((l) => /\s(\d+) -> (.*)$/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null && !/^\/proc\/\d+\/fd$/.test(m[2]!)) // ls's own directory fd
          .map((m) => Number(m[1]))
          .sort((a, b) => a - b);
      };

      test("every fd but stdio is closed before exec", async () => {
        expect(await fdsInside([])).toEqual([0, 1, 2]);
      });

      test("--preserve-fds 2 passes fds 3 and 4 only", async () => {
        expect(await fdsInside(["--preserve-fds", "2"])).toEqual([0, 1, 2, 3, 4]);
      });

      // ---- --rootfs host ------------------------------------------------------------------------

      test("--rootfs host: cwd read-write at the same path, /usr read-only, /tmp private", async () => {
        const cwd = ownedDir("hostcwd");
        const marker = `bunker-host-marker-${process.pid}-${as}`;
        writeFileSync(join("/tmp", marker), "x");
        const inside = `bunker-inside-${process.pid}-${as}`;
        try {
          const r = await bunker(
            [
              "run",
              "--rootfs",
              "host",
              "--",
              "/bin/sh",
              "-c",
              `pwd; echo rw > ./written && echo cwd-rw; ` +
                `if touch /usr/bunker-probe 2>/dev/null; then echo usr-WROTE; else echo usr-ro; fi; ` +
                `if [ -e /tmp/${marker} ]; then echo tmp-shared; else echo tmp-private; fi; ` +
                `echo x > /tmp/${inside} && echo tmp-writable; id -u`,
            ],
            { cwd },
          );
          expect(ok(r)).toEqual([cwd, "cwd-rw", "usr-ro", "tmp-private", "tmp-writable", "0"]);
          expect(readFileSync(join(cwd, "written"), "utf8")).toBe("rw\n");
          expect(existsSync(join("/tmp", inside))).toBe(false);
          expect(existsSync("/usr/bunker-probe")).toBe(false);
        } finally {
          removeTree(join("/tmp", marker));
          removeTree(join("/tmp", inside));
        }
      });

      test("--rootfs host: /etc is read-only and the host's processes are invisible", async () => {
        const cwd = ownedDir("hostcwd2");
        const r = await bunker(
          ["run", "--rootfs", "host", "--", "/bin/sh", "-c", 'if touch /etc/bunker-probe 2>/dev/null; then echo etc-WROTE; else echo etc-ro; fi; for p in /proc/[0-9]*; do echo ${p#/proc/}; done'],
          { cwd },
        );
        expect(ok(r)).toEqual(["etc-ro", "1"]);
      });

      // ---- the executable ------------------------------------------------------------------------

      test("works with a noexec /tmp (the embedded shim is not loaded from /tmp)", async () => {
        // a private mount namespace (root's unshare) hides /tmp under a noexec tmpfs, so the binary and
        // the rootfs live in /var/tmp for this test
        const dir = mkdtempSync("/var/tmp/bunker-it-");
        chmodSync(dir, 0o755);
        try {
          const bin = join(dir, "bunker");
          Bun.spawnSync(["cp", bunkerBinary(), bin]);
          const rfs = makeBusyboxRootfs(join(dir, "rootfs"), owner);
          const script = 'mount -t tmpfs -o noexec,nosuid,mode=1777 tmpfs /tmp && exec "$@"';
          const r = await runAs("root", ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", ...asUserArgv(as, [bin, "run", "--rootfs", rfs, "--", "/bin/echo", "ok"])], {
            env: envFor(as), // the user's own environment (XDG_RUNTIME_DIR); root has none
          });
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toBe("ok\n");
        } finally {
          removeTree(dir);
        }
      });

      // ---- bunker check ---------------------------------------------------------------------------

      test("bunker check: one verdict line per check, exit 0", async () => {
        const r = await bunker(["check"]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const out = lines(r.stdout);
        for (const l of out) expect(l).toMatch(/^(ok|warn|warning|fail|failed|error|missing|no)\b/i);
        // "<verdict> <check name> <details>": find the one line of each check by its name
        const line = (name: RegExp) => {
          const re = new RegExp(`^\\S+\\s+${name.source}`, "i");
          const found = out.filter((l) => re.test(l));
          expect(found, `a line matching ${re} in:\n${r.stdout}`).toHaveLength(1);
          return found[0]!;
        };
        const kernel = Bun.spawnSync(["uname", "-r"]).stdout.toString().trim();
        expect(line(/kernel/i)).toContain(kernel);
        expect(line(/user namespace/i)).toMatch(/^ok\b/i);
        line(/cgroup/i);
        line(/overlay/i);
        // each helper is started against a probe's network namespace (both are installed by tests/setup.sh)
        expect(line(/network none/)).toMatch(/^ok\b/);
        expect(line(/network host/)).toMatch(/^ok\b/);
        expect(line(/network pasta/)).toMatch(/^ok\s+network pasta\s+\/usr\/bin\/pasta configures the container's own network namespace/);
        expect(line(/network slirp4netns/)).toMatch(/^ok\s+network slirp4netns\s+\/usr\/bin\/slirp4netns configures/);
        const state = line(/state/i);
        expect(state).toContain(as === "root" ? "/run/bunker" : `${testUser().runtimeDir}/bunker`);
        const range = subRange("/etc/subuid", as);
        if (as === "user" && range) {
          const ids = out.find((l) => l.includes("/etc/subuid")) ?? "";
          expect(ids).toMatch(/^ok\b/i);
          expect(ids).toContain(String(range.start));
          expect(ids).toContain("newuidmap");
        }
      });
    });
  }
});
