// Limits and cgroups where containers get none: a limit is an error that names
// its flag, never dropped silently (also with --cgroup-manager disabled); what
// podman, dockerd and containerd send on every create (a cgroupsPath, cpu
// shares 1024) runs without a cgroup on a host without a usable cgroup v2
// (this machine's hybrid layout), with a --debug line saying so.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, chownTree, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs } from "../lib/index.ts";
import { parseLayout } from "../../src/cgroup/locate.ts";

const hybrid = parseLayout(readFileSync("/proc/self/mountinfo", "latin1")).kind !== "unified";
const describeRoot = isRoot() ? describe : describe.skip;

for (const as of USERS) {
  describeRoot(`limits without a cgroup (as ${as})`, () => {
    let base: string, rootfs: string, bundle: string, root: string;
    const b = (args: string[], cwd = "/") => bunkerAs(as, ["--root", root, ...args], { cwd });
    beforeAll(() => {
      base = makeTempDir("bunker-cgnone", ownerOf(as));
      rootfs = makeBusyboxRootfs(join(base, "rootfs"), ownerOf(as));
      bundle = join(base, "bundle");
      makeBusyboxRootfs(join(bundle, "rootfs"), ownerOf(as));
      root = join(base, "state");
      chownTree(base, ownerOf(as));
    });
    afterAll(() => removeTree(base));

    test("--cgroup-manager disabled with --memory or --pids-limit: one line naming the flag, exit 125; defaults run", async () => {
      for (const [flagArgs, file, flagName] of [[["-m", "64m"], "memory.max", "--memory"], [["--pids-limit", "20"], "pids.max", "--pids-limit"]] as const) {
        const r = await b(["--cgroup-manager", "disabled", "run", ...flagArgs, "--rootfs", rootfs, "--", "/bin/echo", "ran"]);
        expect(r.code).toBe(125);
        expect(r.stdout).toBe("");
        expect(r.stderr).toStartWith(`bunker: cannot apply ${file} (${flagName}, `);
        expect(r.stderr).toContain("(--cgroup-manager disabled)");
        expect(r.stderr.split("\n")).toHaveLength(2);
      }
      const ok = await b(["--cgroup-manager", "disabled", "run", "--cpu-shares", "1024", "--pids-limit", "-1", "--rootfs", rootfs, "--", "/bin/echo", "ran"]);
      expect(ok.stderr).toBe("");
      expect(ok.stdout).toBe("ran\n");
    });

    test.if(hybrid)("a container without a cgroup: pause, stats and events --stats say so in one line, print nothing else", async () => {
      const d = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" 2>&1 </dev/null`, bunkerBinary(), "--root", root, "run", "-d", "--rootfs", rootfs, "--", "/bin/sleep", "30"]));
      expect(d.code).toBe(0);
      const id = d.stdout.trim();
      try {
        for (const [cmd, tail] of [[["pause", id], "and pause needs one (the freezer)"], [["stats", id], "and stats needs one"], [["events", "--stats", id], "and events needs one"]] as const) {
          const r = await b([...cmd]);
          expect(r.code).toBe(125);
          expect(r.stdout).toBe("");
          expect(r.stderr).toStartWith(`bunker: ${cmd[0]}: container "${id}" has no cgroup: EOPNOTSUPP`);
          expect(r.stderr).toEndWith(`${tail}\n`);
        }
      } finally {
        await b(["rm", "-f", id]);
      }
    });

    test.if(hybrid)("hybrid host: an OCI config with a cgroupsPath and cpu shares 1024 runs without a cgroup (a --debug line says so); a real limit still fails", async () => {
      const f = join(bundle, "config.json");
      removeTree(f);
      expect((await b(["spec", "-b", bundle])).code).toBe(0);
      const c = JSON.parse(readFileSync(f, "utf8"));
      c.process.terminal = false;
      c.process.args = ["/bin/echo", "ran"];
      c.linux.cgroupsPath = "/machine.slice/bunker-test";
      c.linux.resources = { ...(c.linux.resources ?? {}), cpu: { shares: 1024 }, memory: { limit: -1 } };
      writeFileSync(f, JSON.stringify(c));
      chownTree(f, ownerOf(as));
      const id = `cgnone-${as}-${process.pid}`;
      const r = await runAs(as, asUserArgv(as, [bunkerBinary(), "--root", root, "--debug", "run", "-b", bundle, id]), { cwd: bundle });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("ran\n");
      expect(r.stderr).toContain("bunker: debug: no cgroup for this container (the cgroup /machine.slice/bunker-test is not created): ");
      c.linux.resources.pids = { limit: 10 };
      writeFileSync(f, JSON.stringify(c));
      const lim = await b(["run", "-b", bundle, `${id}-2`], bundle);
      expect(lim.code).toBe(125);
      expect(lim.stderr).toStartWith("bunker: cannot apply pids.max (--pids-limit, linux.resources.pids.limit): no pids controller for this container: ");
      await b(["delete", "--force", `${id}-2`]);
    });
  });
}
