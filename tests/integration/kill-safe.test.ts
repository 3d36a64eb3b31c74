// Issue 11, items 1 and 4, as root and as the unprivileged user:
// - kill --all and delete --force of a container that shares the host's pid
//   namespace signal its init and the init's descendants only: a canary
//   process outside the container (same user) survives, the container's own
//   processes are gone;
// - the kill loop (tests/lib/kill-loop.ts): SIGKILL of `run`, `run -d` and
//   `create` at seeded random moments of start-up; afterwards every process
//   left is a listed container's, rm -f / delete -f remove all of it, no state
//   dir and no process blocked on exec.fifo remains, and the next run works.
//   BUNKER_KILL_LOOP sets the iterations (100 here, 1000 in `make stress`),
//   BUNKER_KILL_SEED the seed (printed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, REPO, asUserArgv, startTime, bunkerAs, bunkerBinary, chownTree, collect, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs, spawnAs, subRange } from "../lib/index.ts";
import type { LoopReport, Mode } from "../lib/kill-loop.ts";

const describeRoot = isRoot() ? describe : describe.skip;
const COUNT = Number(process.env.BUNKER_KILL_LOOP || 100);
const SEED = Number(process.env.BUNKER_KILL_SEED || Math.floor(Math.random() * 2 ** 31));

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(20)) if (cond()) return true;
  return cond();
}

