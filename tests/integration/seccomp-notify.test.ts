// Seccomp user notification end to end (linux.seccomp.listenerPath with
// SCMP_ACT_NOTIFY), as root and as the unprivileged user: a small agent
// (tests/probes/seccomp-agent.c, run as the same user) gets the container
// process state and the listener fd on its socket and answers the notified
// syscalls (getppid returns 4242, mkdir fails with EXDEV); the container's
// process sees those answers.  Checked for create/start, exec, run -b and
// run --security-opt seccomp=FILE, and the refusals.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeOciFixture, writeOciConfig, USERS, asUserArgv, bunkerAs, bunkerBinary, chownTree, collect, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs, spawnAs, spawnBunkerAs, staticProbe, subRange, waitForFile, type As } from "../lib/index.ts";

setDefaultTimeout(60_000);

const describeRoot = isRoot() ? describe : describe.skip;

/** what the agent answers: getppid 4242, mkdir EXDEV */
const PROBE = "echo ppid=$PPID; mkdir /tmp/notified 2>&1; echo mkdir=$?";
const ANSWERED = "ppid=4242\nmkdir: can't create directory '/tmp/notified': Invalid cross-device link\nmkdir=1\n";

for (const as of USERS) {
  describeRoot(`seccomp notification as ${as}`, () => {
    let base = "", bundle = "", root = "", out = "";
    const ids: string[] = [];
    let n = 0;
    const b = (args: string[]) => bunkerAs(as, ["--root", root, ...args], { cwd: bundle, timeoutMs: 20_000 });
    /** create/exec -d leave the container holding bunker's stdio: give it files */
    const detached = async (args: string[]) => {
      const err = join(base, "detached.err");
      const r = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" >/dev/null 2>${err}`, bunkerBinary(), "--root", root, ...args]), { cwd: bundle, timeoutMs: 20_000 });
      return { ...r, stderr: readFileSync(err, "utf8") };
    };
    const newId = () => {
      const id = `n${ids.length}-${process.pid}`;
      ids.push(id);
      return id;
    };

    /** the agent, as AS, on a fresh socket; ended by pid by the caller (stop) */
    function startAgent() {
      const dir = join(base, `agent${n++}`);
      mkdirSync(dir);
      chownTree(dir, ownerOf(as));
      const socket = join(dir, "agent.sock");
      const proc = spawnAs(as, [staticProbe("seccomp-agent"), socket, dir]);
      return {
        socket,
        proc,
        ready: async () => {
          for (let t = 0; t < 250 && !existsSync(socket); t++) await Bun.sleep(20);
          return existsSync(socket);
        },
        /** the Nth container process state it got */
        state: async (k: number) => {
          expect(await waitForFile(join(dir, `state.${k}.json`), 5000)).toBe(true);
          expect(existsSync(join(dir, `state.${k}.err`))).toBe(false); // the fd came with it
          return JSON.parse(readFileSync(join(dir, `state.${k}.json`), "utf8"));
        },
        /** "SYSCALL PID CONNECTION" lines of the notifications it answered */
        calls: () => (existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : []),
        stop: async () => {
          proc.kill("SIGKILL");
          await proc.exited;
        },
      };
    }

    /** a notify profile for SOCKET; names: the notified syscalls */
    const notifyProfile = (socket: string, names = ["getppid", "mkdir", "mkdirat"]) => ({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      listenerPath: socket,
      listenerMetadata: "agent-metadata",
      syscalls: [
        { names, action: "SCMP_ACT_NOTIFY" },
        { names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
      ],
    });

    const config = (args: string[], edit: (c: any) => void) =>
      writeOciConfig(as, bundle, out, args, (c) => {
        c.root.readonly = false;
        c.annotations = { "org.example.test": "notify" };
        edit(c);
      });

    beforeAll(() => {
      ({ base, bundle, root, out } = makeOciFixture(as, "bunker-notify"));
    });
    afterAll(async () => {
      for (const id of ids) await b(["delete", "--force", id]);
      removeTree(base);
    });

    test("create/start: the agent gets the state and the listener, the container sees its answers; exec gets its own", async () => {
      const agent = startAgent();
      try {
        expect(await agent.ready()).toBe(true);
        await config(["sh", "-c", `{ ${PROBE}; } > /out/init 2>&1; echo done > /out/done; exec sleep 30`], (c) => {
          // the kernel takes TSYNC with a listener only with TSYNC_ESRCH, which bunker adds
          c.linux.seccomp = { ...notifyProfile(agent.socket), flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"] };
        });
        const id = newId();
        const c = await detached(["create", id]);
        expect(c.stderr).toBe("");
        expect(c.code).toBe(0);
        const initPid = JSON.parse((await b(["state", id])).stdout).pid;
        // the state reached the agent during create, before the process ran anything
        const st = await agent.state(0);
        expect(st).toEqual({
          ociVersion: expect.stringMatching(/^1\./),
          fds: ["seccompFd"],
          pid: initPid,
          metadata: "agent-metadata",
          state: { ociVersion: expect.stringMatching(/^1\./), id, status: "creating", pid: initPid, bundle, annotations: { "org.example.test": "notify" } },
        });
        expect((await b(["start", id])).code).toBe(0);
        expect(await waitForFile(join(out, "done"), 10_000)).toBe(true);
        expect(readFileSync(join(out, "init"), "utf8")).toBe(ANSWERED);
        // the shell asked getppid itself (the state's pid); mkdir is its child
        const calls = agent.calls();
        expect(calls[0]).toBe(`getppid ${initPid} 0`);
        expect(calls[1]).toMatch(/^mkdir \d+ 0$/);
        expect(calls[1]).not.toBe(`mkdir ${initPid} 0`);

        // exec: a second connection, for the exec'd process (its pid) in the running container
        const pidFile = join(base, `${id}.exec.pid`);
        const e = await b(["exec", "--pid-file", pidFile, id, "sh", "-c", "echo ppid=$PPID"]);
        expect(e.stderr).toBe("");
        expect(e.stdout).toBe("ppid=4242\n");
        expect(e.code).toBe(0);
        const execPid = Number(readFileSync(pidFile, "utf8"));
        const st1 = await agent.state(1);
        expect(st1).toMatchObject({ fds: ["seccompFd"], pid: execPid, metadata: "agent-metadata", state: { id, status: "running", pid: initPid, bundle } });
        expect(agent.calls()).toContain(`getppid ${execPid} 1`);
      } finally {
        await agent.stop();
      }
    });

    for (const nnp of [false, true]) {
      test(`run -b, noNewPrivileges ${nnp}: the shim's own notified syscalls after the filter (chdir, close, read, execve, …) go on, no deadlock`, async () => {
        const agent = startAgent();
        try {
          expect(await agent.ready()).toBe(true);
          await config(["sh", "-c", PROBE], (c) => {
            // without no_new_privs the filter is loaded before the user switch (it needs CAP_SYS_ADMIN)
            c.process.noNewPrivileges = nnp;
            c.process.cwd = "/tmp";
            c.linux.seccomp = notifyProfile(agent.socket, ["getppid", "mkdir", "mkdirat", "chdir", "close", "read", "execve", "execveat", "openat", "setresuid", "capset"]);
          });
          const id = newId();
          const r = await b(["run", "-b", bundle, id]);
          expect(r.stderr).toBe("");
          expect(r.stdout).toBe(ANSWERED);
          expect(r.code).toBe(0);
          const st = await agent.state(0);
          expect(st.state).toMatchObject({ id, status: "creating", pid: st.pid });
          // the first notifications are the shim's, on its way to the program, which the agent let go on
          const calls = agent.calls();
          expect(calls[0]).toBe(`other ${st.pid} 0`);
          expect(calls).toContain(`getppid ${st.pid} 0`);
        } finally {
          await agent.stop();
        }
      });
    }

    test("the agent gone while the container runs: its notified syscalls fail with ENOSYS, nothing hangs (bunker keeps no copy of the listener)", async () => {
      const agent = startAgent();
      const go = join(out, "go");
      removeTree(go);
      try {
        expect(await agent.ready()).toBe(true);
        await config(["sh", "-c", `while [ ! -e /out/go ]; do sleep 0.05; done; ${PROBE}`], (c) => (c.linux.seccomp = notifyProfile(agent.socket)));
        const run = spawnBunkerAs(as, ["--root", root, "run", "-b", bundle, newId()], { cwd: bundle });
        const result = collect(run, 20_000);
        const st = await agent.state(0);
        // the shell asks getppid as it starts: answered before the agent goes
        for (let t = 0; t < 250 && !agent.calls().includes(`getppid ${st.pid} 0`); t++) await Bun.sleep(20);
        expect(agent.calls()).toContain(`getppid ${st.pid} 0`);
        await agent.stop();
        writeFileSync(go, "go\n");
        const r = await result;
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("ppid=4242\nmkdir: can't create directory '/tmp/notified': Function not implemented\nmkdir=1\n");
        expect(r.code).toBe(0);
      } finally {
        await agent.stop();
      }
    });

    test("run --security-opt seccomp=FILE (an OCI profile with a listenerPath)", async () => {
      const agent = startAgent();
      try {
        expect(await agent.ready()).toBe(true);
        const profile = join(base, "notify-profile.json");
        writeFileSync(profile, JSON.stringify(notifyProfile(agent.socket)));
        chownTree(profile, ownerOf(as));
        const r = await bunkerAs(as, ["--root", root, "run", "--rm", "--rootfs", join(bundle, "rootfs"), "--security-opt", `seccomp=${profile}`, "--", "/bin/sh", "-c", PROBE], { cwd: base, timeoutMs: 20_000 });
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe(ANSWERED);
        expect(r.code).toBe(0);
        const st = await agent.state(0);
        expect(st).toMatchObject({ fds: ["seccompFd"], metadata: "agent-metadata", state: { status: "creating", pid: st.pid } });
        expect(agent.calls()[0]).toBe(`getppid ${st.pid} 0`);
        // rootless with a subordinate range: the process is forked in bunker's shared user namespace (a second go)
        if (as === "user" && subRange("/etc/subuid", as)) {
          const auto = await bunkerAs(as, ["--root", root, "run", "--rm", "--userns=auto", "--rootfs", join(bundle, "rootfs"), "--security-opt", `seccomp=${profile}`, "--", "/bin/sh", "-c", PROBE], { cwd: base, timeoutMs: 20_000 });
          expect(auto.stderr).toBe("");
          expect(auto.stdout).toBe(ANSWERED);
          const st1 = await agent.state(1);
          expect(agent.calls()).toContain(`getppid ${st1.pid} 1`);
        }
      } finally {
        await agent.stop();
      }
    });

    test("features lists SCMP_ACT_NOTIFY and the listener's flag", async () => {
      const f = JSON.parse((await b(["features"])).stdout);
      expect(f.linux.seccomp.actions).toContain("SCMP_ACT_NOTIFY");
      expect(f.linux.seccomp.supportedFlags).toContain("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    });

    test("a listenerPath without a notify rule is accepted (and not connected to); a notify rule without one, for sendmsg, or an agent that is not there, is one line and leaves no container", async () => {
      const missing = join(base, "no-agent.sock");
      await config(["sh", "-c", "mkdir /tmp/d; echo mkdir=$?"], (c) => {
        c.linux.seccomp = { ...notifyProfile(missing), syscalls: [{ names: ["uname"], action: "SCMP_ACT_ERRNO" }] };
      });
      const ok = await b(["run", "-b", bundle, newId()]);
      expect(ok.stderr).toBe("");
      expect(ok.stdout).toBe("mkdir=0\n");
      expect(ok.code).toBe(0);

      await config(["true"], (c) => {
        const { listenerPath: _, ...p } = notifyProfile(missing);
        c.linux.seccomp = p;
      });
      const id1 = newId();
      const noPath = await detached(["create", id1]);
      expect(noPath.code).toBe(125);
      expect(noPath.stderr).toMatch(/^bunker: \S*config\.json: linux\.seccomp\.listenerPath: is required with SCMP_ACT_NOTIFY[^\n]*\n$/);

      await config(["true"], (c) => (c.linux.seccomp = notifyProfile(missing, ["mkdir", "sendmsg"])));
      const id3 = newId();
      const handover = await detached(["create", id3]);
      expect(handover.code).toBe(125);
      expect(handover.stderr).toBe("bunker: linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg (bunker passes the listener on with it): EINVAL (Invalid argument) — notify other syscalls, or give sendmsg its own rule\n");

      await config(["true"], (c) => (c.linux.seccomp = notifyProfile(missing)));
      const id2 = newId();
      const gone = await detached(["create", id2]);
      expect(gone.code).toBe(125);
      expect(gone.stderr).toBe(`bunker: cannot send the seccomp listener to the agent: ENOENT (No such file or directory) [${missing}] — start the seccomp agent on linux.seccomp.listenerPath first\n`);
      for (const id of [id1, id2, id3]) expect((await b(["state", id])).code).not.toBe(0);
    });
  });
}
