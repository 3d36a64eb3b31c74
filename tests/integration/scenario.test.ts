// The article's scenario end to end (issue 14), as root and rootless: a
// database (PostgreSQL 15), a cache (Redis) and an app container, from images
// built offline out of the host's Debian packages (their binaries, the
// libraries ldd lists, their data files; busybox for the shell), started
// detached on one user network; the app reaches both by name; the database's
// data lives in a named volume and is still there after the database
// container is removed and a new one started on the same volume.  Traffic
// only inside the network namespaces bunker makes; every container is ended
// by rm -f and its process checked gone by pid and start time.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, gone, isRoot, makeTempDir, ownerOf, removeTree, runAs, startTime, type Ref, type RunResult } from "../lib/index.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";
import { baseLayer, missingPackages, packageLayer } from "../lib/package-image.ts";

setDefaultTimeout(180_000);

const PACKAGES = ["postgresql-15", "redis-server"];
const missing = missingPackages(PACKAGES);
if (missing.length) console.log(`scenario: skipped: Debian package(s) ${missing.join(", ")} not installed (tests/setup.sh installs them)`);
const d = isRoot() && !missing.length ? describe : describe.skip;

const PG = "/usr/lib/postgresql/15";
const POSTGRES = { name: "postgres", id: 999, home: "/var/lib/postgresql" };
const PGDATA = "/var/lib/postgresql/data";

/** the database's entrypoint: a new cluster on first start (on an empty volume), the server listening on the network */
const DB_START = `#!/bin/sh
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb -D "$PGDATA" -U postgres --auth=trust --no-locale -E UTF8 >/tmp/initdb.log
  echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp -c jit=off
`;

