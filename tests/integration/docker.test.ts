// dockerd (Debian's docker.io, with its own containerd and the runc v2 shim),
// the docker CLI and docker-compose driving dist/bunker as a docker runtime
// (daemon.json "runtimes", `docker run --runtime bunker`, compose's
// `runtime: bunker`).  Root only: dockerd runs as root here (rootless
// dockerd, through rootlesskit, would see the host's cgroup v1 mounts, which
// the discipline below keeps out of every client's sight).
//
// Cgroups: this host has cgroup v1 hierarchies (hybrid) that the tests must
// never write to.  As in containerd.test.ts, the daemon starts in a private
// mount namespace in which /sys/fs/cgroup is unmounted, and the start script
// refuses to go on if any cgroup mount is still visible.  dockerd refuses to
// start without a devices cgroup ("Devices cgroup isn't mounted") unless it
// runs in a user namespace, so it runs in one that maps ids 0-65535 onto the
// host's same ids (root stays root, its files stay root's), with its own
// mount, pid and network namespaces: `--network host` is that private network
// namespace (only lo), and when the daemon (pid 1 there, under docker-init)
// ends, the kernel ends every process left in its pid namespace.  runc cannot
// run a container in these conditions ("no cgroup mount found in
// mountinfo"), so every container that runs here is bunker's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunkerBinary, isRoot, makeTempDir, removeTree, runAs, runInPty, type RunResult } from "../lib/index.ts";
import { busyboxArchive } from "../lib/image-builder.ts";
import { cgroupDirs, noCgroupsPreamble } from "../lib/cgroup-guard.ts";

// Debian's CLI (20.10, as the daemon), not another docker on PATH
const DOCKER = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
const missing = ["dockerd", DOCKER, "docker-init", "containerd", "containerd-shim-runc-v2", "unshare", "nsenter"].filter((b) => Bun.which(b) === null);
const skipReason = !isRoot()
  ? "not root (dockerd runs as root)"
  : missing.length
    ? `not installed: ${missing.join(", ")} (apt-get install -y docker.io)`
    : undefined;
if (skipReason) console.log(`docker tests skipped: ${skipReason}`);
const d = skipReason ? describe.skip : describe;
const haveCompose = Bun.which("docker-compose") !== null;
if (!skipReason && !haveCompose) console.log("docker-compose tests skipped: not installed (apt-get install -y docker-compose)");

const IMAGE = "localhost/bunker-bb:latest";
const RT = ["--runtime", "bunker"];
const APPLETS = ["sh", "echo", "cat", "sleep", "id", "ls", "true", "tty", "stty", "ip", "hostname", "wget", "httpd", "nc", "tr", "grep", "mkdir", "touch"];

