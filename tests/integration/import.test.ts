// bunker import and docker import (issue 15), root and the unprivileged user:
// `bunker export` of a container, imported back (plain, gzip, zstd, xz,
// bzip2; a file and stdin) and run (its files are there); --change and -m in
// the config and history ("Imported from -" by default); the layer as written
// (a gzip tarball is the blob, the tar's digest the diff id); input that is no
// tar is one line and makes no image; a URL is refused.  Then docker 28's
// `docker import -c 'CMD …'` against `bunker serve` (POST
// /images/create?fromSrc=-) and `docker run --rm` of the image.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, chownTree, makeTempDir, ownerOf, removeTree, runAs, runInPty, type RunResult } from "../lib/index.ts";
import { DOCKER, dockerAt, startServer, stopServer, writeBusyboxArchive } from "../lib/serve.ts";

setDefaultTimeout(90_000);
const bases: string[] = [];
afterAll(() => bases.forEach(removeTree));
const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;
const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const ID = /^sha256:[0-9a-f]{64}\n$/;
/** Debian's docker.io client, when it is the 20.10 one */
const DOCKER_2010 = existsSync("/usr/bin/docker") && /^Docker version 20\.10\./.test(Bun.spawnSync(["/usr/bin/docker", "--version"]).stdout.toString()) ? "/usr/bin/docker" : undefined;

