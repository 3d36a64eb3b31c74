// `bunker build` (issue 17), as root and as the unprivileged test user: a
// multi-stage Dockerfile on a busybox image the test makes (ARG, ENV,
// WORKDIR, USER, COPY --from, a RUN that creates and deletes files, CMD,
// ENTRYPOINT, .dockerignore), the result run; the deletion's whiteout read
// from the saved layer tar itself; a rebuild all from the cache; one changed
// COPY input re-running only the steps from it; a failing RUN named by its
// line; from scratch; the built image loaded and run by podman.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { asUserArgv, bunkerAs, bunkerBinary, chownTree, collect, spawnBunkerAs, makeTempDir, ownerOf, removeTree, runAs, USERS, type As } from "../lib/index.ts";
import { busyboxArchive } from "../lib/image-builder.ts";
import { endPodman, podmanWrapper } from "../lib/podman.ts";

const IMAGE = "localhost/bb:1";
const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=${IMAGE}
FROM $BASE AS builder
ARG GREETING=hello
ENV OUT=/out
WORKDIR /src
COPY a.txt sub/ ./
RUN echo "$GREETING from $(pwd)" > made.txt && mkdir -p $OUT && cp made.txt a.txt b.txt $OUT/

FROM ${IMAGE}
COPY --from=builder /out /app/
RUN touch /tmp/scratch && rm /tmp/scratch /etc/group && echo kept > /app/kept
WORKDIR /app
USER app
ENTRYPOINT ["cat"]
CMD ["made.txt", "a.txt", "b.txt", "kept"]
`;

function countSteps(out: string): { cached: number; ran: number } {
  return { cached: out.split("\n").filter((l) => l === " ---> Using cache").length, ran: out.split("\n").filter((l) => l.startsWith(" ---> Running in ")).length };
}

for (const as of USERS) {
  describe(`build as ${as}`, () => {
    let base: string, ctx: string, store: string;
    const bunker = (args: string[], opts: { cwd?: string; timeoutMs?: number; stdin?: string; env?: Record<string, string> } = {}) => bunkerAs(as, ["--data-root", store, ...args], { timeoutMs: 120_000, ...opts });

    beforeAll(async () => {
      base = makeTempDir("bunker-build", ownerOf(as));
      store = join(base, "store");
      ctx = join(base, "ctx");
      mkdirSync(join(ctx, "sub"), { recursive: true });
      writeFileSync(join(base, "bb.tar"), busyboxArchive(IMAGE, ["sh", "echo", "cat", "cp", "rm", "mkdir", "touch", "pwd", "false", "ls", "id", "sleep"]));
      writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
      writeFileSync(join(ctx, "a.txt"), "a-content\n");
      writeFileSync(join(ctx, "sub", "b.txt"), "b-content\n");
      writeFileSync(join(ctx, "secret.key"), "must not be sent\n");
      writeFileSync(join(ctx, ".dockerignore"), "# keys stay home\n*.key\n");
      chownTree(base, ownerOf(as));
      const r = await bunker(["load", "-i", join(base, "bb.tar")]);
      expect(r.stderr).toBe("");
    });

    afterAll(async () => {
      // the store's layers hold files of subordinate ids rootless: removed from inside the user namespace
      await bunkerAs(as, ["unshare", "rm", "-rf", store]);
      removeTree(base);
    });

    test("builds the multi-stage Dockerfile; the image runs with its CMD and ENTRYPOINT, as USER in WORKDIR", async () => {
      const r = await bunker(["build", "-t", "localhost/built:1", "--iidfile", join(base, "iid"), ctx]);
      expect(r.stderr).toContain("the # syntax= directive is ignored");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Step 1/13 : FROM $BASE AS builder");
      expect(r.stdout).toContain("Successfully tagged localhost/built:1");
      const id = readFileSync(join(base, "iid"), "utf8");
      expect(r.stdout).toContain(`Successfully built ${id.slice(7, 19)}`);
      const run = await bunker(["run", "--rm", "--userns=auto", "localhost/built:1"]);
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe("hello from /src\na-content\nb-content\nkept\n");
      const who = await bunker(["run", "--rm", "--userns=auto", "--entrypoint", "", "localhost/built:1", "sh", "-c", "id -u; pwd; [ -e /etc/group ] || echo no-group; echo $OUT"]);
      // ENV of the first stage does not reach the second; its deleted /etc/group is gone
      expect(who.stdout).toBe("1000\n/app\nno-group\n\n");
    }, 180_000);

    test("the RUN's deletion is a whiteout in its layer tar; .dockerignore kept the key out of the context", async () => {
      const tarFile = join(base, "built.tar");
      expect((await bunker(["save", "-o", tarFile, "localhost/built:1"])).code).toBe(0);
      const dir = join(base, "saved");
      mkdirSync(dir);
      chownTree(dir, ownerOf(as));
      const x = await runAs(as, asUserArgv(as, ["tar", "-xf", tarFile, "-C", dir]));
      expect(x.code).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { Layers: string[] }[];
      const listings = await Promise.all(manifest[0]!.Layers.map(async (l) => (await runAs(as, asUserArgv(as, ["tar", "-tvf", join(dir, l)]))).stdout));
      // base, COPY --from, RUN, WORKDIR /app exists already (no layer)
      expect(listings.length).toBe(3);
      const runLayer = listings[2]!;
      expect(runLayer).toContain("etc/.wh.group");
      expect(runLayer).toContain("app/kept");
      expect(runLayer).not.toContain("tmp/scratch");
      expect(listings[1]).toContain("app/made.txt");
      expect(listings.join("")).not.toContain("secret.key");
    }, 120_000);

    test("a rebuild takes every layer step from the cache and gives the same image ID", async () => {
      const r = await bunker(["build", "-t", "localhost/built:1", ctx]);
      expect(r.code).toBe(0);
      // layer steps: WORKDIR /src, COPY, RUN, COPY --from, RUN
      expect(countSteps(r.stdout)).toEqual({ cached: 5, ran: 0 });
      expect(r.stdout).toContain(`Successfully built ${readFileSync(join(base, "iid"), "utf8").slice(7, 19)}`);
    }, 120_000);

    test("SOURCE_DATE_EPOCH: two builds without the cache give the same image ID; --compression zstd layers", async () => {
      const env = { SOURCE_DATE_EPOCH: "1700000000" };
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await bunker(["build", "-q", "--no-cache", "--compression", "zstd", ctx], { env });
        expect(r.stderr).toBe("bunker: note: Dockerfile:1: the # syntax= directive is ignored (bunker has one built-in frontend)\n");
        ids.push(r.stdout.trim());
      }
      expect(ids[0]).toMatch(/^sha256:/);
      expect(ids[1]).toBe(ids[0]);
      const images = JSON.parse(readFileSync(join(store, "images.json"), "utf8")) as { images: { id: string; digest: string }[] };
      const manifest = JSON.parse(readFileSync(join(store, "blobs/sha256", images.images.find((i) => i.id === ids[0])!.digest.slice(7)), "utf8")) as { layers: { mediaType: string }[] };
      expect(manifest.layers.slice(1).map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar+zstd"]);
      const config = JSON.parse(readFileSync(join(store, "blobs/sha256", ids[0]!.slice(7)), "utf8")) as { created: string };
      expect(config.created).toBe("2023-11-14T22:13:20Z");
    }, 180_000);

    test("--target builds up to that stage; --label; a context tar on stdin (CONTEXT -)", async () => {
      const t = await bunker(["build", "-q", "--target", "builder", "--label", "org.example.role=builder", "-t", "localhost/builder:1", ctx]);
      expect(t.code, t.stderr).toBe(0);
      const made = await bunker(["run", "--rm", "--userns=auto", "localhost/builder:1", "cat", "/out/made.txt"]);
      expect(made.stdout).toBe("hello from /src\n");
      const label = await bunker(["inspect", "--format", "{{json .Config.Labels}} {{.Config.WorkingDir}}", "localhost/builder:1"]);
      expect(label.stdout).toBe('{"org.example.role":"builder"} /src\n');
      const piped = await runAs(as, asUserArgv(as, ["sh", "-c", 'tar -C "$1" -c . | "$2" --data-root "$3" build -q -t localhost/piped:1 -', "sh", ctx, bunkerBinary(), store]), { timeoutMs: 120_000 });
      expect(piped.stderr).toContain("the # syntax= directive is ignored");
      expect(piped.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect((await bunker(["run", "--rm", "--userns=auto", "localhost/piped:1", "made.txt"])).stdout).toBe("hello from /src\n");
    }, 180_000);

    test("ONBUILD: stored in the image, run first by a build FROM it (and not passed on); HEALTHCHECK, EXPOSE, VOLUME, STOPSIGNAL, SHELL in the config", async () => {
      const dir = join(base, "onbuildctx");
      mkdirSync(dir);
      writeFileSync(join(dir, "Parent"), `FROM ${IMAGE}\nONBUILD RUN echo triggered > /trigger\nONBUILD COPY a.txt /from-trigger\nHEALTHCHECK --interval=5s --retries=2 CMD ["true"]\nEXPOSE 8080 53/udp\nVOLUME /data\nSTOPSIGNAL SIGINT\nSHELL ["/bin/sh", "-ec"]\nRUN echo "shell $0 $-" > /shell\n`);
      writeFileSync(join(dir, "Child"), `FROM localhost/parent:1\nRUN cat /trigger /from-trigger\n`);
      writeFileSync(join(dir, "a.txt"), "copied by the trigger\n");
      chownTree(dir, ownerOf(as));
      const p = await bunker(["build", "-f", join(dir, "Parent"), "-t", "localhost/parent:1", dir]);
      expect(p.code, p.stderr).toBe(0);
      const cfg = await bunker(["inspect", "--format", "{{json .Config.OnBuild}} {{json .Config.Healthcheck}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Shell}}", "localhost/parent:1"]);
      expect(cfg.stdout).toBe('["RUN echo triggered > /trigger","COPY a.txt /from-trigger"] {"Test":["CMD","true"],"Interval":5000000000,"Retries":2} {"8080/tcp":{},"53/udp":{}} {"/data":{}} SIGINT ["/bin/sh","-ec"]\n');
      const c = await bunker(["build", "-f", join(dir, "Child"), "-t", "localhost/child:1", dir]);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toContain("# Executing ONBUILD trigger: RUN echo triggered > /trigger\n");
      expect(c.stdout).toContain("\ntriggered\ncopied by the trigger\n");
      expect(c.stdout).toContain("Step 2/2 : RUN cat /trigger /from-trigger");
      expect((await bunker(["inspect", "--format", "{{json .Config.OnBuild}}", "localhost/child:1"])).stdout).toBe("null\n");
      // the RUN after SHELL ran as /bin/sh -ec: $- holds e
      expect((await bunker(["run", "--rm", "localhost/child:1", "cat", "/shell"])).stdout).toMatch(/^shell \/bin\/sh \S*e\S*\n$/);
    }, 180_000);

    test("a changed COPY input re-runs that step and the ones after it only", async () => {
      writeFileSync(join(ctx, "sub", "b.txt"), "b-changed\n");
      chownTree(join(ctx, "sub"), ownerOf(as));
      const r = await bunker(["build", "-t", "localhost/built:2", ctx]);
      expect(r.code).toBe(0);
      // WORKDIR cached; COPY, RUN, COPY --from, RUN made again
      expect(countSteps(r.stdout)).toEqual({ cached: 1, ran: 2 });
      const run = await bunker(["run", "--rm", "--userns=auto", "localhost/built:2", "b.txt"]);
      expect(run.stdout).toBe("b-changed\n");
    }, 180_000);

    test("a failing RUN names the file, line and instruction with its status, exit 125; no image is tagged", async () => {
      writeFileSync(join(base, "Bad.Dockerfile"), `FROM ${IMAGE}\nENV A=1\nRUN false\nRUN echo never\n`);
      chownTree(join(base, "Bad.Dockerfile"), ownerOf(as));
      const r = await bunker(["build", "-f", join(base, "Bad.Dockerfile"), "-t", "localhost/bad:1", ctx]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`bunker: ${join(base, "Bad.Dockerfile")}:3: RUN false: exit status 1\n`);
      expect(r.stdout).not.toContain("echo never");
      expect((await bunker(["images"])).stdout).not.toContain("localhost/bad");
      // the RUN's container is gone (other tests' containers of this user may be listed)
      const ps = await bunker(["ps", "-a", "-q"]);
      expect(ps.stdout.split("\n").filter((id) => id.startsWith("build-"))).toEqual([]);
    }, 120_000);

    test("RUN --mount: a cache directory kept between builds, a read-only bind of the context, a tmpfs; none of them in the layer", async () => {
      const dir = join(base, "mountctx");
      mkdirSync(join(dir, "src"), { recursive: true });
      writeFileSync(join(dir, "src", "input"), "bound in\n");
      writeFileSync(join(dir, "Dockerfile"), [
        `FROM ${IMAGE}`,
        "RUN --mount=type=cache,id=c1,target=/cache --mount=type=bind,source=src,target=/mnt --mount=type=tmpfs,target=/scratch \\",
        "    cat /cache/count 2>/dev/null; echo x >> /cache/count; cat /mnt/input > /result; echo t > /scratch/t; touch /mnt/no 2>/dev/null || echo read-only",
        'CMD ["sh", "-c", "cat /result; ls /cache; ls /scratch; ls /mnt"]',
        "",
      ].join("\n"));
      chownTree(dir, ownerOf(as));
      const first = await bunker(["build", "-t", "localhost/mounts:1", dir]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain("\nread-only\n");
      const second = await bunker(["build", "--no-cache", "-t", "localhost/mounts:1", dir]);
      expect(second.stdout).toContain("\nx\nread-only\n"); // the cache's count from the first build
      const run = await bunker(["run", "--rm", "localhost/mounts:1"]);
      expect(run.stdout).toBe("bound in\n"); // /cache, /scratch and /mnt are empty mount points in the image
      // a changed bound file is a new key: the step runs again
      writeFileSync(join(dir, "src", "input"), "changed\n");
      const third = await bunker(["build", "-t", "localhost/mounts:1", dir]);
      expect(countSteps(third.stdout)).toEqual({ cached: 0, ran: 1 });
      // a bind that would show what .dockerignore excludes is refused
      writeFileSync(join(dir, ".dockerignore"), "src/input\n");
      const hidden = await bunker(["build", dir]);
      expect(hidden.code).toBe(125);
      expect(hidden.stderr).toContain("Dockerfile:2: RUN --mount source=src: src/input is excluded by .dockerignore");
    }, 180_000);

    test("RUN --mount type=cache sharing: shared lets two builds in at once, locked one at a time, private gives the second a new empty dir", async () => {
      // each step marks itself in the cache and waits up to 8 s for the other's mark: seeing it means
      // the two were inside at once (OVER""LAP, so that the step's own text, which the build prints,
      // does not match); waiting for the mark, not for a fixed time, makes the test indifferent to
      // how far apart the two builds start
      const build = (sharing: string, tag: string, other: string) => {
        const dir = join(base, `share-${sharing}-${tag}`);
        mkdirSync(dir, { recursive: true });
        const script = `touch /c/seen-${tag} /c/in-${tag}; i=0; while [ $i -lt 80 ] && [ ! -e /c/in-${other} ]; do sleep 0.1; i=$((i+1)); done; [ -e /c/in-${other} ] && echo OVER""LAP; sleep 0.3; rm /c/in-${tag}; echo listing; ls /c`;
        writeFileSync(join(dir, "Dockerfile"), [`FROM ${IMAGE}`, `RUN --mount=type=cache,id=share-${sharing},target=/c,sharing=${sharing} sh -c '${script}'`, ""].join("\n"));
        chownTree(dir, ownerOf(as));
        return bunker(["build", "--no-cache", dir]);
      };
      const pair = async (sharing: string) => {
        const rs = await Promise.all([build(sharing, "a", "b"), build(sharing, "b", "a")]);
        for (const r of rs) expect(r.code, r.stderr).toBe(0);
        return rs.map((r) => r.stdout);
      };
      const overlapped = (outs: string[]) => outs.some((o) => o.includes("\nOVERLAP\n"));
      expect(overlapped(await pair("shared"))).toBe(true); // the test can see an overlap
      const locked = await pair("locked");
      expect(overlapped(locked)).toBe(false);
      expect(locked.some((o) => /listing\nseen-a\nseen-b\n/.test(o))).toBe(true); // one dir, one step after the other
      const priv = await pair("private");
      expect(overlapped(priv)).toBe(false);
      expect(priv.some((o) => o.includes("seen-a\nseen-b"))).toBe(false); // the second got a dir of its own
      expect(readdirSync(join(store, "build-cache", "mounts")).filter((n) => n.includes("-private-"))).toEqual([]); // and it is gone
    }, 240_000);

    test("ADD of a URL: refused without a network; with --network fetched (0600, the URL's name, --checksum checked) from a server on 127.0.0.1", async () => {
      const body = "served over http\n";
      const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(body, { headers: { "Last-Modified": "Tue, 14 Nov 2023 22:13:20 GMT" } }) });
      try {
        const url = `http://127.0.0.1:${server.port}/files/hello.txt`;
        const dir = join(base, "urlctx");
        mkdirSync(dir);
        const sum = `sha256:${new Bun.SHA256().update(body).digest("hex")}`;
        writeFileSync(join(dir, "Dockerfile"), `FROM ${IMAGE}\nADD --checksum=${sum} ${url} /dl/\nCMD ["sh", "-c", "cat /dl/hello.txt; ls -l /dl/hello.txt"]\n`);
        writeFileSync(join(dir, "Bad"), `FROM ${IMAGE}\nADD --checksum=sha256:${"0".repeat(64)} ${url} /dl/\n`);
        chownTree(dir, ownerOf(as));
        const offline = await bunker(["build", dir]);
        expect(offline.code).toBe(125);
        expect(offline.stderr).toContain(`Dockerfile:2: ADD ${url}: the build has no network`);
        const r = await bunker(["build", "--network", "host", "-t", "localhost/url:1", dir]);
        expect(r.code, r.stderr).toBe(0);
        const run = await bunker(["run", "--rm", "localhost/url:1"]);
        expect(run.stdout).toBe(`${body}-rw-------    1 root     root            17 Nov 14  2023 /dl/hello.txt\n`);
        const bad = await bunker(["build", "--network", "host", "-f", join(dir, "Bad"), dir]);
        expect(bad.code).toBe(125);
        expect(bad.stderr).toContain(`is ${sum}, not --checksum=sha256:000`);
      } finally {
        server.stop(true);
      }
    }, 120_000);

    test("SIGINT during a RUN ends its container (by pid) and the build, leaving no image and no container", async () => {
      const dir = join(base, "intctx");
      mkdirSync(dir);
      writeFileSync(join(dir, "Dockerfile"), `FROM ${IMAGE}\nRUN echo started; sleep 60\n`);
      chownTree(dir, ownerOf(as));
      const proc = spawnBunkerAs(as, ["--data-root", store, "build", "-t", "localhost/int:1", dir]);
      const done = collect(proc, 60_000);
      let name: string | undefined, pid = 0;
      for (let i = 0; i < 200 && !pid; i++) {
        await Bun.sleep(50);
        const ps = await bunker(["ps", "-q"]);
        name = ps.stdout.split("\n").find((id) => id.startsWith("build-"));
        if (name) pid = (JSON.parse((await bunker(["state", name])).stdout) as { pid: number }).pid;
      }
      expect(pid).toBeGreaterThan(0);
      process.kill(proc.pid, "SIGINT");
      const r = await done;
      expect(r.code).toBe(125);
      expect(r.stderr).toBe("bunker: Dockerfile:2: RUN echo started; sleep 60: exit status 130\n");
      expect(() => process.kill(pid, 0)).toThrow(); // the container's init is gone
      expect((await bunker(["ps", "-a", "-q"])).stdout.split("\n")).not.toContain(name);
      expect((await bunker(["images"])).stdout).not.toContain("localhost/int");
    }, 90_000);

    test("a syntax error stops the build before any step runs", async () => {
      writeFileSync(join(base, "Syntax.Dockerfile"), `FROM ${IMAGE}\nRUN echo first\nCOPY --bogus=1 a b\n`);
      chownTree(join(base, "Syntax.Dockerfile"), ownerOf(as));
      const r = await bunker(["build", "-f", join(base, "Syntax.Dockerfile"), ctx]);
      expect(r.code).toBe(125);
      expect(r.stderr).toStartWith(`bunker: ${join(base, "Syntax.Dockerfile")}:3: COPY has no flag --bogus`);
      expect(r.stdout).toBe("");
    });

    test("FROM scratch: COPY --from an image of the store, --chmod, a heredoc file, wildcards, ADD of a local .tar.gz (extracted), --chown; -q prints only the ID", async () => {
      const dir = join(base, "scratchctx");
      mkdirSync(join(dir, "pack"), { recursive: true });
      writeFileSync(join(dir, "Dockerfile"), [
        "FROM scratch",
        `COPY --from=${IMAGE} --chmod=755 /bin/busybox /bin/busybox`,
        "COPY <<EOF /etc/motd",
        "built from scratch",
        "EOF",
        "COPY n*.txt /notes/",
        "ADD pack.tar.gz /unpacked",
        "ADD --chown=7:8 n1.txt /owned",
        'RUN ["/bin/busybox", "sh", "-c", "busybox mkdir -p /home/app && busybox chown 1000:1000 /home/app && busybox chmod 700 /home/app"]',
        "COPY n2.txt /home/app/",
        'ENTRYPOINT ["/bin/busybox"]',
        'CMD ["sh", "-c", "cat /etc/motd /notes/* /unpacked/inner/file; busybox stat -c \'%u:%g %a\' /owned /bin/busybox; busybox ls /notes"]',
        "",
      ].join("\n"));
      writeFileSync(join(dir, "n1.txt"), "note one\n");
      writeFileSync(join(dir, "n2.txt"), "note two\n");
      writeFileSync(join(dir, "other.txt"), "not matched\n");
      mkdirSync(join(dir, "pack", "inner"));
      writeFileSync(join(dir, "pack", "inner", "file"), "from the archive\n");
      expect(Bun.spawnSync(["tar", "-czf", join(dir, "pack.tar.gz"), "-C", join(dir, "pack"), "inner"]).exitCode).toBe(0);
      chownTree(dir, ownerOf(as));
      const r = await bunker(["build", "-q", "-t", "localhost/scratch:1", dir]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      const run = await bunker(["run", "--rm", "--userns=auto", "localhost/scratch:1"]);
      expect(run.stdout).toBe("built from scratch\nnote one\nnote two\nfrom the archive\n7:8 644\n0:0 755\nn1.txt\nn2.txt\n");
      // -q: a RUN's own output is not printed either
      const q = await bunker(["build", "-q", "--no-cache", "-f", "-", ctx], { stdin: `FROM ${IMAGE}\nRUN echo to-stdout; echo to-stderr >&2\n` });
      expect(q.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect(q.stderr).toBe("");
    }, 120_000);

    test("bunker build --help lists the flags", async () => {
      const r = await bunker(["build", "--help"]);
      expect(r.code).toBe(0);
      for (const f of ["--tag", "--file", "--build-arg", "--target", "--no-cache", "--iidfile", "--label", "--network"]) expect(r.stdout).toContain(f);
    });
  });
}

