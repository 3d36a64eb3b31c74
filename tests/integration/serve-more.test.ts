// `bunker serve` beyond one container: the event stream (fed by the CLI as
// well as the API), user networks through the API, restart policies asked
// for by the API, 50 concurrent `docker run --rm`, a server SIGKILLed
// mid-request, bad requests.  The docker 28 CLI and curl, root and the
// unprivileged user; every server and client is ended by its pid.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunkerAs, collect, removeTree, spawnAs, USERS, type As } from "../lib/index.ts";
import { CURL, curlAt, DOCKER, dockerAt, rootsOf, serveBase, startServer, stopServer, writeBusyboxArchive, type Server } from "../lib/serve.ts";

if (!DOCKER || !CURL) console.log(`serve-more tests skipped: not installed: ${[!DOCKER && "docker", !CURL && "curl"].filter(Boolean).join(", ")}`);

const bases: string[] = [];
afterAll(() => bases.forEach(removeTree));

const IMAGE = "localhost/bb:latest";
const APPLETS = ["sh", "echo", "true", "cat", "sleep", "httpd", "wget"];

type D = (...args: string[]) => ReturnType<typeof dockerAt>;

/** a server as AS with IMAGE loaded, for FN; the server stopped after, every container left removed */
async function withServer(as: As, fn: (t: { s: Server; d: D; base: string; b: (...args: string[]) => ReturnType<typeof bunkerAs> }) => Promise<void>): Promise<void> {
  const base = serveBase(as, bases);
  const b = (...args: string[]) => bunkerAs(as, [...rootsOf(base), ...args], { timeoutMs: 60_000 });
  let s = await startServer(as, base);
  const d: D = (...args) => dockerAt(as, s, base, args);
  try {
    expect((await d("load", "-i", writeBusyboxArchive(base, IMAGE, APPLETS))).code).toBe(0);
    await fn({ s, d, base, b });
  } finally {
    expect((await stopServer(s)).code).toBe(0);
    const left = (await b("ps", "-a", "-q")).stdout.split("\n").filter(Boolean);
    if (left.length) await b("rm", "-f", ...left);
    for (const n of (await b("network", "ls", "-q")).stdout.split("\n").filter(Boolean)) await b("network", "rm", "-f", n);
  }
}

/** the unix time (s, with a fraction) docker events takes for --since and --until */
const unixNow = () => (Date.now() / 1000).toFixed(3);

