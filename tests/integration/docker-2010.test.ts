// `bunker serve` driven by Debian's docker.io client (20.10, which speaks API
// 1.41 itself, no negotiation down), the everyday verbs; and `docker system
// prune` / `docker builder prune` (POST /build/prune: the build cache's
// records and its unused RUN --mount caches), with both clients.  Root and
// the unprivileged user; every server is ended by its pid.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunkerAs, chownTree, ownerOf, removeTree, USERS, type As } from "../lib/index.ts";
import { CURL, DOCKER, dockerAt, rootsOf, serveBase, startServer, stopServer, writeBusyboxArchive, type Server } from "../lib/serve.ts";

const DOCKER_2010 = (() => {
  if (!existsSync("/usr/bin/docker")) return undefined;
  const v = Bun.spawnSync(["/usr/bin/docker", "--version"]).stdout.toString();
  return /^Docker version 20\.10\./.test(v) ? "/usr/bin/docker" : undefined;
})();
if (!DOCKER_2010 || !DOCKER || !CURL) console.log("docker-2010 tests skipped: needs Debian's docker.io client at /usr/bin/docker, the docker CLI and curl");

const bases: string[] = [];
afterAll(() => bases.forEach(removeTree));
const IMAGE = "localhost/bb:latest";

/** the docker binary CLI against server S as AS */
const client = (as: As, s: Server, base: string, cli: string) => (...args: string[]) => dockerAt(as, s, base, args, {}, cli);

for (const as of USERS) {
  describe.skipIf(!DOCKER_2010 || !DOCKER || !CURL)(`bunker serve with docker 20.10 (${as})`, () => {
    test("version (API 1.41), run: output and exit status, -d, exec, logs, ps, inspect, stop, start, rm", async () => {
      const base = serveBase(as, bases);
      const s = await startServer(as, base);
      const d = client(as, s, base, DOCKER_2010!);
      try {
        expect((await d("load", "-i", writeBusyboxArchive(base, IMAGE, ["sh", "echo", "true", "cat", "sleep"]))).code).toBe(0);
        expect((await d("version", "--format", "{{.Client.Version}} {{.Server.APIVersion}}")).stdout).toMatch(/^20\.10\.\S+ 1\.41\n$/);
        const hi = await d("run", "--rm", IMAGE, "echo", "hi");
        expect([hi.code, hi.stdout, hi.stderr]).toEqual([0, "hi\n", ""]);
        expect((await d("run", "--rm", IMAGE, "sh", "-c", "exit 3")).code).toBe(3);
        const started = await d("run", "-d", "--name", "old1", IMAGE, "sh", "-c", "echo started; exec sleep 60");
        expect(started.code, started.stderr).toBe(0);
        let logs = "";
        for (let i = 0; i < 100 && !logs.includes("started"); i++, await Bun.sleep(50)) logs = (await d("logs", "old1")).stdout;
        expect(logs).toBe("started\n");
        expect((await d("exec", "old1", "echo", "inside")).stdout).toBe("inside\n");
        expect((await d("ps", "--format", "{{.Names}} {{.Image}}")).stdout).toBe(`old1 ${IMAGE}\n`);
        expect((await d("inspect", "--format", "{{.State.Running}} {{.Name}}", "old1")).stdout).toBe("true /old1\n");
        expect((await d("stop", "-t", "1", "old1")).stdout).toBe("old1\n");
        expect((await d("ps", "-a", "--format", "{{.Names}} {{.Status}}")).stdout).toMatch(/^old1 Exited \(\d+\) /);
        const st = await d("start", "old1");
        expect([st.code, st.stdout, st.stderr]).toEqual([0, "old1\n", ""]);
        expect((await d("inspect", "--format", "{{.State.Running}}", "old1")).stdout).toBe("true\n");
        expect((await d("rm", "-f", "old1")).stdout).toBe("old1\n");
        expect((await d("ps", "-a", "-q")).stdout).toBe("");
      } finally {
        expect((await stopServer(s)).code).toBe(0);
        await bunkerAs(as, [...rootsOf(base), "rm", "-f", "old1"]);
      }
    }, 120_000);

    test("system prune and builder prune, with both clients: the build cache's records and its RUN --mount cache go", async () => {
      const base = serveBase(as, bases);
      const s = await startServer(as, base);
      try {
        const old = client(as, s, base, DOCKER_2010!), cur = client(as, s, base, DOCKER!);
        expect((await old("load", "-i", writeBusyboxArchive(base, IMAGE, ["sh", "echo", "true", "touch"]))).code).toBe(0);
        const ctx = join(base, "ctx");
        mkdirSync(ctx);
        writeFileSync(join(ctx, "Dockerfile"), `FROM ${IMAGE}\nRUN --mount=type=cache,target=/c touch /c/kept && echo built > /built\n`);
        chownTree(ctx, ownerOf(as));
        const b = await bunkerAs(as, [...rootsOf(base), "build", "-t", "localhost/pruned:1", ctx], { timeoutMs: 120_000 });
        expect(b.code, b.stderr).toBe(0);
        const cache = join(base, "data", "build-cache");
        const mounts = () => readdirSync(join(cache, "mounts")).filter((n) => !n.endsWith(".lock"));
        expect(mounts().length).toBe(1);
        expect(readdirSync(cache).some((n) => n.endsWith(".json"))).toBe(true);
        // docker system df (GET /system/df): both images, the base layer they share counted once, none in use; the build cache's entries
        for (const dc of [old, cur]) {
          const df = await dc("system", "df");
          expect(df.code, df.stderr).toBe(0);
          const rows = df.stdout.split("\n").filter(Boolean);
          expect(rows[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
          expect(rows[1]).toMatch(/^Images\s+2\s+0\s+\S+B\s+\S+B \(100%\)$/);
          expect(rows[2]).toMatch(/^Containers\s+0\s+0\s+0B\s+0B$/);
          expect(rows[4]).toMatch(/^Build Cache\s+[1-9]\d*\s+0\s/);
        }
        const verbose = await cur("system", "df", "-v");
        expect(verbose.stdout).toMatch(/^localhost\/pruned\s+1\s/m);
        const p = await old("system", "prune", "-f");
        expect([p.code, p.stderr]).toEqual([0, ""]);
        expect(p.stdout).toContain("Total reclaimed space:");
        expect(mounts()).toEqual([]);
        expect(readdirSync(cache).filter((n) => /\.(json|image)$/.test(n))).toEqual([]);
        // the image stays (it is tagged); a rebuild runs its step again
        expect((await old("images", "-q", "localhost/pruned:1")).stdout.trim()).not.toBe("");
        const again = await bunkerAs(as, [...rootsOf(base), "build", "-t", "localhost/pruned:1", ctx], { timeoutMs: 120_000 });
        expect(again.stdout).not.toContain("Using cache");
        const q = await cur("builder", "prune", "-f");
        expect(q.code, q.stderr).toBe(0);
        expect(q.stdout).toMatch(/Total reclaimed space: \S+\n$/);
        expect(mounts()).toEqual([]);
      } finally {
        expect((await stopServer(s)).code).toBe(0);
      }
    }, 240_000);
  });
}