describe.skipIf(Bun.which("podman") === null)("the built image in podman (rootless)", () => {
  const as: As = "user";
  let base: string, podman: string;

  beforeAll(() => {
    base = makeTempDir("bunker-build-podman", ownerOf(as));
    podman = podmanWrapper(base, as);
  });
  afterAll(async () => {
    await endPodman(as, podman, base);
    await bunkerAs(as, ["unshare", "rm", "-rf", join(base, "store")]);
    removeTree(base);
  });

  test("bunker save | podman load, podman run prints what bunker run prints", async () => {
    const store = join(base, "store");
    const ctx = join(base, "ctx");
    mkdirSync(ctx);
    writeFileSync(join(base, "bb.tar"), busyboxArchive(IMAGE, ["sh", "echo", "cat"]));
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${IMAGE}\nARG WHO=podman\nRUN echo "hello $WHO" > /greeting\nCMD ["cat", "/greeting"]\n`);
    chownTree(base, ownerOf(as));
    const b = (args: string[]) => bunkerAs(as, ["--data-root", store, ...args], { timeoutMs: 120_000 });
    expect((await b(["load", "-i", join(base, "bb.tar")])).code).toBe(0);
    expect((await b(["build", "--build-arg", "WHO=both", "-t", "localhost/pm:1", ctx])).code).toBe(0);
    const ours = await b(["run", "--rm", "localhost/pm:1"]);
    expect(ours.stdout).toBe("hello both\n");
    expect((await b(["save", "-o", join(base, "pm.tar"), "localhost/pm:1"])).code).toBe(0);
    const pm = (args: string[]) => runAs(as, asUserArgv(as, [podman, ...args]), { cwd: base, timeoutMs: 120_000 });
    const load = await pm(["load", "-i", join(base, "pm.tar")]);
    expect(load.code).toBe(0);
    const theirs = await pm(["run", "--rm", "--network", "none", "localhost/pm:1"]);
    expect(theirs.stdout).toBe(ours.stdout);
  }, 240_000);
});
