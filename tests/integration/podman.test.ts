// podman (Debian's, with conmon) driving dist/bunker as its OCI runtime,
// rootless, with a private storage/run root, an image imported offline from
// the busybox rootfs, and a containers.conf that names bunker.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { endPodman, podmanWrapper } from "../lib/podman.ts";
import { asUserArgv, bunkerBinary, chownTree, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs, runInPty } from "../lib/index.ts";

const havePodman = Bun.which("podman") !== null && Bun.which("conmon") !== null;
const d = isRoot() && havePodman ? describe : describe.skip;

d("podman with bunker as its runtime (rootless)", () => {
  const as = "user" as const;
  let base: string, script: string;
  const pm = (args: string[], stdin?: string) => runAs(as, asUserArgv(as, [script, ...args]), { cwd: base, stdin, timeoutMs: 60_000 });

  beforeAll(async () => {
    base = makeTempDir("bunker-podman", ownerOf(as));
    const rootfs = makeBusyboxRootfs(join(base, "rootfs"), ownerOf(as));
    script = podmanWrapper(base);
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

  test("bunker load -i of podman's docker-dir (the dir transport), then bunker runs it", async () => {
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

  test("a failing command's exit status comes back", async () => {
    expect((await pm(["run", "--rm", "localhost/bb:latest", "sh", "-c", "exit 3"])).code).toBe(3);
  });

  test("--cgroups=disabled", async () => {
    const r = await pm(["run", "--rm", "--cgroups=disabled", "localhost/bb:latest", "sh", "-c", "echo $(id -u) $$"]);
    expect(r.stdout).toBe("0 1\n");
    expect(r.code).toBe(0);
  });

  test("-it: a pty through conmon's console socket", async () => {
    const r = await runInPty(as, [script, "run", "--rm", "-it", "localhost/bb:latest", "sh", "-c", "tty; exit 5"], { cwd: base, timeoutMs: 60_000 });
    expect(r.stdout.replace(/\r/g, "")).toContain("/dev/pts/0\n");
    expect(r.code).toBe(5);
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
});
