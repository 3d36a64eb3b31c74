// The CVE-2019-5736 class through exec: while `bunker exec` joins a container,
// a process inside watches /proc/*/exe for the host's bunker executable (the
// copy under test, identified by its device and inode) and tries to re-open
// it for writing once the joining process has exec'd (tests/probes/exe-watch.c;
// it never writes a byte).  Non-dumpable until execve (the shim's NONDUMPABLE
// op) must leave it nothing to open: zero sightings, zero write opens, the
// executable's hash unchanged.  As root and as the unprivileged user; plain
// exec, exec -t, exec --process, and an OCI container that is created but not
// started (its PID 1 is still bunker, waiting on exec.fifo).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, chownTree, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs, runInPty, staticProbe } from "../lib/index.ts";

const describeRoot = isRoot() ? describe : describe.skip;

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/** "others N sightings N writable N" -> numbers */
function watchReport(text: string): { others: number; sightings: number; writable: number } {
  const m = /^others (\d+) sightings (\d+) writable (\d+)$/m.exec(text);
  if (!m) throw new Error(`exe-watch printed no report: ${JSON.stringify(text)}`);
  return { others: Number(m[1]), sightings: Number(m[2]), writable: Number(m[3]) };
}

for (const as of USERS) {
  describeRoot(`exec cannot reach the runtime's executable (as ${as})`, () => {
    let base: string, rootfs: string, root: string, bundle: string;
    const ids: string[] = [];
    const b = (args: string[], cwd = "/") => bunkerAs(as, ["--root", root, ...args], { cwd, timeoutMs: 60_000 });
    /** a detached bunker leaves its container holding stdio: give it files, not pipes */
    const detached = (args: string[], cwd = "/") =>
      runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" >${base}/out 2>${base}/err`, bunkerBinary(), "--root", root, ...args]), { cwd });
    const identity = () => {
      const st = statSync(bunkerBinary());
      return [String(st.dev), String(st.ino)];
    };

    beforeAll(() => {
      base = makeTempDir("bunker-exec-escape", ownerOf(as));
      rootfs = makeBusyboxRootfs(join(base, "rootfs"), ownerOf(as));
      copyFileSync(staticProbe("exe-watch"), join(rootfs, "exe-watch"));
      chmodSync(join(rootfs, "exe-watch"), 0o755);
      chownTree(join(rootfs, "exe-watch"), ownerOf(as));
      root = join(base, "state");
      bundle = join(base, "bundle");
      makeBusyboxRootfs(join(bundle, "rootfs"), ownerOf(as));
      copyFileSync(staticProbe("exe-watch"), join(bundle, "rootfs/exe-watch"));
      chownTree(base, ownerOf(as));
    });
    afterAll(async () => {
      for (const id of ids) await b(["rm", "-f", id]);
      for (const id of ids) await b(["delete", "--force", id]);
      removeTree(base);
    });

    test("100 execs, 10 exec -t and 10 exec --process: no sighting of bunker, no write open, hash unchanged", async () => {
      const before = sha256(bunkerBinary());
      const [dev, ino] = identity();
      const id = `escape-${as}-${process.pid}`;
      ids.push(id);
      const r = await detached(["run", "-d", "--name", id, "--rootfs", rootfs, "/exe-watch", dev!, ino!, "100", "/exe-watch.stop"]);
      expect(r.code).toBe(0);
      for (let i = 0; i < 100; i++) {
        const e = await b(["exec", id, "/bin/true"]);
        expect(e.stderr).toBe("");
        expect(e.code).toBe(0);
      }
      // a few that stay a moment: the watcher must have been able to see exec'd processes
      for (let i = 0; i < 5; i++) expect((await b(["exec", id, "/bin/sleep", "0.2"])).code).toBe(0);
      for (let i = 0; i < 10; i++) {
        const t = await runInPty(as, [bunkerBinary(), "--root", root, "exec", "-t", id, "/bin/sh", "-c", "exit 3"]);
        expect(t.code).toBe(3);
      }
      const proc = join(base, "process.json");
      writeFileSync(proc, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, args: ["/bin/true"], env: ["PATH=/bin"], cwd: "/" }));
      chownTree(proc, ownerOf(as));
      for (let i = 0; i < 10; i++) expect((await b(["exec", "--process", proc, id])).code).toBe(0);
      // the watcher ends a second after this file appears; its report is the container's log
      expect((await b(["exec", id, "/bin/touch", "/exe-watch.stop"])).code).toBe(0);
      let report = "";
      for (let i = 0; i < 200 && !/^others/m.test(report); i++) {
        await Bun.sleep(100);
        report = (await b(["logs", id])).stdout;
      }
      const w = watchReport(report);
      expect(w.others).toBeGreaterThan(0);
      expect({ sightings: w.sightings, writable: w.writable }).toEqual({ sightings: 0, writable: 0 });
      expect(sha256(bunkerBinary())).toBe(before);
    }, 120_000);

    test("an OCI container created but not started: its waiting PID 1 cannot be opened from an exec", async () => {
      const before = sha256(bunkerBinary());
      const [dev, ino] = identity();
      const f = join(bundle, "config.json");
      removeTree(f);
      expect((await b(["spec", "-b", bundle])).code).toBe(0);
      const c = JSON.parse(readFileSync(f, "utf8"));
      c.process.terminal = false;
      c.process.args = ["/bin/true"];
      writeFileSync(f, JSON.stringify(c));
      chownTree(f, ownerOf(as));
      const id = `escape-oci-${as}-${process.pid}`;
      ids.push(id);
      expect((await detached(["create", id], bundle)).code).toBe(0);
      const w = await b(["exec", id, "/exe-watch", dev!, ino!, "1"]);
      expect(w.code).toBe(0);
      expect(watchReport(w.stdout)).toMatchObject({ sightings: 0, writable: 0 });
      expect(sha256(bunkerBinary())).toBe(before);
      expect((await b(["delete", "--force", id])).code).toBe(0);
    }, 60_000);
  });
}