for (const as of USERS) {
  describeRoot(`signals reach only the container's processes (as ${as})`, () => {
    let base: string, bundle: string, root: string, out: string;
    let n = 0;
    const b = (args: string[]) => bunkerAs(as, ["--root", root, ...args], { cwd: bundle, timeoutMs: 30_000 });
    /** create leaves the container holding bunker's stdio: give it files */
    const detached = (args: string[]) => runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" >/dev/null 2>${base}/err`, bunkerBinary(), "--root", root, ...args]), { cwd: bundle });

    /** a config without a pid namespace: the container shares the host's (and binds its /proc) */
    async function config(script: string) {
      const f = join(bundle, "config.json");
      removeTree(f);
      expect((await b(["spec", "-b", bundle])).code).toBe(0);
      const c = JSON.parse(readFileSync(f, "utf8"));
      c.process.terminal = false;
      c.process.args = ["sh", "-c", script];
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== "pid");
      c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== "/proc");
      c.mounts.push({ destination: "/proc", type: "bind", source: "/proc", options: ["rbind", "nosuid", "noexec", "nodev"] });
      c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind"] });
      writeFileSync(f, JSON.stringify(c));
      chownTree(f, ownerOf(as));
    }

    /** create + start; the init (sh) and its two sleeps, with start times */
    async function started(): Promise<{ id: string; procs: { pid: number; start: string }[] }> {
      const id = `ks-${as}-${process.pid}-${n++}`;
      const c = await detached(["create", id]);
      expect(c.code, readFileSync(`${base}/err`, "utf8")).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      const init = JSON.parse((await b(["state", id])).stdout).pid as number;
      expect(await until(() => children(init).length === 2)).toBe(true);
      const procs = [init, ...children(init)].map((pid) => ({ pid, start: startTime(pid)! }));
      // the host pid namespace: the container's pids are host pids, a scan of its namespace would be the machine
      expect(readFileSync(`/proc/${init}/status`, "utf8")).toMatch(/^NSpid:\s+\d+$/m);
      return { id, procs };
    }

    beforeAll(() => {
      base = makeTempDir("bunker-killsafe", ownerOf(as));
      bundle = join(base, "bundle");
      out = join(base, "out");
      root = join(base, "state");
      makeBusyboxRootfs(join(bundle, "rootfs"), ownerOf(as));
      mkdirSync(out, { mode: 0o777 });
      chownTree(bundle, ownerOf(as));
      chownTree(out, ownerOf(as));
    });
    afterAll(() => removeTree(base));

    test("kill --all 9, kill --all 15, delete --force: the container's processes go, a canary outside it survives", async () => {
      await config("sleep 100 & sleep 100 & wait");
      // the canary: the same user's process, outside the container, started after it (a higher pid)
      const canary = spawnAs(as, asUserArgv(as, ["sleep", "1000"]));
      const canaryStart = await (async () => {
        await until(() => startTime(canary.pid) !== undefined);
        return startTime(canary.pid);
      })();
      try {
        for (const action of [["kill", "--all", "ID", "9"], ["kill", "--all", "ID", "15"], ["delete", "--force", "ID"]]) {
          const { id, procs } = await started();
          const r = await b(action.map((a) => (a === "ID" ? id : a)));
          expect(startTime(canary.pid), `the canary after ${action.join(" ")}`).toBe(canaryStart);
          expect(r.stderr, action.join(" ")).toBe("");
          expect(r.code).toBe(0);
          expect(await until(() => procs.every((p) => startTime(p.pid) !== p.start)), `${action.join(" ")}: ${JSON.stringify(procs)}`).toBe(true);
          if (action[0] !== "delete") {
            expect(JSON.parse((await b(["state", id])).stdout).status).toBe("stopped");
            expect((await b(["delete", id])).code).toBe(0);
          }
          expect(existsSync(join(root, id))).toBe(false);
        }
      } finally {
        canary.kill("SIGKILL");
        await canary.exited;
      }
    });

    test("kill --all is refused, in one line, when the init is gone and there is no cgroup; nothing is signalled", async () => {
      // the init leaves a sleep behind (re-parented out of the container's reach) and exits
      await config("sleep 1000 & echo $! > /out/orphan; exit 0");
      removeTree(join(out, "orphan"));
      const id = `ks-${as}-${process.pid}-${n++}`;
      expect((await detached(["create", id])).code).toBe(0);
      expect((await b(["start", id])).code).toBe(0);
      expect(await until(() => existsSync(join(out, "orphan")) && readFileSync(join(out, "orphan"), "utf8").endsWith("\n"))).toBe(true);
      const orphan = Number(readFileSync(join(out, "orphan"), "utf8"));
      const orphanStart = startTime(orphan);
      try {
        // the shell's fork may not have exec'd sleep yet
        expect(await until(() => readFileSync(`/proc/${orphan}/cmdline`, "utf8") === "sleep\u00001000\u0000")).toBe(true);
        for (let i = 0; i < 100 && JSON.parse((await b(["state", id])).stdout).status !== "stopped"; i++) await Bun.sleep(20);
        const r = await b(["kill", "--all", id, "9"]);
        expect(r.code).toBe(125);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/^bunker: kill --all: container "[^"]+" has no cgroup and its init has exited, so its other processes cannot be told apart from the host's: ESRCH \([^)]+\)[^\n]*\n$/);
        expect(startTime(orphan)).toBe(orphanStart);
        expect((await b(["delete", id])).code).toBe(0);
      } finally {
        // provably the one the container started: its pid came from the container, its cmdline was checked
        if (startTime(orphan) === orphanStart) process.kill(orphan, "SIGKILL");
      }
    });
  });

  describeRoot(`a SIGKILL at any moment of start-up leaves nothing unmanaged (as ${as})`, () => {
    let base: string, rootfs: string, bundle: string;

    beforeAll(async () => {
      base = makeTempDir("bunker-killloop", ownerOf(as));
      rootfs = makeBusyboxRootfs(join(base, "rootfs"), ownerOf(as));
      bundle = join(base, "bundle");
      makeBusyboxRootfs(join(bundle, "rootfs"), ownerOf(as));
      chownTree(bundle, ownerOf(as));
      const r = await bunkerAs(as, ["spec", "-b", bundle]);
      expect(r.code).toBe(0);
      const f = join(bundle, "config.json");
      const c = JSON.parse(readFileSync(f, "utf8"));
      c.process.terminal = false;
      c.process.args = ["sleep", "1000"];
      writeFileSync(f, JSON.stringify(c));
      chownTree(f, ownerOf(as));
    });
    afterAll(() => removeTree(base));

    // with a subordinate range, --userns=auto joins bunker's shared user namespace: the container's
    // process is cloned by an intermediate and waits for a second "go" (c/namespaces.c join_userns)
    const variants: [Mode, string[]][] = [["run", []], ["run-d", []], ["create", []]];
    if (as === "user" && subRange("/etc/subuid", as)) variants.push(["run-d", ["--userns=auto"]]);
    for (const [k, [mode, runFlags]] of variants.entries()) {
      test(
        `${[mode, ...runFlags].join(" ")}: ${COUNT} kills at 0-60 ms`,
        async () => {
          const seed = SEED + k;
          console.log(`kill loop ${[mode, ...runFlags].join(" ")} as ${as}: ${COUNT} iterations, seed ${seed} (BUNKER_KILL_SEED=${SEED})`);
          const opts = { bunker: bunkerBinary(), root: join(base, `state-${mode}${runFlags.length}`), mode, count: COUNT, seed, rootfs, bundle, runFlags };
          // the shared user namespace's holder is made now, by a run of ours: not a child of the loop's subreaper
          if (runFlags.length) expect((await bunkerAs(as, ["--root", opts.root, "run", ...runFlags, "--rootfs", rootfs, "--", "true"])).code).toBe(0);
          const driver = spawnAs(as, asUserArgv(as, [process.execPath, join(REPO, "tests/lib/kill-loop.ts"), JSON.stringify(opts)]));
          const r = await collect(driver, 60_000 + COUNT * 400);
          expect(r.code, r.stderr).toBe(0);
          const rep = JSON.parse(r.stdout) as LoopReport;
          console.log(
            `  killed while running: ${rep.killedRunning}, state dirs ${rep.stateDirs} (${rep.withoutState} without state.json), listed ${JSON.stringify(rep.statuses)};` +
              ` unmanaged processes ${rep.unmanaged.length}, rm/delete failures ${rep.removeErrors.length}, left after them: ${rep.afterRemove.length} processes` +
              ` (${rep.afterRemove.filter((l) => l.execFifo).length} on exec.fifo), ${rep.dirsAfterRemove.length} state dirs`,
          );
          expect(rep.unmanaged).toEqual([]);
          expect(rep.removeErrors).toEqual([]);
          expect(rep.recordedAlive).toEqual([]);
          expect(rep.afterRemove).toEqual([]);
          expect(rep.dirsAfterRemove).toEqual([]);
          expect(rep.nextRun).toBe("exit 0: ok");
          expect(rep.nextRunOk).toBe(true);
        },
        90_000 + COUNT * 400,
      );
    }
  });
}