for (const as of USERS) {
  describe(`import (as ${as})`, () => {
    const base = makeTempDir("bunker-import", ownerOf(as));
    bases.push(base);
    const roots = ["--root", join(base, "state"), "--data-root", join(base, "data")];
    const b = (...args: string[]) => bunkerAs(as, [...roots, ...args]);
    const tarFile = join(base, "rootfs.tar");
    /** the busybox image loaded, a container that wrote /f and /d/g exported to rootfs.tar */
    const exported = (async () => {
      const archive = writeBusyboxArchive(base, "bb:latest", ["sh", "cat", "echo", "mkdir", "true"]);
      chownTree(archive, ownerOf(as));
      expect((await b("load", "-i", archive)).code).toBe(0);
      const r = await b("run", "-d", "--name", "src", "--network", "none", "bb", "sh", "-c", "echo payload > /f; mkdir -p /d; echo deep > /d/g");
      expect(r.code, ok(r)).toBe(0);
      for (let i = 0; i < 100 && !(await b("ps", "-a", "--filter", "status=exited", "-q")).stdout.includes("src"); i++) await Bun.sleep(50);
      const e = await b("export", "-o", tarFile, "src");
      expect(e.code, ok(e)).toBe(0);
      await b("rm", "src");
    })();

    test("export → import → run: the files are there, from a plain, gzip, zstd, xz and bzip2 tarball, a file or stdin", async () => {
      await exported;
      const tar = readFileSync(tarFile);
      const forms: [string, Uint8Array | undefined, string[]?][] = [
        ["plain", tar],
        ["gz", Bun.gzipSync(tar)],
        ["zst", Bun.zstdCompressSync(tar)],
        ["xz", undefined, ["xz", "-k", "-f"]],
        ["bz2", undefined, ["bzip2", "-k", "-f"]],
      ];
      for (const [tag, bytes, prog] of forms) {
        const file = tag === "plain" ? tarFile : `${tarFile}.${tag}`;
        if (bytes && tag !== "plain") writeFileSync(file, bytes);
        if (prog) expect(Bun.spawnSync([...prog, tarFile]).exitCode).toBe(0);
        // the xz one through stdin, as `bunker export ID | bunker import -`
        const r = tag === "xz" ? await runAs(as, asUserArgv(as, ["sh", "-c", `"$0" "$@" < ${file}`, bunkerBinary(), ...roots, "import", "-", `imp:${tag}`])) : await b("import", file, `imp:${tag}`);
        expect(r.code, `${tag}: ${ok(r)}`).toBe(0);
        expect(r.stdout).toMatch(ID);
        const inspected = await b("inspect", "--format", "{{.Id}}", `imp:${tag}`);
        expect(inspected.stdout, `${tag}: ${ok(inspected)}`).toBe(r.stdout);
        const run = await b("run", "--rm", "--network", "none", `imp:${tag}`, "cat", "/f", "/d/g");
        expect(run, `${tag}: ${ok(run)}`).toEqual({ code: 0, stdout: "payload\ndeep\n", stderr: "" });
      }
      // the layer as written: the gzip tarball is the blob, the tar's digest the diff id; one layer, history "Imported from -"
      const gz = readFileSync(`${tarFile}.gz`);
      expect(existsSync(join(base, "data", "blobs", "sha256", sha256(gz)))).toBe(true);
      const i = await b("inspect", "--format", "{{json .RootFS.Layers}}|{{.Comment}}|{{json .Config}}", "imp:gz");
      expect(i.stdout).toBe(`["sha256:${sha256(tar)}"]|Imported from -|{}\n`);
      const h = await b("history", "--format", "{{.Comment}}", "imp:plain");
      expect(h.stdout).toBe("Imported from -\n");
    });

    test("--change and -m: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL in the config; the message in the history; no REPOSITORY: dangling", async () => {
      await exported;
      const r = await b("import", "-c", 'CMD ["cat","g"]', "-c", "ENV A=b", "-c", "WORKDIR /d", "-c", "USER 0:0", "-c", "EXPOSE 8080/tcp", "-c", "LABEL k=v", "-c", "VOLUME /data", "-c", "STOPSIGNAL SIGINT", "-m", "my message", tarFile, "imp:cmd");
      expect(r.code, ok(r)).toBe(0);
      const c = JSON.parse((await b("inspect", "--format", "{{json .Config}}", "imp:cmd")).stdout);
      expect(c).toMatchObject({ Cmd: ["cat", "g"], Env: ["A=b"], WorkingDir: "/d", User: "0:0", ExposedPorts: { "8080/tcp": {} }, Labels: { k: "v" }, Volumes: { "/data": {} }, StopSignal: "SIGINT" });
      expect((await b("history", "--format", "{{.Comment}}", "imp:cmd")).stdout).toBe("my message\n");
      expect((await b("inspect", "--format", "{{.Comment}}", "imp:cmd")).stdout).toBe("my message\n");
      const run = await b("run", "--rm", "--network", "none", "imp:cmd");
      expect(run, ok(run)).toEqual({ code: 0, stdout: "deep\n", stderr: "" });
      const ep = await b("import", "-c", 'ENTRYPOINT ["cat"]', "-c", 'CMD ["/f"]', tarFile, "imp:ep");
      expect(ep.code, ok(ep)).toBe(0);
      expect((await b("run", "--rm", "--network", "none", "imp:ep")).stdout).toBe("payload\n");
      // without REPOSITORY: an image without a name, found by its id
      const dangling = await b("import", "-m", "nameless", tarFile);
      expect(dangling.stdout).toMatch(ID);
      expect((await b("inspect", "--format", "{{.Comment}} {{json .RepoTags}}", dangling.stdout.trim())).stdout).toBe("nameless []\n");
      await b("rmi", dangling.stdout.trim());
    });

    test("input that is no tar, an empty file, a bad --change, a URL and a terminal on stdin are one line each (125), and no image is made", async () => {
      await exported;
      const before = (await b("images", "-q", "-a")).stdout;
      const text = join(base, "notes.txt");
      writeFileSync(text, "these are notes, not a tar archive\n".repeat(40));
      writeFileSync(join(base, "empty"), "");
      writeFileSync(join(base, "junk.gz"), Bun.gzipSync(Buffer.from("x".repeat(3000))));
      const cases: [string[], RegExp][] = [
        [[text, "bad:1"], /^bunker: import: .*notes\.txt is not a tar archive: .*EINVAL/],
        [[join(base, "empty")], /^bunker: import: .*empty is empty, not a tar archive: EINVAL/],
        [[join(base, "junk.gz")], /^bunker: import: .*junk\.gz is not a tar archive \(gzip-compressed\): .*EINVAL/],
        [[join(base, "nosuch.tar")], /^bunker: import: cannot read the tarball: ENOENT.*nosuch\.tar/],
        [["-c", "RUN rm -rf /", tarFile], /^bunker: --change "RUN rm -rf \/": RUN is not an instruction --change can apply/],
        [["https://example.invalid/rootfs.tar"], /^bunker: import: importing from a URL is not supported .*EOPNOTSUPP/],
      ];
      for (const [args, re] of cases) {
        const r = await b("import", ...args);
        expect([r.code, r.stdout], ok(r)).toEqual([125, ""]);
        expect(r.stderr).toMatch(re);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
      // stdin that is a terminal: refused, as export refuses to write to one
      const t = await runInPty(as, [bunkerBinary(), ...roots, "import", "-"]);
      expect(t.code, t.stdout).toBe(125);
      expect(t.stdout).toContain("bunker: import: refusing to read a tar from a terminal: ENOTTY");
      expect((await b("images", "-q", "-a")).stdout).toBe(before);
      // and nothing is left in the store's temp dir
      expect(Bun.spawnSync(["find", join(base, "data", "tmp"), "-mindepth", "1"]).stdout.toString()).toBe("");
    });

    test.skipIf(!DOCKER)("docker import -c 'CMD [\"cat\",\"/f\"]' of the exported tar (a file and stdin) through bunker serve, then docker run --rm it; docker 20.10's import too", async () => {
      await exported;
      writeFileSync(join(base, "notes-d.txt"), "not a tar\n".repeat(100));
      writeFileSync(`${tarFile}.d.gz`, Bun.gzipSync(readFileSync(tarFile)));
      const s = await startServer(as, base);
      try {
        const d = (...args: string[]) => dockerAt(as, s, base, args);
        const r = await d("import", "-c", 'CMD ["cat","/f"]', "-m", "via docker", tarFile, "dimp:1");
        expect(r.code, ok(r)).toBe(0);
        expect(r.stdout).toMatch(ID);
        expect((await d("image", "inspect", "--format", "{{.Id}} {{.Comment}} {{json .Config.Cmd}}", "dimp:1")).stdout).toBe(`${r.stdout.trim()} via docker ["cat","/f"]\n`);
        expect(await d("run", "--rm", "--network", "none", "dimp:1")).toEqual({ code: 0, stdout: "payload\n", stderr: "" });
        // from stdin, gzip-compressed, with the default comment
        const piped = await runAs(as, asUserArgv(as, ["sh", "-c", `"$0" import - dimp:2 < ${tarFile}.d.gz`, DOCKER!]), { env: { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(base, "client") } });
        expect(piped.code, ok(piped)).toBe(0);
        expect((await d("history", "--format", "{{.Comment}}", "dimp:2")).stdout).toBe("Imported from -\n");
        expect((await d("run", "--rm", "--network", "none", "dimp:2", "cat", "/d/g")).stdout).toBe("deep\n");
        // Debian's docker.io client (20.10, API 1.41) sends the same request
        if (DOCKER_2010) {
          const old = await dockerAt(as, s, base, ["import", "-c", "ENTRYPOINT [\"cat\"]", tarFile, "dimp:2010"], {}, DOCKER_2010);
          expect(old.code, ok(old)).toBe(0);
          expect(old.stdout).toMatch(ID);
          expect(await d("run", "--rm", "--network", "none", "dimp:2010", "/d/g")).toEqual({ code: 0, stdout: "deep\n", stderr: "" });
        }
        // no tar: the daemon's one line
        const bad = await d("import", join(base, "notes-d.txt"));
        expect(bad.code, ok(bad)).toBe(1);
        expect(bad.stderr).toMatch(/^Error response from daemon: import: the request body is not a tar archive/);
      } finally {
        expect((await stopServer(s)).code).toBe(0);
      }
    });
  });
}
