// `bunker serve`: the Docker Engine API on a unix socket, driven by the real
// docker CLI on this machine (the docker 28 client negotiates down to 1.41)
// and by curl for the requests a CLI never sends.  Root and the unprivileged
// user, each with a private state root, data root and socket; every server
// the test starts is ended by its pid.
import { afterAll, describe, expect, test } from "bun:test";
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tarBytes } from "../../src/image/tarwriter.ts";
import { join } from "node:path";
import { PASSWORD, TestRegistry, USER } from "../registry/registry.ts";
import { bunkerAs, collect, makeTempDir, ownerOf, python3, removeTree, runAs, runInPty, spawnBunkerAs, USERS, type As, type PtyOptions } from "../lib/index.ts";
import { CURL, curlAt, DOCKER, dockerAt, serveBase, startServer, stopServer, writeBusyboxArchive, type Server } from "../lib/serve.ts";

if (!DOCKER || !CURL) console.log(`serve tests skipped: not installed: ${[!DOCKER && "docker", !CURL && "curl"].filter(Boolean).join(", ")}`);

const bases: string[] = [];
afterAll(() => bases.forEach(removeTree));

const IMAGE = "localhost/bb:latest";
/** a busybox image as `docker save` writes it, readable by both users */
const writeArchive = (base: string) => writeBusyboxArchive(base, IMAGE, ["sh", "echo", "true", "cat"]);
const haveRegistry = ["docker-registry", "skopeo"].every((t) => Bun.which(t));

const baseFor = (as: As) => serveBase(as, bases);
const docker = dockerAt;
const curl = curlAt;

/** the docker CLI on a new pty of ROWSxCOLS (tests/lib/pty.ts), the STEPS typed in turn */
const dockerPty = (as: As, s: Server, args: string[], steps: PtyOptions["steps"], size = { rows: 24, cols: 80 }) =>
  runInPty(as, [DOCKER!, ...args], { env: { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(s.sock, "..", "..", "client") }, ...size, steps, timeoutMs: 60_000 });


/** a server as AS with IMAGE loaded, for FN; then the server stopped and the containers NAMES removed */
async function withImageServer(as: As, names: string[], fn: (t: { s: Server; d: (...args: string[]) => ReturnType<typeof docker>; roots: string[] }) => Promise<void>): Promise<void> {
  const base = baseFor(as);
  const roots = ["--root", join(base, "state"), "--data-root", join(base, "data")];
  const s = await startServer(as, base);
  const d = (...args: string[]) => docker(as, s, base, args);
  try {
    expect((await d("load", "-i", writeArchive(base))).code).toBe(0);
    await fn({ s, d, roots });
  } finally {
    expect((await stopServer(s)).code).toBe(0);
    await bunkerAs(as, [...roots, "rm", "-f", ...names]);
  }
}

