// podman (Debian's, with conmon) driving dist/bunker as its OCI runtime, with a
// private storage/run root, an image imported offline from the busybox rootfs,
// and a containers.conf that names bunker: rootless (the user's session:
// volumes, published ports, pods), and as root with cgroups disabled in a
// mount namespace without cgroup trees (tests/lib/podman.ts says why).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { endPodman, podmanWrapper } from "../lib/podman.ts";
import { cgroupDirs } from "../lib/cgroup-guard.ts";
import { asUserArgv, bunkerBinary, chownTree, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs, runInPty, type As } from "../lib/index.ts";

const havePodman = Bun.which("podman") !== null && Bun.which("conmon") !== null;
if (!havePodman) console.log("podman tests skipped: podman or conmon not installed (apt-get install -y podman)");
const d = isRoot() && havePodman ? describe : describe.skip;

/** a TCP port nothing listens on at 127.0.0.1 now */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

for (const as of ["user", "root"] as As[]) {
  d(`podman with bunker as its runtime (${as === "user" ? "rootless" : "root, --cgroups=disabled, cgroupfs, no network"})`, () => {
    let base: string, script: string, cgroupsBefore: string[];
    const pm = (args: string[], stdin?: string) => runAs(as, asUserArgv(as, [script, ...args]), { cwd: base, stdin, timeoutMs: 60_000 });
    const rootless = as === "user" ? test : test.skip;

    beforeAll(async () => {
      cgroupsBefore = cgroupDirs();
      base = makeTempDir("bunker-podman", ownerOf(as));
      const rootfs = makeBusyboxRootfs(join(base, "rootfs"), ownerOf(as));
      script = podmanWrapper(base, as);
      const tar = join(base, "bb.tar");
      const t = Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]);
      expect(t.exitCode).toBe(0);
      chownTree(base, ownerOf(as));
      const imp = await pm(["import", tar, "localhost/bb:latest"]);
      expect(imp.code, imp.stderr).toBe(0);
    });

    afterAll(async () => {
      await endPodman(as, script, base);
      removeTree(base);
    });

    test("run --rm echo: output and exit status 0", async () => {
      const r = await pm(["run", "--rm", "localhost/bb:latest", "echo", "hi from podman"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("hi from podman\n");
      expect(r.code).toBe(0);
    });

    test("a failing command's exit status comes back", async () => {
      expect((await pm(["run", "--rm", "localhost/bb:latest", "sh", "-c", "exit 3"])).code).toBe(3);
    });

    test("-u 1000: the process runs as that user", async () => {
      const r = await pm(["run", "--rm", "-u", "1000", "localhost/bb:latest", "id", "-u"]);
      expect(r).toMatchObject({ code: 0, stdout: "1000\n", stderr: "" });
    });

    test("run -d, exec, logs, stop, rm", async () => {
      const run = await pm(["run", "-d", "--name", "d1", "localhost/bb:latest", "sh", "-c", "echo logged; trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
      expect(run.code, run.stderr).toBe(0);
      const ex = await pm(["exec", "d1", "sh", "-c", "echo exec $$; cat /proc/1/cmdline | tr '\\0' ' '"]);
      expect(ex.stdout).toMatch(/^exec \d+\nsh -c echo logged/);
      expect(ex.code).toBe(0);
      expect((await pm(["exec", "d1", "sh", "-c", "exit 4"])).code).toBe(4);
      const logs = await pm(["logs", "d1"]);
      expect(logs.stdout).toBe("logged\n");
      const stop = await pm(["stop", "-t", "5", "d1"]);
      expect(stop.code, stop.stderr).toBe(0);
      const inspect = await pm(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "d1"]);
      expect(inspect.stdout.trim()).toBe("exited 0");
      expect((await pm(["rm", "d1"])).code).toBe(0);
      expect((await pm(["ps", "-aq"])).stdout).toBe("");
    });

    test("a named volume (podman volume create) is shared by two runs", async () => {
      expect((await pm(["volume", "create", "vol1"])).code).toBe(0);
      expect((await pm(["run", "--rm", "-v", "vol1:/data", "localhost/bb:latest", "sh", "-c", "echo kept > /data/f"])).code).toBe(0);
      expect(await pm(["run", "--rm", "-v", "vol1:/data:ro", "localhost/bb:latest", "cat", "/data/f"])).toMatchObject({ code: 0, stdout: "kept\n" });
      expect((await pm(["volume", "rm", "vol1"])).code).toBe(0);
    });

    rootless("bunker load -i of podman's docker-dir (the dir transport), then bunker runs it", async () => {
      const dir = join(base, "docker-dir");
      const sv = await pm(["save", "--format", "docker-dir", "-o", dir, "localhost/bb:latest"]);
      expect(sv.code, sv.stderr).toBe(0);
      const store = join(base, "bunker-store");
      const b = (args: string[]) => runAs(as, asUserArgv(as, [bunkerBinary(), "--data-root", store, ...args]), { cwd: base });
      const ld = await b(["load", "-i", dir]);
      expect(ld.stderr).toBe("");
      const id = /^Loaded image ID: sha256:([0-9a-f]{64})$/m.exec(ld.stdout)?.[1];
      expect(id).toBeDefined();
      const r = await b(["run", "--rm", id!.slice(0, 12), "echo", "from the docker-dir"]);
      expect(r).toMatchObject({ code: 0, stdout: "from the docker-dir\n", stderr: "" });
    });

    rootless("--cgroups=disabled", async () => {
      const r = await pm(["run", "--rm", "--cgroups=disabled", "localhost/bb:latest", "sh", "-c", "echo $(id -u) $$"]);
      expect(r.stdout).toBe("0 1\n");
      expect(r.code).toBe(0);
    });

    test("-it: a pty through conmon's console socket", async () => {
      const r = await runInPty(as, [script, "run", "--rm", "-it", "localhost/bb:latest", "sh", "-c", "tty; exit 5"], { cwd: base, timeoutMs: 60_000 });
      expect(r.stdout.replace(/\r/g, "")).toContain("/dev/pts/0\n");
      expect(r.code).toBe(5);
    });

    // podman makes the network namespace itself (slirp4netns) and names it in config.json: bunker joins it
    rootless("-p 127.0.0.1:PORT:80: a server in the container answers on the host's 127.0.0.1", async () => {
      const port = freePort();
      const run = await pm(["run", "-d", "--name", "web", "-p", `127.0.0.1:${port}:80`, "localhost/bb:latest", "sh", "-c", "mkdir /www; echo served > /www/index.html; exec httpd -f -p 80 -h /www"]);
      expect(run.code, run.stderr).toBe(0);
      try {
        let body = "";
        for (let i = 0; i < 50 && body === ""; i++) {
          body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => "");
          if (body === "") await Bun.sleep(100);
        }
        expect(body).toBe("served\n");
      } finally {
        expect((await pm(["rm", "-f", "-t", "0", "web"])).code).toBe(0);
      }
    });

    rootless("a pod of two containers: one reaches the other's server on localhost", async () => {
      expect((await pm(["pod", "create", "--name", "p1"])).code).toBe(0);
      try {
        const srv = await pm(["run", "-d", "--pod", "p1", "--name", "srv", "localhost/bb:latest", "sh", "-c", "mkdir /www; echo from-pod > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www"]);
        expect(srv.code, srv.stderr).toBe(0);
        const cl = await pm(["run", "--rm", "--pod", "p1", "localhost/bb:latest", "sh", "-c", "for i in $(seq 50); do wget -qO- http://127.0.0.1:8080/ && exit; sleep 0.1; done; exit 1"]);
        expect(cl).toMatchObject({ code: 0, stdout: "from-pod\n" });
        expect((await pm(["pod", "ps", "--format", "{{.Name}} {{.Status}} {{.NumberOfContainers}}"])).stdout).toBe("p1 Running 2\n");
      } finally {
        expect((await pm(["pod", "rm", "-f", "-t", "0", "p1"])).code).toBe(0);
      }
    });

    test("no cgroup was created on the host", () => {
      expect(cgroupDirs()).toEqual(cgroupsBefore);
    });
  });
}
