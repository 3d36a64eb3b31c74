// bunker attach (issue 15), as docker attach, on a busybox image loaded as
// `docker load` would, root and the unprivileged user: the output of a
// running -d container from now on (stdout and stderr apart), SIGTERM passed
// on to it (--sig-proxy) and its exit status as attach's; a -dit shell under
// a pty (typed to, read back, its window's size and SIGWINCH, detached with
// ctrl-p ctrl-q while it runs on); a -di cat fed through attach's stdin; a
// container that exits 3; a stopped container is one line (125).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { USERS, bunkerArgv, bunkerAs, bunkerBinary, chownTree, envFor, makeTempDir, ownerOf, removeTree, runInPty, type RunResult } from "../lib/index.ts";
import { writeBusyboxArchive } from "../lib/serve.ts";

setDefaultTimeout(60_000);
const bases: string[] = [];
afterAll(() => bases.forEach(removeTree));
const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;

/** text read from STREAM until it matches RE (or TIMEOUT_MS), the rest kept reading in the background */
function reader(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const dec = new TextDecoder();
  const done = (async () => {
    for await (const c of stream) text += dec.decode(c, { stream: true });
  })();
  return {
    get text() {
      return text;
    },
    async until(re: RegExp, timeoutMs = 10_000): Promise<boolean> {
      for (const end = Date.now() + timeoutMs; Date.now() < end; await Bun.sleep(20)) if (re.test(text)) return true;
      return re.test(text);
    },
    done,
  };
}