for (const as of USERS) {
  describe.skipIf(!DOCKER || !CURL)(`bunker serve (${as})`, () => {
    test("docker version and info negotiate 1.41; the socket is 0600 and the user's", async () => {
      const base = baseFor(as);
      const s = await startServer(as, base);
      try {
        expect(s.sock).toBe(join(base, "state", "bunker.sock"));
        const st = statSync(s.sock);
        expect(st.isSocket()).toBe(true);
        expect(st.mode & 0o777).toBe(0o600);
        expect(st.uid).toBe(ownerOf(as).uid);
        const v = await docker(as, s, base, ["version"]);
        expect(v.stderr).toBe("");
        expect(v.code).toBe(0);
        expect(v.stdout).toMatch(/API version:\s+1\.41 \(downgraded from 1\.\d+\)/);
        expect(v.stdout).toMatch(/Server: bunker\n Engine:\n  Version:\s+\d+\.\d+\.\d+\n  API version:\s+1\.41 \(minimum version 1\.24\)/);
        const i = await docker(as, s, base, ["info", "--format", "{{.ServerVersion}} {{.Containers}} {{.Images}} {{.DockerRootDir}} {{.SecurityOptions}}"]);
        expect(i.stderr).toBe("");
        expect(i.stdout.trim()).toBe(`0.1.0 0 0 ${join(base, "data")} [name=seccomp,profile=builtin${as === "user" ? " name=rootless" : ""} name=cgroupns]`);
      } finally {
        expect((await stopServer(s)).code).toBe(0);
      }
      expect(existsSync(s.sock)).toBe(false);
    }, 90_000);

    test("Docker's JSON errors: an old version prefix 400, an unknown path 404, a remote /build 400; HEAD /_ping", async () => {
      const base = baseFor(as);
      const s = await startServer(as, base);
      try {
        const old = await curl(as, s, ["http://d/v1.12/version"]);
        expect(old.status).toBe(400);
        expect(JSON.parse(old.body).message).toBe("client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version");
        const newer = await curl(as, s, ["http://d/v1.99/info"]);
        expect(newer.status).toBe(400);
        expect(JSON.parse(newer.body).message).toContain("too new");
        expect(await curl(as, s, ["http://d/v1.41/no/such/thing"])).toEqual({ status: 404, body: JSON.stringify({ message: "page not found" }) });
        const wrongMethod = await curl(as, s, ["-X", "DELETE", "http://d/version"]);
        expect(wrongMethod.status).toBe(405);
        const remote = await curl(as, s, ["-X", "POST", "http://d/v1.41/build?remote=https://example.com/x.git"]);
        expect(remote.status).toBe(400);
        expect(JSON.parse(remote.body).message).toContain("remote contexts");
        const head = await runAs(as, [CURL!, "-s", "-I", "--unix-socket", s.sock, "http://d/_ping"]);
        expect(head.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(head.stdout).toContain("Api-Version: 1.41\r\n");
        expect(await curl(as, s, ["http://d/v1.50/_ping"])).toEqual({ status: 200, body: "OK" });
      } finally {
        expect((await stopServer(s)).code).toBe(0);
      }
    }, 60_000);

    test("a live server's socket is refused, a dead one's stale socket is replaced; TCP only on loopback", async () => {
      const base = baseFor(as);
      const s = await startServer(as, base);
      const second = await collect(spawnBunkerAs(as, ["--root", join(base, "state"), "--data-root", join(base, "data"), "serve"]), 20_000);
      expect(second.code).toBe(125);
      expect(second.stderr).toBe(`bunker: serve: another server is listening on the socket: EADDRINUSE (Address already in use) [${s.sock}] — stop it first, or give another --host unix:///PATH\n`);
      // killed: its socket stays behind, and the next server takes its place
      process.kill(s.proc.pid, "SIGKILL");
      await s.proc.exited;
      expect(statSync(s.sock).isSocket()).toBe(true);
      const again = await startServer(as, base);
      expect(again.sock).toBe(s.sock);
      expect((await curl(as, again, ["http://d/_ping"])).body).toBe("OK");
      expect((await stopServer(again)).code).toBe(0);

      const far = await collect(spawnBunkerAs(as, ["serve", "--host", "tcp://0.0.0.0:2375"]), 20_000);
      expect(far.code).toBe(125);
      expect(far.stderr).toBe("bunker: serve: --host tcp://0.0.0.0:2375: only loopback addresses are served: EINVAL (Invalid argument) — the API is root-equivalent for your user: use tcp://127.0.0.1:PORT or a unix socket\n");
      const tcp = await startServer(as, base, ["--host", "tcp://127.0.0.1:0"]);
      try {
        expect(tcp.dockerHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
        const v = await docker(as, tcp, base, ["version", "--format", "{{.Server.APIVersion}}"]);
        expect(v.stdout.trim()).toBe("1.41");
      } finally {
        expect((await stopServer(tcp)).code).toBe(0);
      }
    }, 90_000);

    test("images: docker load, images, tag, inspect, history, save, rmi, image prune", async () => {
      const base = baseFor(as);
      const archive = writeArchive(base);
      const s = await startServer(as, base);
      const d = (...args: string[]) => docker(as, s, base, args);
      try {
        const l = await d("load", "-i", archive);
        expect(l.stderr).toBe("");
        expect(l.stdout).toBe(`Loaded image: ${IMAGE}\n`);
        expect((await d("tag", IMAGE, "copy:v1")).code).toBe(0);
        expect((await d("images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}")).stdout.split("\n").filter(Boolean).sort()).toEqual(["copy:v1 1.99MB", "localhost/bb:latest 1.99MB"].sort());
        const id = (await d("image", "inspect", "--format", "{{.Id}}", "copy:v1")).stdout.trim();
        expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
        const inspected = JSON.parse((await d("image", "inspect", IMAGE)).stdout)[0];
        expect(inspected.Config.Cmd).toEqual(["sh"]);
        expect(inspected.RepoTags.sort()).toEqual(["copy:v1", IMAGE].sort());
        expect((await d("history", "--format", "{{.ID}} {{.CreatedBy}}", IMAGE)).stdout).toBe(`${id.slice(7, 19)} bunker test image builder\n`);
        // saved and loaded again into a second server's empty store: the same image
        const saved = join(base, "saved.tar");
        expect((await d("save", "-o", saved, "copy:v1")).stderr).toBe("");
        const other = join(base, "other");
        const s2 = await startServer(as, other);
        try {
          expect((await docker(as, s2, base, ["load", "-i", saved])).stdout).toBe("Loaded image: copy:v1\n");
          expect((await docker(as, s2, base, ["images", "-q", "--no-trunc"])).stdout.trim()).toBe(id);
        } finally {
          expect((await stopServer(s2)).code).toBe(0);
        }
        const rmi = await d("rmi", "copy:v1");
        expect(rmi.stdout).toBe("Untagged: copy:v1\n");
        const missing = await d("rmi", "nosuch:1");
        expect(missing.code).toBe(1);
        expect(missing.stderr).toBe("Error response from daemon: no such image: nosuch:1 (looked for docker.io/library/nosuch:1, localhost/nosuch:1): ENOENT (No such file or directory) — pull it first: bunker pull nosuch:1\n");
        expect((await d("image", "prune", "-f")).stdout).toBe("Total reclaimed space: 0B\n");
        const all = await d("image", "prune", "-a", "-f");
        expect(all.stdout).toBe(`Deleted Images:\ndeleted: ${id}\n\nTotal reclaimed space: 1.99MB\n`);
        expect((await d("images", "-q")).stdout).toBe("");
        // a body that is no archive, filters that are no JSON: Docker's 400
        const bad = await curl(as, s, ["-X", "POST", "--data-binary", "not a tar", "http://d/v1.41/images/load"]);
        expect(bad.status).toBe(400);
        expect(JSON.parse(bad.body).message).toMatch(/^invalid tar archive/);
        expect(await curl(as, s, ["-X", "POST", "http://d/v1.41/images/prune?filters=%7Bx"])).toEqual({ status: 400, body: JSON.stringify({ message: "invalid filters: not JSON: {x" }) });
        expect((await curl(as, s, ["http://d/v1.41/images/nosuch/json"])).status).toBe(404);
      } finally {
        expect((await stopServer(s)).code).toBe(0);
      }
    }, 120_000);

    test.skipIf(!haveRegistry)("docker pull from a registry on 127.0.0.1 (plain HTTP, as Docker's 127.0.0.0/8), with its progress stream", async () => {
      const base = baseFor(as);
      const archive = writeArchive(base);
      const reg = new TestRegistry(join(base, "registry"), "none");
      await reg.start([[`docker-archive:${archive}`, "test/bb:1"]]);
      const s = await startServer(as, base);
      try {
        const p = await docker(as, s, base, ["pull", `${reg.host}/test/bb:1`]);
        expect(p.stderr).toBe("");
        expect(p.code).toBe(0);
        expect(p.stdout).toContain("Pull complete");
        expect(p.stdout).toContain(`Status: Downloaded newer image for ${reg.host}/test/bb:1\n`);
        expect(p.stdout).toContain(`Digest: ${reg.digestOf("test/bb", "1")}`);
        const again = await docker(as, s, base, ["pull", "-q", `${reg.host}/test/bb:1`]);
        expect(again.stdout).toBe(`${reg.host}/test/bb:1\n`);
        const none = await docker(as, s, base, ["pull", `${reg.host}/test/nosuch:1`]);
        expect(none.code).toBe(1);
        expect(none.stderr).toMatch(/manifest|not found|unknown/i);
      } finally {
        expect((await stopServer(s)).code).toBe(0);
        reg.stop();
        await reg.proc?.exited;
      }
    }, 120_000);

    test.skipIf(!haveRegistry)("docker push to a registry on 127.0.0.1 with Basic auth: the progress stream, the digest skopeo sees, a second push finds every layer, refused credentials", async () => {
      const base = baseFor(as);
      const archive = writeArchive(base);
      const reg = new TestRegistry(join(base, "registry"), "basic");
      await reg.start();
      const s = await startServer(as, base);
      const auth = (password: string) => writeFileSync(join(base, "client/config.json"), JSON.stringify({ auths: { [reg.host]: { auth: btoa(`${USER}:${password}`) } } }), { mode: 0o644 });
      try {
        await runAs(as, ["mkdir", "-p", join(base, "client")]);
        expect((await docker(as, s, base, ["load", "-i", archive])).code).toBe(0);
        const ref = `${reg.host}/test/bb:pushed`;
        expect((await docker(as, s, base, ["tag", IMAGE, ref])).code).toBe(0);
        auth(PASSWORD);
        const p = await docker(as, s, base, ["push", ref]);
        expect(p.stderr).toBe("");
        expect(p.code).toBe(0);
        expect(p.stdout).toContain(`The push refers to repository [${reg.host}/test/bb]`);
        expect(p.stdout).toContain(": Pushed\n");
        const digest = /^pushed: digest: (sha256:[a-f0-9]{64}) size: \d+$/m.exec(p.stdout)?.[1];
        expect(digest).toBe(reg.digestOf("test/bb", "pushed"));
        const seen = await runAs("root", ["skopeo", "inspect", "--tls-verify=false", "--creds", `${USER}:${PASSWORD}`, `docker://${ref}`]);
        expect(JSON.parse(seen.stdout).Digest).toBe(digest);
        const again = await docker(as, s, base, ["push", ref]);
        expect(again.code).toBe(0);
        expect(again.stdout).toContain(": Layer already exists\n");
        expect(again.stdout).not.toContain(": Pushed\n");
        auth("wrong");
        const denied = await docker(as, s, base, ["push", ref]);
        expect(denied.code).toBe(1);
        expect(denied.stderr).toContain("denied access: the credentials were refused: UNAUTHORIZED: authentication required (HTTP 401)");
        const missing = await docker(as, s, base, ["push", `${reg.host}/test/none:1`]);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain("no such image");
      } finally {
        expect((await stopServer(s)).code).toBe(0);
        reg.stop();
        await reg.proc?.exited;
      }
    }, 120_000);

    test("containers the CLI ran: docker ps (filters), logs, inspect, top, stats, kill, stop, rm; they outlive a server restart", async () => {
      const base = baseFor(as);
      const archive = writeArchive(base);
      const roots = ["--root", join(base, "state"), "--data-root", join(base, "data")];
      let s = await startServer(as, base);
      const d = (...args: string[]) => docker(as, s, base, args);
      try {
        expect((await d("load", "-i", archive)).code).toBe(0);
        const web = await bunkerAs(as, [...roots, "run", "-d", "--name", "web", "--network", "none", IMAGE, "sh", "-c", "echo hello; echo two; exec sleep 100"]);
        expect(web.stderr).toBe("");
        const done = await bunkerAs(as, [...roots, "run", "-d", "--name", "done1", "--network", "none", IMAGE, "sh", "-c", "echo bye; exit 3"]);
        expect(done.code).toBe(0);
        for (let i = 0; i < 100 && !(await d("ps", "-a", "--format", "{{.Names}} {{.State}}")).stdout.includes("done1 exited"); i++) await Bun.sleep(100);
        expect((await d("ps", "--format", "{{.Names}} {{.State}} {{.Image}}")).stdout).toBe(`web running ${IMAGE}\n`);
        expect((await d("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}")).stdout).toMatch(/^done1 Exited \(3\) .* ago\n$/);
        expect((await d("ps", "-a", "-q", "--filter", "name=^/we")).stdout).toBe("web\n");
        expect((await d("ps", "-a", "-q", "--filter", "label=x=y")).stdout).toBe("");
        for (let i = 0; i < 100 && (await d("logs", "web")).stdout !== "hello\ntwo\n"; i++) await Bun.sleep(100);
        expect(await d("logs", "web")).toEqual({ code: 0, stdout: "hello\ntwo\n", stderr: "" });
        expect((await d("logs", "--tail", "1", "web")).stdout).toBe("two\n");
        expect((await d("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}} {{json .Config.Cmd}}", "done1", "web")).stdout).toBe(
          'exited 3 false ["sh","-c","echo bye; exit 3"]\nrunning 0 true ["sh","-c","echo hello; echo two; exec sleep 100"]\n',
        );
        const top = await d("top", "web");
        expect(top.code).toBe(0);
        expect(top.stdout.split("\n")[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
        expect(top.stdout).toMatch(/ sleep 100\n/);
        expect((await d("top", "web", "-o", "pid")).code).toBe(0);
        // no cgroup on this host (hybrid: bunker makes none): the freezer is not there, and the error says so
        const paused = await d("pause", "web");
        expect(paused.code).toBe(1);
        expect(paused.stderr).toMatch(/^Error response from daemon: pause: container "web" has no cgroup: EOPNOTSUPP/);
        // no cgroup: Docker's zeros and a note saying why, never the host's numbers
        const st = await d("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", "web");
        expect(st).toEqual({ code: 0, stdout: "web 0.00% 0B / 0B 0\n", stderr: "" });
        const one = JSON.parse((await curl(as, s, ["http://d/v1.41/containers/web/stats?stream=false&one-shot=true"])).body);
        expect(one).toMatchObject({ id: "web", name: "/web", memory_stats: {}, pids_stats: { current: 0 }, cpu_stats: { cpu_usage: { total_usage: 0 } } });
        expect(one.BunkerNote).toMatch(/^stats: container "web" has no cgroup: EOPNOTSUPP/);
        const busy = await d("rm", "web");
        expect(busy.code).toBe(1);
        expect(busy.stderr).toBe("Error response from daemon: cannot remove container web: it is running: stop it first, or force the removal\n");
        expect(await curl(as, s, ["http://d/v1.41/containers/nosuch/json"])).toEqual({ status: 404, body: JSON.stringify({ message: "No such container: nosuch" }) });
        expect((await curl(as, s, ["-X", "POST", "http://d/v1.41/containers/done1/kill"])).status).toBe(409);
        expect((await curl(as, s, ["http://d/v1.41/containers/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D"])).status).toBe(400);

        // the server stops; the container does not, and the next server sees it
        expect((await stopServer(s)).code).toBe(0);
        const pid = Number(JSON.parse((await bunkerAs(as, [...roots, "state", "web"])).stdout).pid);
        expect(pid).toBeGreaterThan(0);
        expect(existsSync(`/proc/${pid}`)).toBe(true);
        s = await startServer(as, base);
        expect((await d("ps", "-q")).stdout).toBe("web\n");
        expect((await d("stop", "-t", "5", "web")).stdout).toBe("web\n");
        expect((await d("ps", "-a", "--filter", "name=web", "--format", "{{.State}}")).stdout).toBe("exited\n");
        expect((await d("rm", "web")).stdout).toBe("web\n");
        expect((await d("container", "prune", "-f")).stdout).toBe("Deleted Containers:\ndone1\n\nTotal reclaimed space: 0B\n");
        expect((await d("ps", "-a", "-q")).stdout).toBe("");
      } finally {
        expect((await stopServer(s)).code).toBe(0);
        await bunkerAs(as, [...roots, "rm", "-f", "web", "done1"]);
      }
    }, 120_000);

    test("docker run -d, create + start, wait, restart; a stop does not hold other requests; create's unsupported fields are 400s", async () => {
      await withImageServer(as, ["bg", "job", "stubborn"], async ({ s, d, roots }) => {
        const run = await d("run", "-d", "--name", "bg", "--network", "none", "-e", "X=y", IMAGE, "sh", "-c", "echo up $X; exec sleep 100");
        expect(run).toEqual({ code: 0, stdout: "bg\n", stderr: "" });
        expect((await d("ps", "--format", "{{.Names}} {{.State}}")).stdout).toBe("bg running\n");
        for (let i = 0; i < 100 && (await d("logs", "bg")).stdout !== "up y\n"; i++) await Bun.sleep(50);
        expect((await d("logs", "bg")).stdout).toBe("up y\n");

        // create: nothing runs until start; wait gives the exit code; start again runs it again
        expect(await d("create", "--name", "job", "--network", "none", IMAGE, "sh", "-c", "echo ran; exit 5")).toEqual({ code: 0, stdout: "job\n", stderr: "" });
        expect((await d("ps", "-a", "--filter", "name=job", "--format", "{{.State}}")).stdout).toBe("created\n");
        expect((await d("logs", "job")).stdout).toBe("");
        expect((await d("start", "job")).stdout).toBe("job\n");
        expect(await d("wait", "job")).toEqual({ code: 0, stdout: "5\n", stderr: "" });
        expect((await d("logs", "job")).stdout).toBe("ran\n");
        expect((await d("start", "job")).code).toBe(0);
        expect((await d("wait", "job")).stdout).toBe("5\n");
        expect((await d("logs", "job")).stdout).toBe("ran\nran\n");
        expect((await curl(as, s, ["-X", "POST", "http://d/v1.41/containers/job/wait?condition=bogus"])).status).toBe(400);

        // a container that ignores SIGTERM: its stop waits t seconds, and the server answers meanwhile
        expect((await d("run", "-d", "--name", "stubborn", "--network", "none", IMAGE, "sh", "-c", "trap '' TERM; while :; do sleep 1; done")).code).toBe(0);
        await Bun.sleep(300); // the trap is set
        const t0 = Date.now();
        const stopping = d("stop", "-t", "3", "stubborn");
        await Bun.sleep(300);
        const ps = await d("ps", "-q");
        const psMs = Date.now() - t0;
        expect(ps.stdout.split("\n")).toContain("stubborn");
        expect(psMs).toBeLessThan(2500);
        expect((await stopping).stdout).toBe("stubborn\n");
        expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
        expect((await d("inspect", "--format", "{{.State.Status}}", "stubborn")).stdout).toBe("exited\n");

        // restart: a new process of the same container
        const pid1 = JSON.parse((await bunkerAs(as, [...roots, "state", "bg"])).stdout).pid as number;
        expect((await d("restart", "-t", "1", "bg")).stdout).toBe("bg\n");
        const pid2 = JSON.parse((await bunkerAs(as, [...roots, "state", "bg"])).stdout).pid as number;
        expect(pid2).not.toBe(pid1);
        // the server reaps the containers it made (no zombie stays behind)
        for (let i = 0; i < 60 && existsSync(`/proc/${pid1}`); i++) await Bun.sleep(50);
        expect(existsSync(`/proc/${pid1}`)).toBe(false);
        expect((await d("ps", "--format", "{{.Names}} {{.State}}")).stdout).toBe("bg running\n");
        for (let i = 0; i < 100 && (await d("logs", "bg")).stdout !== "up y\nup y\n"; i++) await Bun.sleep(50);
        expect((await d("logs", "bg")).stdout).toBe("up y\nup y\n");

        // what bunker cannot do yet is a 400 naming the field, and nothing is made
        const mem = await d("create", "--name", "big", "--memory-reservation", "64m", IMAGE, "true");
        expect(mem.code).not.toBe(0);
        expect(mem.stderr).toMatch(/HostConfig\.MemoryReservation is not supported by bunker serve yet/);
        // a restart policy is kept (tests/integration/restart.test.ts, serve-more.test.ts)
        expect((await d("create", "--name", "rs", "--restart", "on-failure:4", IMAGE, "true")).code).toBe(0);
        expect((await d("inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "rs")).stdout).toBe("on-failure:4\n");
        expect((await d("rm", "rs")).code).toBe(0);
        expect(await curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Image":"nosuch/image"}', "http://d/v1.41/containers/create"])).toMatchObject({ status: 404 });
        expect((await d("ps", "-a", "--format", "{{.Names}}")).stdout.split("\n").sort()).toEqual(["", "bg", "job", "stubborn"]);
      });
    }, 120_000);

    test("docker run in the foreground: attach's hijacked stream carries the output, the exit code is the container's; --rm removes it", async () => {
      await withImageServer(as, ["three", "later"], async ({ s, d }) => {
        expect(await d("run", "--rm", "--network", "none", IMAGE, "echo", "hi")).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
        expect((await d("ps", "-a", "-q")).stdout).toBe("");
        // stdout and stderr are streams of their own (frames of type 1 and 2)
        expect(await d("run", "--name", "three", "--network", "none", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3")).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
        expect((await d("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "three")).stdout).toBe("exited 3\n");
        // start -a of a stopped one: attached before the start makes it again, it gets that run's output and status
        expect(await d("start", "-a", "three")).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
        // more output than one read, all of it, in frames
        const many = await d("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done");
        expect(many.code).toBe(0);
        expect(many.stdout.split("\n").length).toBe(3001);
        expect(many.stdout.endsWith("line 2999\n")).toBe(true);
        // docker attach to a running container: what it writes from then on, until it exits
        expect((await d("run", "-d", "--name", "later", "--network", "none", IMAGE, "sh", "-c", "echo before; sleep 1; echo after; exit 4")).code).toBe(0);
        await Bun.sleep(300);
        expect(await d("attach", "later")).toEqual({ code: 4, stdout: "after\n", stderr: "" });
        const missing = await curl(as, s, ["-X", "POST", "-H", "Upgrade: tcp", "-H", "Connection: Upgrade", "http://d/v1.41/containers/nosuch/attach?stream=1&stdout=1"]);
        expect(missing).toEqual({ status: 404, body: JSON.stringify({ message: "No such container: nosuch" }) });
        // an ordinary request that names attach without Upgrade: tcp is not hijacked: the routes answer it
        expect((await curl(as, s, ["-X", "POST", "http://d/v1.41/containers/three/attach?stream=1&stdout=1"])).status).toBe(400);
      });
    }, 120_000);

    test("docker exec: output and exit codes, stderr apart, -i with stdin, -d, a command not found (126), -it under a pty with its size; exec inspect", async () => {
      await withImageServer(as, ["ex"], async ({ s, d }) => {
        expect((await d("run", "-d", "--name", "ex", "--network", "none", IMAGE, "sh", "-c", "exec sleep 100")).code).toBe(0);
        expect(await d("exec", "ex", "echo", "hi")).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
        expect(await d("exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 7")).toEqual({ code: 7, stdout: "out\n", stderr: "err\n" });
        expect(await d("exec", "-e", "X=from-env", "-w", "/tmp", "ex", "sh", "-c", "echo $X $(pwd)")).toEqual({ code: 0, stdout: "from-env /tmp\n", stderr: "" });
        const piped = await runAs(as, ["sh", "-c", `printf 'line1\\nline2\\n' | ${DOCKER} exec -i ex cat`], { env: { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(s.sock, "..", "..", "client") } });
        expect(piped).toEqual({ code: 0, stdout: "line1\nline2\n", stderr: "" });
        // -u: names and groups through the container's own /etc/passwd and /etc/group (root's image container
        // has the one-id map: only root is mapped there; rootless, the image's users are)
        expect(await d("exec", "-u", "root", "ex", "sh", "-c", "id -u; echo $HOME")).toEqual({ code: 0, stdout: "0\n/root\n", stderr: "" });
        if (as === "user") {
          expect(await d("exec", "-u", "app", "ex", "sh", "-c", "id; echo $HOME")).toEqual({ code: 0, stdout: "uid=1000(app) gid=1000(app)\n/home/app\n", stderr: "" });
          expect(await d("exec", "-u", "app:root", "ex", "sh", "-c", "id -u; id -g")).toEqual({ code: 0, stdout: "1000\n0\n", stderr: "" });
        }
        const noUser = await d("exec", "-u", "nosuch", "ex", "true");
        expect(noUser.code).toBe(126);
        expect(noUser.stdout).toContain("unable to find user nosuch: no matching entries in passwd file");
        const missing = await d("exec", "ex", "nosuch");
        expect(missing.code).toBe(126);
        expect(missing.stdout).toContain('exec "nosuch": executable file not found in $PATH: ENOENT');
        // -d: answered at once, the process runs on in the container
        expect(await d("exec", "-d", "ex", "sh", "-c", "sleep 1; echo late > /tmp/late")).toEqual({ code: 0, stdout: "", stderr: "" });
        for (let i = 0; i < 60 && (await d("exec", "ex", "cat", "/tmp/late")).stdout !== "late\n"; i++) await Bun.sleep(100);
        expect((await d("exec", "ex", "cat", "/tmp/late")).stdout).toBe("late\n");
        // a terminal: typed input, its size from the client's window, then resized (POST /exec/ID/resize)
        const tty = await dockerPty(as, s, ["exec", "-it", "ex", "sh"], [
          { after: "# ", type: "stty size; tty\n" },
          { after: "/dev/pts/", type: "stty size\n", size: { rows: 33, cols: 111 } },
          { after: "33 111", type: "exit 5\n" },
        ], { rows: 30, cols: 100 });
        expect(tty.code, tty.stdout + tty.stderr).toBe(5);
        expect(tty.stdout).toMatch(/30 100\r\n\/dev\/pts\/\d+\r\n/);
        expect(tty.stdout).toContain("33 111\r\n");
        // Docker's exec inspect; a stopped container takes no exec; an unknown exec is a 404
        const made = await curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Cmd":["true"]}', "http://d/v1.41/containers/ex/exec"]);
        expect(made.status).toBe(201);
        const execId = JSON.parse(made.body).Id as string;
        expect(JSON.parse((await curl(as, s, [`http://d/v1.41/exec/${execId}/json`])).body)).toMatchObject({ ID: execId, Running: false, ExitCode: null, ContainerID: "ex", Pid: 0 });
        expect((await curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Detach":true}', `http://d/v1.41/exec/${execId}/start`])).status).toBe(200);
        for (let i = 0; i < 50 && JSON.parse((await curl(as, s, [`http://d/v1.41/exec/${execId}/json`])).body).Running; i++) await Bun.sleep(50);
        const ran = JSON.parse((await curl(as, s, [`http://d/v1.41/exec/${execId}/json`])).body);
        expect([ran.Running, ran.ExitCode, ran.Pid > 0]).toEqual([false, 0, true]);
        expect((await curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Detach":true}', `http://d/v1.41/exec/${execId}/start`])).status).toBe(409);
        expect(await curl(as, s, ["http://d/v1.41/exec/nosuch/json"])).toEqual({ status: 404, body: JSON.stringify({ message: "No such exec instance: nosuch" }) });
        expect((await curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Cmd":[]}', "http://d/v1.41/containers/ex/exec"])).status).toBe(400);
        expect((await d("stop", "-t", "0", "ex")).code).toBe(0);
        const stopped = await d("exec", "ex", "true");
        expect([stopped.code, stopped.stderr]).toEqual([1, "Error response from daemon: Container ex is not running\n"]);
      });
    }, 120_000);

    test("docker run -it under a pty (typed, read, resized), run -i with stdin piped, attach to a running -it one and ctrl-p ctrl-q", async () => {
      await withImageServer(as, ["sh1", "cat1"], async ({ s, d }) => {
        const env = { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(s.sock, "..", "..", "client") };
        const t0 = Date.now();
        const it = await dockerPty(as, s, ["run", "-it", "--rm", "--network", "none", IMAGE, "sh"], [
          { after: "# ", type: "stty size; echo $((6*7))\n" },
          { after: "42", type: "stty size\n", size: { rows: 40, cols: 120 } },
          { after: "40 120", type: "exit 5\n" },
        ], { rows: 30, cols: 100 });
        const itMs = Date.now() - t0;
        expect(it.code, it.stdout + it.stderr).toBe(5);
        expect(it.stdout).toContain("30 100\r\n42\r\n");
        expect(it.stdout).toContain("40 120\r\n");
        console.log(`docker run -it --rm (${as}): ${itMs} ms from start to exit, three commands typed`);
        expect((await d("ps", "-a", "-q")).stdout).toBe("");
        const piped = await runAs(as, ["sh", "-c", `printf 'one\\ntwo\\n' | ${DOCKER} run -i --rm --network none ${IMAGE} sh -c 'cat; echo done >&2'`], { env });
        expect(piped).toEqual({ code: 0, stdout: "one\ntwo\n", stderr: "done\n" });
        // and a stopped -i one started again with its stdin attached (start -ai)
        expect((await runAs(as, ["sh", "-c", `echo first | ${DOCKER} run -i --name cat1 --network none ${IMAGE} cat`], { env })).stdout).toBe("first\n");
        expect(await runAs(as, ["sh", "-c", `echo again | ${DOCKER} start -ai cat1`], { env, timeoutMs: 30_000 })).toEqual({ code: 0, stdout: "again\n", stderr: "" });
        expect((await d("rm", "cat1")).code).toBe(0);
        // a running -it container: attached, typed to, detached with ctrl-p ctrl-q; it runs on
        expect((await d("run", "-dit", "--name", "sh1", "--network", "none", IMAGE, "sh")).code).toBe(0);
        const at = await dockerPty(as, s, ["attach", "sh1"], [
          { after: "", type: "\n" },
          { after: "# ", type: "echo attached-$((1+1))\n" },
          { after: "attached-2", type: "\u0010\u0011" },
        ]);
        expect(at.stdout).toContain("attached-2\r\n");
        expect(at.stdout).toContain("read escape sequence");
        expect(at.code).toBe(1); // docker's client: the escape is its error, status 1 (bunker attach does the same)
        expect((await d("ps", "--format", "{{.Names}} {{.State}}")).stdout).toBe("sh1 running\n");
        expect((await d("logs", "sh1")).stdout).toContain("attached-2\r\n");
        // the server's own escape proxy (clients other than the docker CLI): detachKeys=ctrl-x,x ends the attach
        const raw = `import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"POST /v1.41/containers/sh1/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x HTTP/1.1\\r\\nHost: d\\r\\nConnection: Upgrade\\r\\nUpgrade: tcp\\r\\n\\r\\n")
got = b""; s.settimeout(10)
s.sendall(b"echo raw-$((2+3))\\n")
while b"raw-5\\r\\n" not in got: got += s.recv(4096)
s.sendall(b"\\x18x")
while True:
    d = s.recv(4096)
    if not d: break
    got += d
print("detached" if b"101 UPGRADED" in got else got)`;
        expect((await runAs(as, [python3(), "-c", raw, s.sock], { timeoutMs: 20_000 })).stdout).toBe("detached\n");
        expect((await d("ps", "--format", "{{.Names}} {{.State}}")).stdout).toBe("sh1 running\n");
        // resize of a container without a terminal is refused; of one that has one, done by its log writer
        expect((await curl(as, s, ["-X", "POST", "http://d/v1.41/containers/sh1/resize?h=20&w=70"])).status).toBe(200);
        expect((await d("exec", "sh1", "sh", "-c", "stty -F /dev/pts/0 size")).stdout).toBe("20 70\n");
        expect((await curl(as, s, ["-X", "POST", "http://d/v1.41/containers/sh1/resize?h=x&w=70"])).status).toBe(400);
        expect((await d("rm", "-f", "sh1")).code).toBe(0);
        // what the server started (containers' inits, log writers, execs) is reaped: no zombie stays its child
        const zombies = () => Bun.spawnSync(["ps", "-o", "stat=,comm=", "--ppid", String(s.proc.pid)]).stdout.toString().split("\n").filter((l) => l.startsWith("Z"));
        for (let i = 0; i < 40 && zombies().length; i++) await Bun.sleep(50);
        expect(zombies()).toEqual([]);
      });
    }, 120_000);

    test("docker logs: -f until the container exits, -t, --since/--until, --tail; stdout and stderr apart", async () => {
      await withImageServer(as, ["lg"], async ({ d }) => {
        const started = Date.now();
        expect((await d("run", "-d", "--name", "lg", "--network", "none", IMAGE, "sh", "-c", "echo one; echo two >&2; sleep 2; echo three; exit 2")).code).toBe(0);
        const follow = await d("logs", "-f", "lg");
        expect(follow).toEqual({ code: 0, stdout: "one\nthree\n", stderr: "two\n" });
        expect(Date.now() - started).toBeGreaterThanOrEqual(2000); // it waited for the end
        const t = await d("logs", "-t", "lg");
        expect(t.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$/);
        const [first, third] = t.stdout.split("\n").map((l) => l.split(" ")[0]!);
        expect(Date.parse(third!) - Date.parse(first!)).toBeGreaterThanOrEqual(1900);
        expect((await d("logs", "--since", "1m", "lg")).stdout).toBe("one\nthree\n");
        expect((await d("logs", "--since", third!, "lg")).stdout).toBe("three\n");
        expect((await d("logs", "--until", new Date(Date.parse(third!) - 1000).toISOString(), "lg")).stdout).toBe("one\n");
        expect(await d("logs", "--tail", "1", "lg")).toEqual({ code: 0, stdout: "three\n", stderr: "" });
      });
    }, 120_000);

    test("docker cp both ways, rename, export; the archive endpoints: the stat header, a path outside the container or an archive entry outside the destination is a JSON error and nothing is written", async () => {
      await withImageServer(as, ["files", "named"], async ({ s, d }) => {
        const run = await d("run", "-d", "--name", "files", "--network", "none", IMAGE, "sh", "-c", "mkdir -p /srv/d && echo in-ctr > /srv/d/f && ln -s /etc /srv/etc-link && echo ready && exec sleep 100");
        expect(run.code, run.stderr).toBe(0);
        for (let i = 0; i < 100 && !(await d("logs", "files")).stdout.includes("ready"); i++) await Bun.sleep(50);
        const host = baseFor(as);
        writeFileSync(join(host, "up.txt"), "from host\n");
        chownSync(join(host, "up.txt"), ownerOf(as).uid, ownerOf(as).gid);
        expect(await d("cp", join(host, "up.txt"), "files:/srv/d/")).toMatchObject({ code: 0 });
        expect(await d("cp", "files:/srv/d", join(host, "out"))).toMatchObject({ code: 0 });
        expect([readFileSync(join(host, "out/f"), "utf8"), readFileSync(join(host, "out/up.txt"), "utf8")]).toEqual(["in-ctr\n", "from host\n"]);
        // the stat header of a symlink: Go's ModeSymlink, its target resolved in the container
        const head = await curl(as, s, ["-I", "http://d/v1.41/containers/files/archive?path=/srv/etc-link"]);
        expect(head.status).toBe(200);
        const stat = JSON.parse(Buffer.from(/X-Docker-Container-Path-Stat: (\S+)/i.exec(head.body)![1]!, "base64").toString());
        expect(stat).toMatchObject({ name: "etc-link", linkTarget: "/etc", mode: 2 ** 27 + 0o777 });
        // ../ in a request's path stays in the container: its /etc/hostname, not the host's
        const out = await curl(as, s, ["http://d/v1.41/containers/files/archive?path=/../../../../etc/hostname"]);
        expect(out.status).toBe(200);
        expect(out.body).toContain("hostname\0");
        expect(out.body).toContain("files\n");
        expect(await curl(as, s, ["http://d/v1.41/containers/files/archive?path=etc/hostname"])).toMatchObject({ status: 400, body: expect.stringContaining("must be absolute") });
        expect((await curl(as, s, ["-I", "http://d/v1.41/containers/files/archive?path=/nope"])).status).toBe(404);
        // an archive entry named outside the destination: 400 with Docker's JSON body, nothing made
        const tag = `bunker-serve-cp-${as}-${process.pid}`;
        writeFileSync(join(host, "evil.tar"), tarBytes([{ name: `../../../../../../tmp/${tag}`, data: "evil\n" }]));
        const put = await curl(as, s, ["-X", "PUT", "--data-binary", `@${join(host, "evil.tar")}`, "http://d/v1.41/containers/files/archive?path=/srv"]);
        expect(put.status).toBe(400);
        expect(JSON.parse(put.body).message).toMatch(/has a '\.\.' component: it would be extracted outside the destination/);
        expect(existsSync(`/tmp/${tag}`)).toBe(false);
        // a compressed body, as docker's endpoint takes: gzip, bzip2, xz (each through its own program), into the running container
        for (const [kind, prog] of [["gz", "gzip"], ["bz2", "bzip2"], ["xz", "xz"]] as const) {
          const plain = tarBytes([{ name: `packed-${kind}`, data: `${kind} body\n` }]);
          const packed = Bun.spawnSync([prog, "-c"], { stdin: plain });
          writeFileSync(join(host, `t.tar.${kind}`), packed.stdout);
          const r = await curl(as, s, ["-X", "PUT", "--data-binary", `@${join(host, `t.tar.${kind}`)}`, "http://d/v1.41/containers/files/archive?path=/srv"]);
          expect(r.status, r.body).toBe(200);
          expect((await d("exec", "files", "cat", `/srv/packed-${kind}`)).stdout).toBe(`${kind} body\n`);
        }
        // a truncated xz body: Docker's 400 naming the stream, nothing written
        writeFileSync(join(host, "cut.tar.xz"), Bun.spawnSync(["xz", "-c"], { stdin: tarBytes([{ name: "cut", data: "x".repeat(4000) }]) }).stdout.subarray(0, 30));
        const cut = await curl(as, s, ["-X", "PUT", "--data-binary", `@${join(host, "cut.tar.xz")}`, "http://d/v1.41/containers/files/archive?path=/srv"]);
        expect(cut.status, cut.body).toBe(400);
        expect(JSON.parse(cut.body).message).toContain("cannot decompress the xz stream");
        expect((await d("exec", "files", "sh", "-c", "test -e /srv/cut && echo there || echo absent")).stdout).toBe("absent\n");
        // rename: the new name everywhere, the container still running
        expect(await d("rename", "files", "named")).toMatchObject({ code: 0 });
        expect((await d("ps", "--format", "{{.Names}} {{.State}}")).stdout).toBe("named running\n");
        expect((await d("cp", "named:/srv/d/f", join(host, "again"))).code).toBe(0);
        expect(readFileSync(join(host, "again"), "utf8")).toBe("in-ctr\n");
        expect((await d("rename", "named", "named")).code).not.toBe(0);
        expect((await d("stop", "-t", "1", "named")).stdout).toBe("named\n");
        // docker export (GET /containers/ID/export) of the stopped container: its image's files and what it and cp added
        expect(await d("export", "-o", join(host, "export.tar"), "named")).toMatchObject({ code: 0 });
        const list = Bun.spawnSync(["tar", "-tf", join(host, "export.tar")]).stdout.toString().split("\n");
        expect(list).toEqual(expect.arrayContaining(["./srv/d/f", "./srv/d/up.txt", "./srv/etc-link", "./bin/sh"]));
        expect(Bun.spawnSync(["tar", "-xOf", join(host, "export.tar"), "./srv/d/up.txt"]).stdout.toString()).toBe("from host\n");
      });
    }, 120_000);

    test("docker build (the classic builder, POST /build): the steps and the RUN's output stream to the CLI, the image runs; a failing RUN is the CLI's error", async () => {
      await withImageServer(as, [], async ({ s, d }) => {
        const base = s.sock.slice(0, s.sock.lastIndexOf("/"));
        const ctxDir = makeTempDir("bunker-serve-build", ownerOf(as));
        bases.push(ctxDir);
        writeFileSync(join(ctxDir, "Dockerfile"), `FROM ${IMAGE}\nARG WHO\nCOPY msg /msg\nRUN echo "run says $WHO"; cat /msg > /copy\nCMD ["cat", "/copy"]\n`);
        writeFileSync(join(ctxDir, "msg"), "from the context\n");
        writeFileSync(join(ctxDir, "Bad"), `FROM ${IMAGE}\nRUN exit 3\n`);
        Bun.spawnSync(["chown", "-R", `${ownerOf(as).uid}:${ownerOf(as).gid}`, ctxDir]);
        const dockerBuild = (args: string[]) => runAs(as, [DOCKER!, "build", ...args], { env: { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(base, "client"), DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 });
        const b = await dockerBuild(["--build-arg", "WHO=docker", "-t", "built:1", ctxDir]);
        expect(b.code, b.stderr).toBe(0);
        expect(b.stdout).toContain("Step 4/5 : RUN");
        expect(b.stdout).toContain("run says docker\n");
        expect(b.stdout).toContain("Successfully tagged built:1");
        expect((await d("run", "--rm", "built:1")).stdout).toBe("from the context\n");
        const bad = await dockerBuild(["-f", join(ctxDir, "Bad"), ctxDir]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain("Bad:2: RUN exit 3: exit status 3");
      });
    }, 180_000);

    test("docker diff and docker commit (the API's changes and commit); the committed image runs, its history has the comment", async () => {
      await withImageServer(as, ["changer"], async ({ s, d }) => {
        expect((await d("run", "-d", "--name", "changer", "--network", "none", IMAGE, "sh", "-c", "echo made > /made; rm /etc/group")).code).toBe(0);
        expect((await d("wait", "changer")).stdout).toBe("0\n");
        expect(await d("diff", "changer")).toEqual({ code: 0, stdout: "C /etc\nD /etc/group\nA /made\n", stderr: "" });
        const c = await d("commit", "-c", "CMD cat /made", "-m", "from docker", "changer", "localhost/fromdocker:1");
        expect(c.code, c.stderr).toBe(0);
        expect(c.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
        expect((await d("run", "--rm", "--network", "none", "localhost/fromdocker:1")).stdout).toBe("made\n");
        expect((await d("history", "--format", "{{.Comment}}", "localhost/fromdocker:1")).stdout.split("\n")[0]).toBe("from docker");
        // a container config in the body (it would replace the container's) is a 400 naming the field
        const body = await curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"Cmd":["x"]}', "http://d/v1.41/commit?container=changer"]);
        expect(body.status).toBe(400);
        expect(body.body).toContain('unknown field \\"Cmd\\"');
        expect((await curl(as, s, ["http://d/v1.41/containers/nosuch/changes"])).status).toBe(404);
      });
    }, 120_000);

    test("volumes: create, ls (filters), inspect, rm, prune (1.41: every unused one); bad bodies are 400s naming the field", async () => {
      const base = baseFor(as);
      const s = await startServer(as, base);
      const d = (...args: string[]) => docker(as, s, base, args);
      try {
        expect((await d("volume", "create", "v1")).stdout).toBe("v1\n");
        expect((await d("volume", "create", "--label", "a=b", "v2")).stdout).toBe("v2\n");
        expect((await d("volume", "ls", "-q")).stdout).toBe("v1\nv2\n");
        expect((await d("volume", "ls", "-q", "--filter", "label=a=b")).stdout).toBe("v2\n");
        expect((await d("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Mountpoint}} {{.Labels}}", "v2")).stdout).toBe(`v2 local ${join(base, "data", "volumes", "v2", "_data")} map[a:b]\n`);
        const opts = await d("volume", "create", "-o", "type=tmpfs", "v3");
        expect(opts.code).toBe(1);
        expect(opts.stderr).toBe("Error response from daemon: volumes/create: DriverOpts (type) are not supported: bunker's local volumes are directories\n");
        expect((await d("volume", "rm", "v1")).stdout).toBe("v1\n");
        expect((await d("volume", "prune", "-f")).stdout).toBe("Deleted Volumes:\nv2\n\nTotal reclaimed space: 0B\n");
        expect((await d("volume", "ls", "-q")).stdout).toBe("");
        const post = (body: string) => curl(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body, "http://d/v1.41/volumes/create"]);
        expect(await post('{"Name": ')).toEqual({ status: 400, body: JSON.stringify({ message: "volumes/create: request body: invalid JSON at line 1, column 10 (byte 9): unexpected end of input: EINVAL (Invalid argument)" }) });
        expect(await post('{"Name": "x", "Bogus": 1}')).toEqual({ status: 400, body: JSON.stringify({ message: 'volumes/create: request body: unknown field "Bogus" (bunker reads Name, Driver, DriverOpts, Labels, ClusterVolumeSpec)' }) });
        expect(await post('{"Name": 5}')).toEqual({ status: 400, body: JSON.stringify({ message: "volumes/create: request body: Name: must be a string: EINVAL (Invalid argument)" }) });
        expect(await post(`[${"[".repeat(200)}${"]".repeat(200)}]`)).toMatchObject({ status: 400 });
        const huge = join(base, "huge.json");
        writeFileSync(huge, `{"Name": "${"x".repeat(5 << 20)}"}`);
        expect(await post(`@${huge}`)).toEqual({ status: 400, body: JSON.stringify({ message: "volumes/create: the request body is larger than 4194304 bytes" }) });
        // the server is still there
        expect((await curl(as, s, ["http://d/_ping"])).body).toBe("OK");
      } finally {
        expect((await stopServer(s)).code).toBe(0);
      }
    }, 60_000);
  });
}
