// Issue 11 item 6: a detached container's log is bounded.  Its output goes
// through pipes to a small writer outside the container (the monitor
// program, c/logwriter.c) that records each line (time, stream: the CRI log
// format, 40 bytes before the line) and rotates <state>/log as Docker's json-file
// driver does (--log-opt max-size, max-file; default 10m x 3); `logs` and
// `logs -f` read across the rotation; the writer is invisible inside the
// container, ends with it, and `rm -f` accounts for it.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { bunkerAs, collect, isRoot, makeTempDir, ownerOf, removeTree, spawnBunkerAs, USERS, type As } from "../lib/index.ts";

const dir = makeTempDir("bunker-log-rotation");
chmodOpen(dir);
/** every state root made, with its user: a failed test's containers are removed (rm -f) before the dir */
const roots: [As, string][] = [];
afterAll(async () => {
  for (const [as, root] of roots) {
    for (const id of existsSync(root) ? readdirSync(root) : []) await bunkerAs(as, ["--root", root, "rm", "-f", id]);
  }
  removeTree(dir);
});

function chmodOpen(d: string) {
  Bun.spawnSync(["chmod", "755", d]);
}

/** a private state root for AS */
function stateRoot(as: As): string {
  const r = `${dir}/state-${as}-${Math.random().toString(36).slice(2, 8)}`;
  Bun.spawnSync(["mkdir", "-m", "700", r]);
  const o = ownerOf(as);
  Bun.spawnSync(["chown", `${o.uid}:${o.gid}`, r]);
  roots.push([as, r]);
  return r;
}

/** the log files of container ID and their sizes */
/** "TIME STREAM F " before each line of a log file */
const RECORD_HEAD = 40;

/** the records (lines) of ID's log files */
function records(root: string, id: string): number {
  let n = 0;
  for (const f of readdirSync(`${root}/${id}`)) if (/^log(\.\d+)?$/.test(f)) n += readFileSync(`${root}/${id}/${f}`, "latin1").split("\n").length - 1;
  return n;
}

function logSizes(root: string, id: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(`${root}/${id}`)) {
    if (!/^log(\.\d+)?$/.test(f)) continue;
    try {
      out[f] = statSync(`${root}/${id}/${f}`).size;
    } catch {
      /* rotated away between the two calls */
    }
  }
  return out;
}

const total = (s: Record<string, number>) => Object.values(s).reduce((a, b) => a + b, 0);

/** the writer's pid from its record, and whether that process (same start time) still runs */
function writer(root: string, id: string): { pid: number; alive: () => boolean } {
  const [pid, start] = readFileSync(`${root}/${id}/log-writer`, "utf8").trim().split(" ");
  const startOf = () => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      return f[0] === "Z" ? undefined : f[19];
    } catch {
      return undefined;
    }
  };
  return { pid: Number(pid), alive: () => startOf() === start };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(20)) if (await cond()) return true;
  return false;
}

const MiB = 2 ** 20;