function images() {
  const db = buildImage({
    compression: "none",
    layers: [
      baseLayer(["sh", "cat", "echo", "test", "[", "mkdir", "ls", "id"], [POSTGRES]),
      packageLayer({ paths: [`${PG}/bin/postgres`, `${PG}/bin/initdb`, `${PG}/lib`, "/usr/share/postgresql/15"], exclude: /\/llvmjit|\/bitcode\// }),
      [
        { name: "var/", type: "dir", mode: 0o755 },
        { name: "var/lib/", type: "dir", mode: 0o755 },
        { name: "var/lib/postgresql/", type: "dir", mode: 0o755, uid: POSTGRES.id, gid: POSTGRES.id },
        { name: "var/lib/postgresql/data/", type: "dir", mode: 0o700, uid: POSTGRES.id, gid: POSTGRES.id },
        { name: "usr/local/", type: "dir", mode: 0o755 },
        { name: "usr/local/bin/", type: "dir", mode: 0o755 },
        { name: "usr/local/bin/db-start", data: DB_START, mode: 0o755 },
      ],
    ],
    config: { Env: [`PATH=/usr/local/bin:${PG}/bin:/bin`, `PGDATA=${PGDATA}`, "TZ=UTC"], Cmd: ["db-start"], User: "postgres", Volumes: { [PGDATA]: {} } },
  });
  const cache = buildImage({
    compression: "none",
    layers: [baseLayer(["sh"]), packageLayer({ paths: ["/usr/bin/redis-server"] })],
    config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"] },
  });
  const app = buildImage({
    compression: "none",
    layers: [baseLayer(["sh", "cat", "echo", "sleep", "seq"]), packageLayer({ paths: ["/usr/bin/redis-cli", `${PG}/bin/psql`] })],
    config: { Env: [`PATH=/usr/bin:${PG}/bin:/bin`], Cmd: ["sh"] },
  });
  return dockerArchive([
    { image: db, tags: ["scenario/db:15"] },
    { image: cache, tags: ["scenario/cache:7"] },
    { image: app, tags: ["scenario/app:1"] },
  ]);
}

const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;

/** COMMAND from the app container, a few tries while the server it talks to starts */
const retried = (command: string) => `(for i in $(seq 60); do ${command} 2>/tmp/err && exit 0; sleep 0.5; done; cat /tmp/err >&2; exit 1)`;

for (const as of USERS) {
  d(`the article's scenario as ${as}`, () => {
    let dir = "", store = "", state = "";
    const tag = `${as}-${process.pid}`;
    const net = `scn-${tag}`;
    const names = { db: `db-${tag}`, cache: `cache-${tag}` };
    // root's default map is its own id alone: --userns=auto maps the images' users (postgres, 999); rootless: the default
    const userns = as === "root" ? ["--userns=auto"] : [];
    const b = (args: string[]) => bunkerAs(as, ["--data-root", store, "--root", state, ...args]);
    /** run -d, its output through a shell so the test's pipes are not held by the container */
    const detached = async (args: string[]) => {
      const r = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" 2>&1 </dev/null`, bunkerBinary(), "--data-root", store, "--root", state, "run", "-d", ...userns, ...args]));
      expect(r.code, r.stdout).toBe(0);
      return r.stdout.trim();
    };
    /** the container's process, by the pid bunker recorded and its start time */
    const processOf = async (name: string): Promise<Ref> => {
      const r = await b(["inspect", name]);
      const pid = Number(JSON.parse(r.stdout)[0].State.Pid);
      expect(pid, ok(r)).toBeGreaterThan(1);
      return { pid, start: startTime(pid)! };
    };
    const app = (script: string) => b(["run", "--rm", "--network", net, "scenario/app:1", "sh", "-c", script]);

    beforeAll(async () => {
      dir = makeTempDir("bunker-scenario", ownerOf(as));
      store = join(dir, "store");
      state = join(dir, "state");
      writeFileSync(join(dir, "images.tar"), images());
      const r = await b(["load", "-i", join(dir, "images.tar")]);
      expect(r.code, ok(r)).toBe(0);
      const n = await b(["network", "create", net]);
      expect(n.code, ok(n)).toBe(0);
    });
    afterAll(async () => {
      for (const n of Object.values(names)) await b(["rm", "-f", n]);
      await b(["network", "rm", "-f", net]);
      removeTree(dir);
    });

    test("db and cache detached on one user network, the app reaches both by name, the data outlives the db container in a named volume", async () => {
      const db = ["--name", names.db, "--network", net, "--network-alias", "db", "-v", "pgdata:" + PGDATA, "scenario/db:15"];
      await detached(db);
      await detached(["--name", names.cache, "--network", net, "--network-alias", "cache", "scenario/cache:7"]);

      const redis = await app(`${retried("redis-cli -h cache PING >/dev/null")} && redis-cli -h cache SET greeting 'hello from the app' && redis-cli -h ${names.cache} GET greeting`);
      expect(redis.code, ok(redis)).toBe(0);
      expect(redis.stdout).toBe("OK\nhello from the app\n");

      const sql = await app(`${retried("psql -h db -U postgres -tAc 'select 1' >/dev/null")} && psql -h db -U postgres -v ON_ERROR_STOP=1 -tA -c "create table visits (who text, n int)" -c "insert into visits values ('article', 14)" -c "select who, n from visits"`);
      expect(sql.code, ok(sql)).toBe(0);
      expect(sql.stdout).toBe("CREATE TABLE\nINSERT 0 1\narticle|14\n");

      // the database container replaced: a new one on the same volume finds the table and its row
      const first = await processOf(names.db);
      const rm = await b(["rm", "-f", names.db]);
      expect(rm.code, ok(rm)).toBe(0);
      expect(await gone(first)).toBe(true);
      const ls = await b(["volume", "ls", "-q"]);
      expect(ls.stdout.split("\n")).toContain("pgdata");
      await detached(db);
      const again = await app(`${retried("psql -h db -U postgres -tAc 'select 1' >/dev/null")} && psql -h ${names.db} -U postgres -tA -c "select who, n from visits"`);
      expect(again.code, ok(again)).toBe(0);
      expect(again.stdout).toBe("article|14\n");

      for (const n of Object.values(names)) {
        const p = await processOf(n);
        expect((await b(["rm", "-f", n])).code).toBe(0);
        expect(await gone(p)).toBe(true);
      }
    });
  });
}