for (const as of USERS) {
  describe(`attach (as ${as})`, () => {
    const base = makeTempDir("bunker-attach", ownerOf(as));
    bases.push(base);
    const roots = ["--root", join(base, "state"), "--data-root", join(base, "data")];
    const b = (...args: string[]) => bunkerAs(as, [...roots, ...args]);
    const spawnAttach = (args: string[], stdin: "pipe" | "ignore" = "ignore") => Bun.spawn(bunkerArgv(as, [...roots, "attach", ...args]), { cwd: "/", env: envFor(as), stdin, stdout: "pipe", stderr: "pipe" });
    const run = async (...args: string[]) => {
      const r = await b("run", "-d", "--network", "none", ...args);
      expect(r.code, ok(r)).toBe(0);
      return r.stdout.trim();
    };
    const state = async (id: string) => (await b("inspect", "--format", "{{.State.Status}}", id)).stdout.trim();
    const loaded = (async () => {
      const archive = writeBusyboxArchive(base, "bb:latest", ["sh", "sleep", "echo", "true", "cat", "stty"]);
      chownTree(archive, ownerOf(as));
      const r = await b("load", "-i", archive);
      expect(r.code, ok(r)).toBe(0);
    })();

    test("a -d container's output from now on (no history), stdout and stderr apart; SIGTERM to attach reaches it, its status is attach's", async () => {
      await loaded;
      const id = await run("bb", "sh", "-c", 'trap "echo got-term; exit 7" TERM; i=0; while true; do i=$((i+1)); echo line$i; echo err$i >&2; sleep 0.1; done');
      try {
        // some history first: attach must not show it
        for (let i = 0; i < 100 && !(await b("logs", id)).stdout.includes("line5\n"); i++) await Bun.sleep(50);
        const p = spawnAttach([id]);
        const out = reader(p.stdout), err = reader(p.stderr);
        expect(await out.until(/line\d+\n.*line\d+\n.*line\d+\n/s), out.text + err.text).toBe(true);
        expect(await err.until(/err\d+\n/)).toBe(true);
        const first = Number(/line(\d+)/.exec(out.text)![1]);
        expect(first).toBeGreaterThan(5);
        // stdout has only stdout's lines and stderr only stderr's (and the lines come in order)
        expect(out.text).not.toContain("err");
        expect(err.text).not.toContain("line");
        const nums = [...out.text.matchAll(/line(\d+)\n/g)].map((m) => Number(m[1]));
        expect(nums).toEqual(nums.map((_, i) => first + i));
        p.kill("SIGTERM"); // forwarded (--sig-proxy's default): the container's trap ends it with 7
        expect(await p.exited).toBe(7);
        await Promise.all([out.done, err.done]);
        expect(out.text).toEndWith("got-term\n");
        expect(await state(id)).toBe("exited");
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("--sig-proxy=false: SIGTERM ends attach alone, the container runs on; --no-stdin and a bad --detach-keys", async () => {
      await loaded;
      const id = await run("-i", "bb", "sh", "-c", "while true; do echo tick; sleep 0.1; done");
      try {
        const p = spawnAttach(["--sig-proxy=false", "--no-stdin", id]);
        const out = reader(p.stdout);
        expect(await out.until(/tick\n/)).toBe(true);
        p.kill("SIGTERM");
        await p.exited;
        expect(p.signalCode).toBe("SIGTERM");
        expect(await state(id)).toBe("running");
        const bad = await b("attach", "--detach-keys", "ctrl-pq", id);
        expect([bad.code, bad.stdout], ok(bad)).toEqual([125, ""]);
        expect(bad.stderr).toStartWith('bunker: attach: --detach-keys: "ctrl-pq" is no key');
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("a container that exits 3: attach prints what comes and exits 3; a run -d --rm one that exits 5: 5", async () => {
      await loaded;
      const id = await run("bb", "sh", "-c", "sleep 1; echo bye; echo gone >&2; exit 3");
      try {
        const r = await b("attach", id);
        expect(r, ok(r)).toEqual({ code: 3, stdout: "bye\n", stderr: "gone\n" });
        // run -d --rm: its state goes with it, its status is still attach's
        const rm = await run("--rm", "bb", "sh", "-c", "sleep 0.5; echo rm-bye; exit 5");
        const ra = await b("attach", rm);
        expect(ra, ok(ra)).toEqual({ code: 5, stdout: "rm-bye\n", stderr: "" });
        expect((await b("ps", "-a", "-q")).stdout).not.toContain(rm);
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("a stopped container is one line, exit 125 (docker's status is 1), and so are a paused one and one that is not there", async () => {
      await loaded;
      const id = await run("bb", "true");
      try {
        for (let i = 0; i < 100 && (await state(id)) !== "exited"; i++) await Bun.sleep(50);
        const r = await b("attach", id);
        expect([r.code, r.stdout], ok(r)).toEqual([125, ""]);
        expect(r.stderr).toStartWith("bunker: You cannot attach to a stopped container, start it first");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        const missing = await b("attach", "nosuch");
        expect([missing.code, missing.stderr.trim().split("\n").length], ok(missing)).toEqual([125, 1]);
        // a paused one (where it can be frozen: a cgroup of its own)
        const up = await run("bb", "sleep", "60");
        try {
          const paused = await b("pause", up);
          if (paused.code === 0) {
            const p = await b("attach", up);
            expect([p.code, p.stdout], ok(p)).toEqual([125, ""]);
            expect(p.stderr).toStartWith("bunker: You cannot attach to a paused container, unpause it first");
          } else expect(paused.stderr).toContain("has no cgroup");
        } finally {
          await b("rm", "-f", up);
        }
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("-dit sh under a pty: typed and read back, its window's size and SIGWINCH, ctrl-p ctrl-q (or --detach-keys) detaches (read escape sequence, 1) and it runs on; the terminal restored", async () => {
      await loaded;
      const id = await run("-it", "--name", "sh1", "bb", "sh");
      try {
        const t = await runInPty(as, [bunkerBinary(), ...roots, "attach", "sh1"], {
          rows: 30,
          cols: 100,
          steps: [
            { after: "", type: "\n" },
            { after: "# ", type: "stty size; echo hi-$((1+2))\n" },
            { after: "hi-3", type: "stty size\n", size: { rows: 40, cols: 120 } },
            { after: "40 120", type: "\u0010\u0011" },
          ],
        });
        expect(t.code, t.stdout + t.stderr).toBe(1);
        expect(t.stdout).toContain("30 100\r\nhi-3\r\n");
        expect(t.stdout).toContain("40 120\r\n");
        expect(t.stdout).toContain("read escape sequence");
        expect(await state(id)).toBe("running");
        expect((await b("logs", id)).stdout).toContain("hi-3\r\n");
        // a terminal's container with stdin that is no terminal: docker's refusal
        const piped = await b("attach", id);
        expect([piped.code, piped.stderr.split("\n")[0]], ok(piped)).toEqual([125, expect.stringMatching(/^bunker: the input device is not a TTY: ENOTTY/)]);
        // attached again: the shell is the same one, and exit ends attach with its status
        // --detach-keys: ctrl-x,x detaches
        const keyed = await runInPty(as, [bunkerBinary(), ...roots, "attach", "--detach-keys", "ctrl-x,x", "sh1"], {
          steps: [
            { after: "", type: "\n" },
            { after: "# ", type: "echo k-$((2*4))\n" },
            { after: "k-8", type: "\u0018x" },
          ],
        });
        expect(keyed.code, keyed.stdout + keyed.stderr).toBe(1);
        expect(keyed.stdout).toContain("k-8\r\n");
        expect(keyed.stdout).toContain("read escape sequence");
        expect(await state(id)).toBe("running");
        // and the terminal is as it was once attach has ended (cooked: echo, icanon, opost)
        const again = await runInPty(as, ["sh", "-c", '"$0" "$@"; echo rc=$?; stty -a', bunkerBinary(), ...roots, "attach", "sh1"], { steps: [{ after: "", type: "\n" }, { after: "# ", type: "exit 4\n" }] });
        expect(again.stdout, again.stdout + again.stderr).toContain("rc=4");
        const modes = again.stdout.slice(again.stdout.indexOf("rc=4"));
        for (const m of ["icanon", "echo", "opost", "isig"]) expect(modes).toMatch(new RegExp(`[ \n]${m}\\b`));
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("-di cat: what is written to attach's stdin comes back; the container's stop ends attach with its status", async () => {
      await loaded;
      const id = await run("-i", "bb", "cat");
      try {
        const p = spawnAttach([id], "pipe");
        const stdin = p.stdin!;
        const out = reader(p.stdout);
        stdin.write("hello\n");
        stdin.flush();
        expect(await out.until(/hello\n/), out.text).toBe(true);
        stdin.write("again\n");
        stdin.flush();
        expect(await out.until(/hello\nagain\n/), out.text).toBe(true);
        expect((await b("kill", "-s", "KILL", id)).code).toBe(0);
        expect(await p.exited).toBe(137);
        expect(out.text).toBe("hello\nagain\n");
      } finally {
        await b("rm", "-f", id);
      }
    });

    test("start -a / -ai (docker start -a): a created container's output from its start and its status; a stopped one started again the same way; -ai under a pty types to a create -it shell; two containers are one line", async () => {
      await loaded;
      const made = await b("create", "--name", "sa1", "--network", "none", "bb", "sh", "-c", "echo out; echo err >&2; exit 4");
      expect(made.code, ok(made)).toBe(0);
      const made2 = await b("create", "-it", "--name", "sa2", "--network", "none", "bb", "sh");
      expect(made2.code, ok(made2)).toBe(0);
      const made3 = await b("create", "-i", "--name", "sa3", "--network", "none", "bb", "sh", "-c", "read x; echo got $x; exit 2");
      expect(made3.code, ok(made3)).toBe(0);
      try {
        expect(await b("start", "-a", "sa1")).toEqual({ code: 4, stdout: "out\n", stderr: "err\n" });
        // stopped: made again and attached from its new start (its earlier output is not shown again)
        expect(await b("start", "-a", "sa1")).toEqual({ code: 4, stdout: "out\n", stderr: "err\n" });
        expect((await b("logs", "sa1")).stdout).toBe("out\nout\n");
        // -i without a terminal: stdin piped to it
        const p = Bun.spawn(bunkerArgv(as, [...roots, "start", "-ai", "sa3"]), { cwd: "/", env: envFor(as), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
        p.stdin!.write("hello\n");
        p.stdin!.end();
        expect([await p.exited, await new Response(p.stdout).text()]).toEqual([2, "got hello\n"]);
        // -ai of a create -it shell under a pty: typed to and read back; its exit is start's
        const t = await runInPty(as, [bunkerBinary(), ...roots, "start", "-ai", "sa2"], {
          steps: [
            { after: "", type: "\n" },
            { after: "# ", type: "echo st-$((3*3)); exit 6\n" },
          ],
        });
        expect(t.code, t.stdout + t.stderr).toBe(6);
        expect(t.stdout).toContain("st-9\r\n");
        const two = await b("start", "-a", "sa1", "sa3");
        expect([two.code, two.stdout, two.stderr.split("\n").length], ok(two)).toEqual([125, "", 2]);
        expect(two.stderr).toContain("you cannot start and attach multiple containers at once");
      } finally {
        await b("rm", "-f", "sa1", "sa2", "sa3");
      }
    });
  });
}