describe.skipIf(!isRoot())("detached logs", () => {
  for (const as of USERS) {
    describe(as, () => {
      test("yes for two seconds with max-size=1m, max-file=2 stays within 2 MiB; logs shows the latest; rm -f ends the writer", async () => {
        const root = stateRoot(as);
        const b = (args: string[]) => bunkerAs(as, ["--root", root, ...args]);
        const r = await b(["run", "-d", "--name", "yes1", "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "--rootfs", "host", "--", "sh", "-c", "echo first; exec yes"]);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("yes1\n");
        const w = writer(root, "yes1");
        expect(w.alive()).toBe(true);
        let most = 0;
        for (const end = Date.now() + 2000; Date.now() < end; await Bun.sleep(50)) most = Math.max(most, total(logSizes(root, "yes1")));
        expect(most).toBeGreaterThan(MiB); // it did write
        expect(most).toBeLessThanOrEqual(2 * MiB);
        // stopped, the writer drains the pipe and exits: then the files hold still
        expect((await b(["stop", "-t", "1", "yes1"])).code).toBe(0);
        expect(await until(() => !w.alive(), 5000)).toBe(true);
        const sizes = logSizes(root, "yes1");
        expect(Object.keys(sizes).sort()).toEqual(["log", "log.1"]);
        expect(sizes["log.1"]).toBeLessThanOrEqual(MiB);
        expect(sizes["log.1"]).toBeGreaterThan(MiB - (RECORD_HEAD + 2)); // within one record of the cap
        expect(total(sizes)).toBeLessThanOrEqual(2 * MiB);
        const logs = await b(["logs", "yes1"]);
        expect(logs.code).toBe(0);
        expect(logs.stdout.length).toBe(total(sizes) - RECORD_HEAD * records(root, "yes1"));
        expect(logs.stdout).not.toContain("first"); // rotated away long ago
        expect(/^(y\n)+$/.test(logs.stdout)).toBe(true); // the files are cut after a newline
        expect((await b(["rm", "yes1"])).code).toBe(0);
        // rm -f of a running one: the writer has gone when rm returns
        expect((await b(["run", "-d", "--name", "yes2", "--log-opt", "max-size=1m", "--rootfs", "host", "--", "yes"])).code).toBe(0);
        const w2 = writer(root, "yes2");
        await Bun.sleep(300);
        expect(w2.alive()).toBe(true);
        const rm = await b(["rm", "-f", "yes2"]);
        expect(rm.stderr).toBe("");
        expect(w2.alive()).toBe(false);
        expect(existsSync(`${root}/yes2`)).toBe(false);
      }, 60_000);

      test("without --log-opt the default cap applies: 10 MiB per file, 3 files", async () => {
        const root = stateRoot(as);
        const b = (args: string[]) => bunkerAs(as, ["--root", root, ...args]);
        // 45 MB: log.4 would exist without the cap's max-file
        const r = await b(["run", "-d", "--name", "dflt", "--rootfs", "host", "--", "sh", "-c", "yes 0123456789abcdef | head -c 45000003; echo LAST"]);
        expect(r.code).toBe(0);
        const w = writer(root, "dflt");
        expect(await until(() => !w.alive(), 30_000)).toBe(true); // gone once the container has exited
        const sizes = logSizes(root, "dflt");
        expect(Object.keys(sizes).sort()).toEqual(["log", "log.1", "log.2"]);
        expect(sizes["log.1"]).toBeLessThanOrEqual(10 * MiB);
        expect(sizes["log.2"]).toBeLessThanOrEqual(10 * MiB);
        expect(sizes["log.1"]).toBeGreaterThan(10 * MiB - (RECORD_HEAD + 17)); // cut between records
        const logs = await b(["logs", "dflt"]);
        expect(logs.stdout.endsWith("0123456789abcdef\nLAST\n")).toBe(true);
        expect(logs.stdout.length).toBe(total(sizes) - RECORD_HEAD * records(root, "dflt"));
        expect((await b(["rm", "dflt"])).code).toBe(0);
      }, 60_000);

      test("logs -f follows across rotations, in order, and ends when the container has", async () => {
        const root = stateRoot(as);
        // 3000 numbered lines (~150 KB) over ~3 s: with max-size=16k about nine rotations while -f follows;
        // 8 files keep the last ~2.5 s, so a follower that starts late on a busy machine still sees every line
        const script = 'i=0; while [ $i -lt 3000 ]; do echo "line $i ........................................"; i=$((i+1)); [ $((i % 100)) = 0 ] && sleep 0.1; done; echo done';
        const r = await bunkerAs(as, ["--root", root, "run", "-d", "--name", "fol", "--log-opt", "max-size=16k", "--log-opt", "max-file=8", "--rootfs", "host", "--", "sh", "-c", script]);
        expect(r.code).toBe(0);
        const f = await collect(spawnBunkerAs(as, ["--root", root, "logs", "-f", "fol"]), 30_000);
        expect(f.stderr).toBe("");
        expect(f.code).toBe(0);
        const got = f.stdout.trimEnd().split("\n");
        const want = [...Array.from({ length: 3000 }, (_, i) => `line ${i} ........................................`), "done"];
        expect(got.length).toBe(want.length);
        expect(got).toEqual(want);
        // and it did rotate: the oldest lines are gone from the files
        const all = await bunkerAs(as, ["--root", root, "logs", "fol"]);
        expect(all.stdout.startsWith("line 0 ")).toBe(false);
        expect(all.stdout.endsWith("line 2999 ........................................\ndone\n")).toBe(true);
        expect((await bunkerAs(as, ["--root", root, "rm", "fol"])).code).toBe(0);
      }, 60_000);

      test("the writer is not in the container's pid namespace, and is gone after the container exits", async () => {
        const root = stateRoot(as);
        const r = await bunkerAs(as, ["--root", root, "run", "-d", "--name", "vis", "--rootfs", "host", "--", "sh", "-c", "for p in /proc/[0-9]*; do echo \"$p $(cat $p/comm)\"; done; echo end; sleep 30"]);
        expect(r.code).toBe(0);
        const w = writer(root, "vis");
        const state = JSON.parse(readFileSync(`${root}/vis/state.json`, "utf8"));
        expect(readlinkSync(`/proc/${w.pid}/ns/pid`)).not.toBe(readlinkSync(`/proc/${state.pid}/ns/pid`));
        expect(readFileSync(`/proc/${w.pid}/comm`, "utf8")).toBe("bunker-log\n");
        let out = "";
        expect(await until(async () => (out = (await bunkerAs(as, ["--root", root, "logs", "vis"])).stdout).includes("end\n"))).toBe(true);
        const seen = out.trimEnd().split("\n").slice(0, -1);
        expect(seen.length).toBeGreaterThan(0);
        for (const l of seen) expect(l).not.toContain("bunker-log");
        expect(seen.map((l) => l.split(" ")[0])).toContain("/proc/1");
        expect((await bunkerAs(as, ["--root", root, "stop", "-t", "1", "vis"])).code).toBe(0);
        expect(await until(() => !w.alive(), 5000)).toBe(true);
        expect((await bunkerAs(as, ["--root", root, "rm", "vis"])).code).toBe(0);
      }, 60_000);

      test("bad --log-opt values are one clear line", async () => {
        const root = stateRoot(as);
        const cases: [string[], string][] = [
          [["-d", "--log-opt", "max-size=lots"], `bunker: --log-opt max-size: "lots" is not a size: EINVAL (Invalid argument) — use a number of bytes or a unit: 512k, 64m, 1.5g`],
          [["-d", "--log-opt", "max-file=0"], `bunker: --log-opt max-file: "0" must be an integer from 1 to 1000: EINVAL (Invalid argument)`],
          [["-d", "--log-opt", "compress=true"], `bunker: --log-opt: unknown option "compress": EINVAL (Invalid argument) — bunker's log takes max-size=SIZE and max-file=N (Docker's json-file options)`],
          [["-d", "--log-opt", "max-size=-1", "--log-opt", "max-file=2"], `bunker: --log-opt max-file needs a max-size: EINVAL (Invalid argument) — drop max-file, or give max-size=SIZE`],
          [["--log-opt", "max-size=1m"], `bunker: run: --log-opt is for a detached container's log: EINVAL (Invalid argument) — add -d, or drop --log-opt`],
        ];
        for (const [flags, line] of cases) {
          const r = await bunkerAs(as, ["--root", root, "run", ...flags, "--rootfs", "host", "--", "true"]);
          expect(r.code).toBe(125);
          expect(r.stdout).toBe("");
          expect(r.stderr).toBe(line + "\n");
        }
        expect(readdirSync(root)).toEqual([]);
      }, 60_000);
    });
  }
});