for (const as of USERS) {
  describe.skipIf(!DOCKER || !CURL)(`bunker serve: events, networks, restart, load (${as})`, () => {
    test("docker events: what the CLI and the API did, streamed and between --since and --until, filtered", async () => {
      await withServer(as, async ({ s, d, base, b }) => {
        const since = unixNow();
        // a follower from now on: it sees a run of the CLI, which no server was told of
        const follower = spawnAs(as, [DOCKER!, "events", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"exitCode\"}}"], { env: { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(base, "client") } });
        try {
          await Bun.sleep(500);
          expect((await b("run", "--name", "cli1", "--rootfs", "host", "--", "/bin/sh", "-c", "exit 3")).code).toBe(3);
          expect((await d("run", "--rm", "--name", "api1", IMAGE, "true")).code).toBe(0);
          expect((await d("volume", "create", "v1")).code).toBe(0);
          expect((await d("volume", "rm", "v1")).code).toBe(0);
          expect((await d("tag", IMAGE, "localhost/other:1")).code).toBe(0);
          expect((await d("rmi", "localhost/other:1")).code).toBe(0);
          await Bun.sleep(500);
        } finally {
          process.kill(follower.pid, "SIGTERM");
        }
        const streamed = (await collect(follower)).stdout;
        expect(streamed).toContain("container create cli1 \n");
        expect(streamed).toContain("container die cli1 3\n");
        expect(streamed).toContain("container destroy cli1 \n");
        expect(streamed).toMatch(/container create api1 \ncontainer start api1 \n(.*\n)*container die api1 0\n(.*\n)*container destroy api1 \n/);
        expect(streamed).toContain("volume create v1 \nvolume destroy v1 \n");
        expect(streamed).toMatch(/image tag sha256:[0-9a-f]{64} \nimage untag sha256:[0-9a-f]{64} \n/);
        // the same from the log, bounded: docker events returns at --until
        const until = unixNow();
        const ev = (...args: string[]) => d("events", "--since", since, "--until", until, "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}", ...args);
        const all = await ev();
        expect(all.code).toBe(0);
        expect(all.stdout).toContain("container die cli1\n");
        expect((await ev("--filter", "type=volume")).stdout).toBe("volume create v1\nvolume destroy v1\n");
        expect((await ev("--filter", "container=api1", "--filter", "event=die")).stdout).toBe("container die api1\n");
        expect((await ev("--filter", "image=localhost/bb:latest", "--filter", "event=start")).stdout).toBe("container start api1\n");
        // Docker's JSON, old fields too; a bad filter is a 400
        const raw = await curlAt(as, s, [`http://d/v1.41/events?since=${since}&until=${until}&filters=${encodeURIComponent('{"type":["volume"]}')}`]);
        expect(raw.status).toBe(200);
        const first = JSON.parse(raw.body.split("\n")[0]!);
        expect(first).toMatchObject({ Type: "volume", Action: "create", Actor: { ID: "v1", Attributes: { driver: "local" } }, scope: "local" });
        expect(String(first.timeNano)).toMatch(/^\d{19}$/);
        const bad = await curlAt(as, s, [`http://d/v1.41/events?filters=${encodeURIComponent('{"colour":["red"]}')}`]);
        expect(bad.status).toBe(400);
        expect(JSON.parse(bad.body).message).toContain("invalid filter 'colour'");
      });
    }, 120_000);

    test("docker network create/ls/inspect/connect/disconnect/rm/prune; run --network with an alias the others reach", async () => {
      await withServer(as, async ({ d, b }) => {
        const id = (await d("network", "create", "--label", "k=v", "--subnet", "10.97.0.0/24", "n1")).stdout.trim();
        expect(id).toMatch(/^[0-9a-f]{64}$/);
        expect((await d("network", "ls", "--format", "{{.Name}} {{.Driver}}", "--filter", "label=k=v")).stdout).toBe("n1 bridge\n");
        const dup = await d("network", "create", "n1");
        expect(dup.code).toBe(1);
        expect(dup.stderr).toBe("Error response from daemon: network with name n1 already exists\n");
        expect((await d("network", "inspect", "--format", "{{.Id}} {{(index .IPAM.Config 0).Subnet}} {{.Labels}}", "n1")).stdout).toBe(`${id} 10.97.0.0/24 map[k:v]\n`);
        const missing = await d("network", "inspect", "nope");
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain("network nope not found");
        // a server on n1 by an alias; a client reaches it by that name
        expect((await d("run", "-d", "--name", "web", "--network", "n1", "--network-alias", "www", IMAGE, "sh", "-c", "mkdir -p /w && echo hi-there > /w/i && exec httpd -f -p 80 -h /w")).code).toBe(0);
        const inspect = await d("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.Aliases}}{{end}}", "web");
        expect(inspect.stdout).toBe("n1 10.97.0.2 [web www]\n");
        let got = "";
        for (let k = 0; k < 10 && got !== "hi-there\n"; k++) got = (await d("run", "--rm", "--network", "n1", IMAGE, "wget", "-q", "-O", "-", "http://www/i")).stdout;
        expect(got).toBe("hi-there\n");
        // connect: a running container on a second network, as ethN; disconnect takes it off
        expect((await d("network", "create", "n2")).code).toBe(0);
        expect((await d("network", "connect", "--alias", "w2", "n2", "web")).code).toBe(0);
        expect((await d("network", "inspect", "--format", "{{range .Containers}}{{.Name}}{{end}}", "n2")).stdout).toBe("web\n");
        expect((await d("inspect", "--format", "{{len .NetworkSettings.Networks}}", "web")).stdout).toBe("2\n");
        expect((await d("run", "--rm", "--network", "n2", IMAGE, "wget", "-q", "-O", "-", "http://w2/i")).stdout).toBe("hi-there\n");
        const inUse = await d("network", "rm", "n2");
        expect(inUse.code).toBe(1);
        expect(inUse.stderr).toContain("is in use by container web");
        expect((await d("network", "disconnect", "n2", "web")).code).toBe(0);
        expect((await d("inspect", "--format", "{{len .NetworkSettings.Networks}}", "web")).stdout).toBe("1\n");
        // bunker network connect and disconnect: the same, from the CLI
        expect((await b("network", "connect", "--alias", "w3", "n2", "web")).code).toBe(0);
        expect((await d("inspect", "--format", "{{(index .NetworkSettings.Networks \"n2\").Aliases}}", "web")).stdout).toBe("[web w3]\n");
        expect((await b("network", "disconnect", "n2", "web")).code).toBe(0);
        expect((await d("inspect", "--format", "{{len .NetworkSettings.Networks}}", "web")).stdout).toBe("1\n");
        expect((await d("network", "rm", "n2")).stdout).toBe("n2\n");
        // prune leaves the network in use
        expect((await d("network", "create", "idle")).code).toBe(0);
        expect((await d("network", "prune", "-f")).stdout).toBe("Deleted Networks:\nidle\n\n");
        expect((await d("rm", "-f", "web")).code).toBe(0);
        expect((await d("network", "rm", "n1")).code).toBe(0);
        expect((await d("network", "ls", "-q")).stdout).toBe("");
      });
    }, 180_000);

    test("HostConfig.RestartPolicy: docker run -d --restart on-failure:2 runs 3 times, the events say so", async () => {
      await withServer(as, async ({ d }) => {
        const since = unixNow();
        expect((await d("run", "-d", "--name", "rp", "--restart", "on-failure:2", IMAGE, "sh", "-c", "echo try; exit 1")).code).toBe(0);
        let count = "";
        for (const end = Date.now() + 20_000; Date.now() < end && count !== "2 exited"; await Bun.sleep(200)) count = (await d("inspect", "--format", "{{.RestartCount}} {{.State.Status}}", "rp")).stdout.trim();
        expect(count).toBe("2 exited");
        expect((await d("logs", "rp")).stdout).toBe("try\ntry\ntry\n");
        expect((await d("inspect", "--format", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "rp")).stdout).toBe("on-failure 2\n");
        const dies = await d("events", "--since", since, "--until", unixNow(), "--filter", "event=die", "--format", "{{.Actor.ID}} {{index .Actor.Attributes \"exitCode\"}}");
        expect(dies.stdout).toBe("rp 1\nrp 1\nrp 1\n");
        const conflict = await d("run", "-d", "--rm", "--restart", "always", IMAGE, "true");
        expect(conflict.code).not.toBe(0);
        expect(conflict.stderr).toContain("conflict");
      });
    }, 90_000);

    test("the server's start is Docker's daemon start: an always container stopped by hand runs again, unless-stopped, on-failure and no stay stopped", async () => {
      await withServer(as, async ({ s, base, d }) => {
        const policies = ["always", "unless-stopped", "on-failure", "no"];
        for (const p of policies) expect((await d("run", "-d", "--name", `rs-${p}`, "--restart", p, IMAGE, "sleep", "300")).code).toBe(0);
        expect((await d("stop", "-t", "1", ...policies.map((p) => `rs-${p}`))).code).toBe(0);
        const states = async (at: Server) => (await dockerAt(as, at, base, ["ps", "-a", "--filter", "name=rs-", "--format", "{{.Names}} {{.State}}"])).stdout.split("\n").filter(Boolean).sort();
        expect(await states(s)).toEqual(["rs-always exited", "rs-no exited", "rs-on-failure exited", "rs-unless-stopped exited"]);
        expect((await stopServer(s)).code).toBe(0);
        const next = await startServer(as, base);
        s.proc = next.proc; // withServer stops this one
        let now: string[] = [];
        for (const end = Date.now() + 20_000; Date.now() < end && !now.includes("rs-always running"); await Bun.sleep(200)) now = await states(next);
        expect(now).toEqual(["rs-always running", "rs-no exited", "rs-on-failure exited", "rs-unless-stopped exited"]);
        expect((await d("inspect", "--format", "{{.State.Running}}", "rs-always")).stdout).toBe("true\n");
      });
    }, 120_000);

    test("50 concurrent docker run --rm IMG true all succeed; a SIGKILLed server loses no container", async () => {
      await withServer(as, async ({ s, d, base, b }) => {
        const N = 50;
        const t0 = performance.now();
        const runs = await Promise.all(Array.from({ length: N }, async () => {
          const t = performance.now();
          const r = await d("run", "--rm", IMAGE, "true");
          return { ...r, ms: performance.now() - t };
        }));
        const wall = performance.now() - t0;
        const failed = runs.filter((r) => r.code !== 0);
        expect(failed.map((r) => r.stderr)).toEqual([]);
        const ms = runs.map((r) => r.ms).sort((x, y) => x - y);
        console.log(`${as}: ${N} concurrent docker run --rm true: ${(wall / 1000).toFixed(1)} s wall, per container median ${ms[N >> 1]!.toFixed(0)} ms, max ${ms[N - 1]!.toFixed(0)} ms`);
        // --rm: nothing left of them
        expect((await d("ps", "-a", "-q")).stdout).toBe("");

        // a running container, then creates in flight while the server is SIGKILLed
        expect((await d("run", "-d", "--name", "keep", IMAGE, "sleep", "300")).code).toBe(0);
        const creates = Array.from({ length: 8 }, (_, k) => d("run", "-d", "--name", `c${k}`, IMAGE, "sleep", "300"));
        await Bun.sleep(300);
        process.kill(s.proc.pid, "SIGKILL");
        await s.proc.exited;
        const results = await Promise.all(creates);
        const made = results.map((r, k) => (r.code === 0 ? `c${k}` : "")).filter(Boolean);
        // the next server sees every container: the running one, each create the client was told of
        const next = await startServer(as, base);
        s.proc = next.proc; // withServer stops this one
        const ps = (await dockerAt(as, next, base, ["ps", "-a", "--format", "{{.Names}} {{.State}}"])).stdout;
        expect(ps).toContain("keep running\n");
        for (const name of made) expect(ps).toContain(`${name} `);
        // and every one it lists can be removed, with nothing left on disk
        const listed = ps.split("\n").filter(Boolean).map((l) => l.split(" ")[0]!);
        const rm = await dockerAt(as, next, base, ["rm", "-f", ...listed]);
        expect(rm.code).toBe(0);
        expect((await b("ps", "-a", "-q")).stdout).toBe("");
        const state = join(base, "state");
        expect(existsSync(state) ? readdirSync(state).filter((n) => !n.startsWith(".") && !n.endsWith(".sock") && n !== "userns") : []).toEqual([]);
      });
    }, 600_000);

    test("bad requests get Docker's JSON errors and the server stays up", async () => {
      await withServer(as, async ({ s, base }) => {
        const post = (path: string, body: string) => curlAt(as, s, ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body, `http://d/v1.41${path}`]);
        const net = await post("/networks/create", '{"Name": "x", ');
        expect(net.status).toBe(400);
        expect(JSON.parse(net.body).message).toContain("networks/create: request body: invalid JSON");
        const unknown = await post("/networks/create", '{"Name": "x", "Flavour": "mint"}');
        expect(unknown.status).toBe(400);
        expect(JSON.parse(unknown.body).message).toContain('unknown field "Flavour"');
        const v6 = await post("/networks/create", '{"Name": "x", "EnableIPv6": true}');
        expect(v6).toEqual({ status: 400, body: JSON.stringify({ message: "networks/create: EnableIPv6 is not supported by bunker's user networks" }) });
        const restart = await post("/containers/create", `{"Image": "${IMAGE}", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}`);
        expect(restart.status).toBe(400);
        expect(JSON.parse(restart.body).message).toContain('unknown restart policy "sometimes"');
        const conn = await post("/networks/none-such/connect", '{"Container": "x"}');
        expect(conn.status).toBe(404);
        const file = join(base, "huge.json");
        writeFileSync(file, `{"Image": "${"x".repeat(5 << 20)}"}`);
        const huge = await post("/containers/create", `@${file}`);
        expect(huge.status).toBe(400);
        expect(JSON.parse(huge.body).message).toContain("larger than");
        expect((await curlAt(as, s, ["http://d/_ping"])).body).toBe("OK");
      });
    }, 60_000);
  });
}
