// podman-compose (Debian's 1.0.3) driving rootless podman with bunker as its
// OCI runtime (containers.conf as in podman.test.ts): three services — a seed
// that writes the site into a named volume and exits, a server that serves
// that volume, a client that reaches the server by its service name — up,
// logs, ps, down.  Rootless by nature (root podman on this host would write
// cgroup v1 directories of its own): run as the test user.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { endPodman, podmanWrapper } from "../lib/podman.ts";
import { asUserArgv, chownTree, isRoot, makeTempDir, ownerOf, removeTree, runAs } from "../lib/index.ts";
import { busyboxArchive } from "../lib/image-builder.ts";
import { cgroupDirs } from "../lib/cgroup-guard.ts";

const missing = ["podman", "conmon", "podman-compose"].filter((b) => Bun.which(b) === null);
const skipReason = !isRoot()
  ? "not root (the test drops to the test user itself)"
  : missing.length
    ? `not installed: ${missing.join(", ")} (apt-get install -y podman podman-compose)`
    : undefined;
if (skipReason) console.log(`podman-compose tests skipped: ${skipReason}`);
const d = skipReason ? describe.skip : describe;

const IMAGE = "localhost/bunker-bb:latest";
const PORT = 8080;

d("podman-compose with podman --runtime bunker (rootless)", () => {
  const as = "user" as const;
  let base: string, podman: string, cgroupsBefore: string[];
  const run = (argv: string[], timeoutMs = 90_000) => runAs(as, asUserArgv(as, argv), { cwd: join(base, "proj"), timeoutMs });
  const compose = (args: string[]) => run(["podman-compose", "--podman-path", podman, "-p", "bkr", ...args]);
  const pm = (args: string[]) => run([podman, ...args]);

  beforeAll(async () => {
    cgroupsBefore = cgroupDirs();
    base = makeTempDir("bunker-pcompose", ownerOf(as));
    // podman-compose runs `podman ARGS`: a wrapper with the private roots and bunker
    podman = podmanWrapper(base);
    writeFileSync(join(base, "image.tar"), busyboxArchive(IMAGE, ["sh", "echo", "cat", "sleep", "mkdir", "httpd", "wget", "ls", "id"]));
    mkdirSync(join(base, "proj"));
    // the project's default network (podman-compose 1.0.3 puts every service on
    // it, and refuses network_mode host with it): a CNI bridge inside rootless
    // podman's own network namespace, service names resolved by the dnsname plugin
    writeFileSync(
      join(base, "proj", "docker-compose.yml"),
      [
        `version: "3"`,
        `services:`,
        `  seed:`,
        `    image: ${IMAGE}`,
        `    volumes: ["site:/site"]`,
        `    command: ["sh", "-c", "echo seeded-by-seed > /site/index.html; echo seed done"]`,
        `  web:`,
        `    image: ${IMAGE}`,
        `    depends_on: [seed]`,
        `    volumes: ["site:/www:ro"]`,
        `    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p ${PORT} -h /www & wait"]`,
        `  client:`,
        `    image: ${IMAGE}`,
        `    depends_on: [web]`,
        `    command: ["sh", "-c", "i=0; while [ $$i -lt 100 ]; do if got=$$(wget -q -O - http://web:${PORT}/); then echo client got $$got; exit 0; fi; sleep 0.1; i=$$((i+1)); done; echo client gave up; exit 1"]`,
        `volumes:`,
        `  site: {}`,
        ``,
      ].join("\n"),
    );
    chownTree(base, ownerOf(as));
    const load = await pm(["load", "-i", join(base, "image.tar")]);
    expect(load.code, load.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await compose(["down", "-v"]);
    await endPodman(as, podman, base);
    removeTree(base);
  }, 60_000);

  test("up -d: the seed fills the named volume, the server serves it, the client reaches it by name; logs, ps, down -v", async () => {
    const up = await compose(["up", "-d"]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    // the client's exit: wait for it, then read every service's log
    let state = "";
    for (let i = 0; i < 100 && !state.startsWith("exited"); i++) {
      state = (await pm(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "bkr_client_1"])).stdout.trim();
      if (!state.startsWith("exited")) await Bun.sleep(100);
    }
    expect(state).toBe("exited 0");
    expect((await pm(["logs", "bkr_client_1"])).stdout).toBe("client got seeded-by-seed\n");
    expect((await pm(["logs", "bkr_seed_1"])).stdout).toBe("seed done\n");
    expect((await pm(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "bkr_seed_1"])).stdout.trim()).toBe("exited 0");
    expect((await pm(["inspect", "--format", "{{.State.Status}}", "bkr_web_1"])).stdout.trim()).toBe("running");
    // the named volume is shared: the server sees what the seed wrote, read-only
    const ex = await pm(["exec", "bkr_web_1", "sh", "-c", "cat /www/index.html; echo x > /www/y 2>/dev/null || echo read-only"]);
    expect(ex.stdout).toBe("seeded-by-seed\nread-only\n");
    // bunker ran them (podman's OCI runtime of each container)
    expect((await pm(["inspect", "--format", "{{.OCIRuntime}}", "bkr_seed_1", "bkr_web_1", "bkr_client_1"])).stdout).toBe("bunker\nbunker\nbunker\n");
    const down = await compose(["down", "-v"]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect((await pm(["ps", "-aq"])).stdout).toBe("");
    expect((await pm(["volume", "ls", "-q"])).stdout).toBe("");
  }, 120_000);

  test("no cgroup was created on the host", () => {
    expect(cgroupDirs()).toEqual(cgroupsBefore);
  });
});