d("dockerd + docker CLI + docker-compose with bunker as a runtime (root only)", () => {
  let base: string, sock: string, cgroupsBefore: string[];
  let daemon: ReturnType<typeof Bun.spawn> | undefined;
  const env = () => ({ DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(base, "client") });
  const docker = (args: string[], timeoutMs = 60_000) => runAs("root", [DOCKER, ...args], { env: env(), timeoutMs });
  const daemonLog = () => readFileSync(join(base, "dockerd.log"), "utf8");
  /** the daemon's init (docker-init), the only child of the unshare we started */
  const daemonInit = () => {
    const pid = daemon!.pid;
    return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0]);
  };
  /** bunker's own view of a container, from inside the daemon's namespaces (dockerd 20.10 gives the runc v2 shim of every runtime the root <exec-root>/runtime-runc) */
  const bunkerState = async (id: string) => {
    const r = await runAs("root", ["nsenter", "-t", String(daemonInit()), "-U", "-m", "-p", "-n", "--preserve-credentials", bunkerBinary(), "--root", join(base, "exec/runtime-runc/moby"), "state", id]);
    return r.code === 0 ? JSON.parse(r.stdout) : { error: r.stderr };
  };
  /** a docker error with the daemon's log, when something failed */
  const why = (r: RunResult) => `${r.stderr}\n--- dockerd.log (tail) ---\n${daemonLog().split("\n").slice(-40).join("\n")}`;

  beforeAll(async () => {
    cgroupsBefore = cgroupDirs();
    base = makeTempDir("bunker-docker");
    sock = join(base, "docker.sock");
    mkdirSync(join(base, "client"));
    // what a user writes: the runtime's name and path
    writeFileSync(join(base, "daemon.json"), JSON.stringify({ runtimes: { bunker: { path: bunkerBinary() } } }, null, 2));
    const dockerd = [
      "dockerd", "--config-file", `${base}/daemon.json`, "--data-root", `${base}/data`, "--exec-root", `${base}/exec`,
      "--pidfile", `${base}/docker.pid`, "-H", `unix://${sock}`, "--iptables=false", "--ip6tables=false",
      "--bridge=none", "--ip-forward=false", "--ip-masq=false", "--debug",
    ].join(" ");
    const start = join(base, "start.sh");
    writeFileSync(
      start,
      noCgroupsPreamble("dockerd") +
        `# the user namespace's map is written from outside (the test, as root); wait for it, then lo up, /proc of the new pid namespace\n` +
        `exec unshare --user --mount --propagation private --pid --net --fork --kill-child sh -c '` +
        `while ! grep -q . /proc/self/uid_map; do sleep 0.02; done; ip link set lo up && mount -t proc proc /proc && exec docker-init -- ${dockerd}'\n`,
    );
    writeFileSync(join(base, "image.tar"), busyboxArchive(IMAGE, APPLETS));
    const log = Bun.file(join(base, "dockerd.log"));
    daemon = Bun.spawn(["unshare", "--mount", "--propagation", "private", "sh", start], { stdout: log, stderr: log, stdin: "ignore" });
    // the map: host ids 0-65535 as themselves (gid_map first: the script waits for uid_map)
    const ours = readlinkSync("/proc/self/ns/user");
    let mapped = false;
    for (let i = 0; i < 200 && !mapped && daemon.exitCode === null; i++) {
      await Bun.sleep(20);
      let ns = "";
      try {
        ns = readlinkSync(`/proc/${daemon.pid}/ns/user`);
      } catch {}
      if (ns && ns !== ours) {
        writeFileSync(`/proc/${daemon.pid}/gid_map`, "0 0 65536\n");
        writeFileSync(`/proc/${daemon.pid}/uid_map`, "0 0 65536\n");
        mapped = true;
      }
    }
    expect(mapped, `dockerd's user namespace did not appear:\n${daemonLog()}`).toBe(true);
    let up = false;
    for (let i = 0; i < 150 && !up && daemon.exitCode === null; i++) {
      await Bun.sleep(100);
      up = existsSync(sock) && (await docker(["version"], 5000)).code === 0;
    }
    expect(up, `dockerd did not come up:\n${daemonLog()}`).toBe(true);
    const load = await docker(["load", "-i", join(base, "image.tar")]);
    expect(load.code, why(load)).toBe(0);
  }, 60_000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      const ids = (await docker(["ps", "-aq"], 10_000)).stdout.split("\n").filter(Boolean);
      if (ids.length) await docker(["rm", "-f", ...ids], 30_000);
      // docker-init forwards SIGTERM to dockerd, which stops its containerd; the
      // pid namespace's end takes whatever is left; unshare (--kill-child) follows
      try {
        process.kill(daemonInit(), "SIGTERM");
      } catch {}
      const done = await Promise.race([daemon.exited.then(() => true), Bun.sleep(20_000).then(() => false)]);
      if (!done) {
        daemon.kill("SIGKILL");
        await daemon.exited;
      }
    }
    if (base) removeTree(base);
  }, 60_000);

  test("run --rm: output, exit status 0", async () => {
    const r = await docker(["run", "--rm", ...RT, IMAGE, "echo", "hi from docker"]);
    expect(r.code, why(r)).toBe(0);
    expect(r.stdout).toBe("hi from docker\n");
  });

  test("a failing command's exit status comes back; a missing one fails create (127, the container never started)", async () => {
    const r = await docker(["run", "--rm", ...RT, IMAGE, "sh", "-c", "echo failing >&2; exit 7"]);
    expect(r.stderr).toContain("failing\n");
    expect(r.code).toBe(7);
    // found missing at create, as runc does: the container never starts
    const nf = await docker(["run", "--name", "nf", ...RT, IMAGE, "no-such-command"]);
    expect(nf.stderr).toContain('OCI runtime create failed: exec "no-such-command": executable file not found in $PATH');
    expect(nf.code).toBe(127);
    expect((await docker(["inspect", "--format", "{{.State.Status}}", "nf"])).stdout).toBe("created\n");
    expect((await docker(["rm", "nf"])).code).toBe(0);
  });

  test("-u 1000: the process runs as that user, HOME from the image's passwd", async () => {
    const r = await docker(["run", "--rm", ...RT, "-u", "1000", IMAGE, "sh", "-c", "id; echo $HOME"]);
    expect(r.code, why(r)).toBe(0);
    expect(r.stdout).toBe("uid=1000(app) gid=1000(app) groups=1000(app)\n/home/app\n");
  });

  test("-it: a pty through the shim's console socket, typed input, window size, exit status", async () => {
    // the CLI sends the window size after the start (as with runc), so wait for it
    const script = 'tty; i=0; while [ $i -lt 50 ] && [ -z "$(stty size 2>/dev/null)" ]; do sleep 0.1; i=$((i+1)); done; echo size $(stty size); read l; echo got $l; exit 5';
    const r = await runInPty("root", [DOCKER, "-H", `unix://${sock}`, "run", "--rm", "-it", ...RT, IMAGE, "sh", "-c", script], {
      rows: 30,
      cols: 100,
      input: "typed\n",
      timeoutMs: 60_000,
    });
    const out = r.stdout.replace(/\r/g, "");
    expect(out).toContain("/dev/pts/0\n");
    expect(out).toContain("size 30 100\n");
    expect(out).toContain("got typed\n");
    expect(r.code).toBe(5);
  });

  test("exec -it: a pty of its own in a running container, typed input, exit status", async () => {
    const run = await docker(["run", "-d", "--name", "x1", ...RT, IMAGE, "sleep", "300"]);
    expect(run.code, why(run)).toBe(0);
    try {
      const r = await runInPty("root", [DOCKER, "-H", `unix://${sock}`, "exec", "-it", "x1", "sh", "-c", "tty; read l; echo got $l; exit 3"], { input: "typed\n", timeoutMs: 60_000 });
      const out = r.stdout.replace(/\r/g, "");
      expect(out).toMatch(/^\/dev\/pts\/\d+\n/m);
      expect(out).toContain("got typed\n");
      expect(r.code).toBe(3);
    } finally {
      await docker(["rm", "-f", "x1"]);
    }
  });

  test("run -d, logs, exec (root and -u 1000), stop, rm; bunker's state follows", async () => {
    const run = await docker(["run", "-d", "--name", "d1", ...RT, IMAGE, "sh", "-c", "echo logged; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done"]);
    expect(run.code, why(run)).toBe(0);
    const id = run.stdout.trim();
    const pid = Number((await docker(["inspect", "--format", "{{.State.Pid}}", "d1"])).stdout.trim());
    const st = await bunkerState(id);
    expect(st.status, st.error).toBe("running");
    expect(st.pid).toBe(pid);
    const ex = await docker(["exec", "d1", "sh", "-c", "echo exec $(id -u); cat /proc/1/cmdline | tr '\\0' ' '"]);
    expect(ex.stdout).toMatch(/^exec 0\nsh -c echo logged/);
    expect(ex.code).toBe(0);
    expect((await docker(["exec", "-u", "1000", "d1", "id", "-u"])).stdout).toBe("1000\n");
    expect((await docker(["exec", "d1", "sh", "-c", "exit 4"])).code).toBe(4);
    let logs = "";
    for (let i = 0; i < 50 && !logs; i++) {
      logs = (await docker(["logs", "d1"])).stdout;
      if (!logs) await Bun.sleep(100);
    }
    expect(logs).toBe("logged\n");
    const stop = await docker(["stop", "-t", "10", "d1"]);
    expect(stop.code, why(stop)).toBe(0);
    expect((await docker(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "d1"])).stdout.trim()).toBe("exited 0");
    expect((await docker(["logs", "d1"])).stdout).toBe("logged\nbye\n");
    expect((await docker(["rm", "d1"])).code).toBe(0);
    expect((await bunkerState(id)).error).toContain("does not exist");
    expect((await docker(["ps", "-aq"])).stdout).toBe("");
  });

  test("--network host shares the daemon's network (a server's port is reachable); --network none has only lo", async () => {
    const srv = await docker(["run", "-d", "--name", "web", ...RT, "--network", "host", IMAGE, "sh", "-c", "mkdir /www && echo served > /www/index.html && exec httpd -f -p 127.0.0.1:18080 -h /www"]);
    expect(srv.code, why(srv)).toBe(0);
    const get = await docker(["run", "--rm", ...RT, "--network", "host", IMAGE, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:18080/ && exit 0; sleep 0.2; done; exit 1"]);
    expect(get.stdout).toBe("served\n");
    expect(get.code).toBe(0);
    const none = await docker(["run", "--rm", ...RT, "--network", "none", IMAGE, "sh", "-c", "ls /sys/class/net | tr '\\n' ' '; wget -q -T 2 -O - http://127.0.0.1:18080/ || echo unreachable"]);
    expect(none.stdout).toBe("lo unreachable\n");
    expect(none.code).toBe(0);
    expect((await docker(["rm", "-f", "web"])).code).toBe(0);
  });

  test("-v HOST:CTR: a bind mount, read and written (and :ro refused for writes)", async () => {
    const vol = join(base, "vol");
    mkdirSync(vol);
    writeFileSync(join(vol, "in"), "from the host\n");
    const r = await docker(["run", "--rm", ...RT, "-v", `${vol}:/data`, IMAGE, "sh", "-c", "cat /data/in; echo from the container > /data/out"]);
    expect(r.code, why(r)).toBe(0);
    expect(r.stdout).toBe("from the host\n");
    expect(readFileSync(join(vol, "out"), "utf8")).toBe("from the container\n");
    const ro = await docker(["run", "--rm", ...RT, "-v", `${vol}:/data:ro`, IMAGE, "sh", "-c", "touch /data/x 2>/dev/null || echo read-only"]);
    expect(ro.stdout).toBe("read-only\n");
    expect(existsSync(join(vol, "x"))).toBe(false);
  });

  test("a named volume (docker volume create): written by one run, read by the next; docker volume rm", async () => {
    expect((await docker(["volume", "create", "bkvol"])).code).toBe(0);
    const w = await docker(["run", "--rm", ...RT, "-v", "bkvol:/data", IMAGE, "sh", "-c", "echo kept > /data/f"]);
    expect(w.code, why(w)).toBe(0);
    expect(await docker(["run", "--rm", ...RT, "-v", "bkvol:/data:ro", IMAGE, "cat", "/data/f"])).toMatchObject({ code: 0, stdout: "kept\n" });
    expect((await docker(["volume", "rm", "bkvol"])).code).toBe(0);
  });

  test("--device: the host's node in the container (bunker runs in the daemon's user namespace: bound, as runc does there)", async () => {
    const r = await docker(["run", "--rm", ...RT, "--device", "/dev/fuse", IMAGE, "ls", "-l", "/dev/fuse"]);
    expect(r.code, why(r)).toBe(0);
    expect(r.stdout).toMatch(/^c[-rw]{9} .* 10, +229 .*\/dev\/fuse\n/);
  });

  (haveCompose ? test : test.skip)("docker-compose: two services (host network, a shared named volume), up and down", async () => {
    const dir = join(base, "compose");
    mkdirSync(dir);
    // no bridge on this daemon: both services on the (daemon's private) host network
    writeFileSync(
      join(dir, "docker-compose.yml"),
      [
        `version: "2.4"`,
        `services:`,
        `  web:`,
        `    image: ${IMAGE}`,
        `    runtime: bunker`,
        `    init: true`,
        `    network_mode: host`,
        `    volumes: ["shared:/www"]`,
        `    command: ["sh", "-c", "echo from-web > /www/index.html && exec httpd -f -p 127.0.0.1:18081 -h /www"]`,
        `  client:`,
        `    image: ${IMAGE}`,
        `    runtime: bunker`,
        `    network_mode: host`,
        `    depends_on: [web]`,
        `    volumes: ["shared:/data"]`,
        `    command: ["sh", "-c", "i=0; while [ $$i -lt 50 ] && ! wget -q -O /data/fetched http://127.0.0.1:18081/; do sleep 0.2; i=$$((i+1)); done; echo client read $$(cat /data/index.html) fetched $$(cat /data/fetched)"]`,
        `volumes:`,
        `  shared: {}`,
        ``,
      ].join("\n"),
    );
    const compose = (args: string[]) => runAs("root", ["docker-compose", "-p", "bkr", ...args], { cwd: dir, env: env(), timeoutMs: 90_000 });
    try {
      const up = await compose(["up", "--no-color", "--exit-code-from", "client"]);
      expect(up.stdout, why(up)).toContain("client read from-web fetched from-web");
      expect(up.code).toBe(0);
      const rts = await docker(["inspect", "--format", "{{.HostConfig.Runtime}}", "bkr_web_1", "bkr_client_1"]);
      expect(rts.stdout).toBe("bunker\nbunker\n");
      expect((await docker(["volume", "ls", "-q"])).stdout).toContain("bkr_shared");
    } finally {
      const down = await compose(["down", "-v", "-t", "5"]);
      expect(down.code, why(down)).toBe(0);
    }
    expect((await docker(["ps", "-aq"])).stdout).toBe("");
    expect((await docker(["volume", "ls", "-q"])).stdout).not.toContain("bkr_shared");
  }, 120_000);

  test("no cgroup was created on the host", () => {
    expect(cgroupDirs()).toEqual(cgroupsBefore);
  });
});
