// Hostile documents through the compiled binary, as root and as the test
// user: each ends in exactly one `bunker: …` line naming the file and the
// field (exit 125), or the program's one "not found" line (exit 127); never a
// stack trace, never silence, never a raw control character.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../../src/image/digest.ts";
import { buildImage, dockerArchive, ociLayoutFiles, tarOfFiles } from "../lib/image-builder.ts";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, chownTree, isRoot, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree, runAs } from "../lib/index.ts";

const describeRoot = isRoot() ? describe : describe.skip;
const enc = new TextEncoder();
const EINVAL = ": EINVAL (Invalid argument)";
/** the depth bound of src/json.ts */
const MAX_DEPTH = 100;

/** `at line 1, column C (byte B)` of the first bracket past the depth bound in a one-line TEXT */
function tooDeep(text: string): string {
  let depth = 0, i = 0;
  for (; i < text.length; i++) {
    if (text[i] === "[" || text[i] === "{") depth++;
    if (text[i] === "]" || text[i] === "}") depth--;
    if (depth > MAX_DEPTH) break;
  }
  return `JSON nested deeper than ${MAX_DEPTH} levels at line 1, column ${i + 1} (byte ${i})`;
}

for (const as of USERS) {
  describeRoot(`hostile input as ${as}`, () => {
    let base: string, bundle: string, root: string;
    const ids: string[] = [];
    const b = (args: string[], stdin?: string) => bunkerAs(as, ["--root", root, ...args], { cwd: bundle, stdin });
    const newId = () => {
      const id = `h${ids.length}-${process.pid}`;
      ids.push(id);
      return id;
    };
    let spec: any;
    /** config.json from `bunker spec`, terminal off, edited by EDIT; or TEXT as it is */
    function writeConfig(edit: (c: any) => unknown): string {
      const c = structuredClone(spec);
      c.process.terminal = false;
      c.process.args = ["true"];
      const ret = edit(c);
      const text = typeof ret === "string" ? ret : JSON.stringify(c);
      const f = join(bundle, "config.json");
      writeFileSync(f, text);
      chownTree(f, ownerOf(as));
      return f;
    }
    const file = (name: string, bytes: Uint8Array | string) => {
      const f = join(base, name);
      writeFileSync(f, bytes);
      chownTree(f, ownerOf(as));
      return f;
    };
    /** exactly one line, no control character but its newline */
    const oneLine = (stderr: string) => {
      expect(stderr.endsWith("\n")).toBe(true);
      expect(stderr.slice(0, -1)).not.toMatch(/[\x00-\x1f\x7f]/);
      return stderr.slice(0, -1);
    };

    beforeAll(async () => {
      base = makeTempDir("bunker-hostile", ownerOf(as));
      bundle = join(base, "bundle");
      root = join(base, "state");
      makeBusyboxRootfs(join(bundle, "rootfs"), ownerOf(as));
      chownTree(bundle, ownerOf(as));
      expect((await b(["spec", "-b", bundle])).code).toBe(0);
      spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    });
    afterAll(async () => {
      for (const id of ids) await b(["delete", "--force", id]);
      removeTree(base);
    });

    // ---- config.json: create and run -b ----

    test("config.json without process: one line naming the field", async () => {
      const f = writeConfig((c) => delete c.process);
      for (const cmd of ["create", "run"]) {
        const r = await b([cmd, "-b", bundle, newId()]);
        expect(oneLine(r.stderr)).toBe(`bunker: ${f}: process: is required${EINVAL}`);
        expect(r.code).toBe(125);
      }
    });

    test("config.json with wrong types: the JSON path of the first", async () => {
      const cases: [(c: any) => void, string][] = [
        [(c) => (c.process.args = [7]), "process.args[0]: must be a string"],
        [(c) => (c.process = "sh"), "process: must be an object"],
        [(c) => (c.process.env = { PATH: "/bin" }), "process.env: must be an array"],
        [(c) => (c.root = []), "root: must be an object"],
      ];
      for (const [edit, msg] of cases) {
        const f = writeConfig((c) => void edit(c));
        const r = await b(["create", "-b", bundle, newId()]);
        expect(oneLine(r.stderr)).toBe(`bunker: ${f}: ${msg}${EINVAL}`);
        expect(r.code).toBe(125);
      }
    });

    test("config.json with a 200000-deep array: refused before parsing, at its byte", async () => {
      let text = "";
      const f = writeConfig((c) => (text = `${JSON.stringify(c).slice(0, -1)},"annotations":${"[".repeat(200_000)}${"]".repeat(200_000)}}`));
      const r = await b(["run", "-b", bundle, newId()]);
      expect(oneLine(r.stderr)).toBe(`bunker: ${f}: ${tooDeep(text)}${EINVAL}`);
      expect(r.code).toBe(125);
    });

    test("a 20 MB process.env string and an env over ARG_MAX: E2BIG named before anything is set up", async () => {
      let f = writeConfig((c) => void c.process.env.push(`BIG=${"x".repeat(20_000_000)}`));
      let r = await b(["run", "-b", bundle, newId()]);
      const at = spec.process.env.length;
      expect(oneLine(r.stderr)).toBe(
        `bunker: ${f}: process.env[${at}]: 20000005 bytes: longer than Linux lets one execve string be (MAX_ARG_STRLEN, 131072): execve would fail with E2BIG${EINVAL}`,
      );
      expect(r.code).toBe(125);
      f = writeConfig((c) => void c.process.env.push(...Array.from({ length: 20 }, (_, i) => `V${i}=${"y".repeat(120_000)}`)));
      r = await b(["run", "-b", bundle, newId()]);
      expect(oneLine(r.stderr)).toMatch(
        new RegExp(`^bunker: ${f}: process.env: args and env take \\d+ bytes: more than Linux's ARG_MAX for execve \\(2097152, a quarter of the 8388608-byte stack limit\\): execve would fail with E2BIG${EINVAL.replace(/[()]/g, "\\$&")}$`),
      );
      expect(r.code).toBe(125);
    });

    test("args[0] with invalid UTF-8, or not there: the one not-found line, exit 127 (run -b; create + start)", async () => {
      // the byte 0xff inside the JSON string: read as U+FFFD, as Go's runc would read it as the raw byte; neither exists
      const f = writeConfig((c) => void (c.process.args = ["/bin/@x"]));
      const bytes = readFileSync(f);
      bytes[bytes.indexOf("/bin/@x") + 5] = 0xff;
      writeFileSync(f, bytes);
      const r = await b(["run", "-b", bundle, newId()]);
      expect(oneLine(r.stderr)).toBe(`bunker: exec "/bin/\ufffdx": executable file not found: ENOENT (No such file or directory) [/bin/\ufffdx] — check the command and the image's PATH`);
      expect(r.code).toBe(127);
      // create looks the command up before it waits (runc's LookPath): the one line, 127, no container left
      writeConfig((c) => void (c.process.args = ["/no/such"]));
      const id = newId();
      const err = join(base, "create.err");
      const c = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" >/dev/null 2>${err}`, bunkerBinary(), "--root", root, "create", "-b", bundle, id]), { cwd: bundle });
      expect(oneLine(readFileSync(err, "utf8"))).toBe(`bunker: exec "/no/such": executable file not found: ENOENT (No such file or directory) [/no/such] — check the command and the image's PATH`);
      expect(c.code).toBe(127);
      expect((await b(["state", id])).code).toBe(125);
    });

    test("a newline in a user-supplied name is escaped, the message stays one line", async () => {
      writeConfig((c) => void (c.process.args = ["/no\nsuch\x1b[2J"]));
      const r = await b(["run", "-b", bundle, newId()]);
      expect(oneLine(r.stderr)).toBe(`bunker: exec "/no\\nsuch\\x1b[2J": executable file not found: ENOENT (No such file or directory) [/no\\nsuch\\x1b[2J] — check the command and the image's PATH`);
      expect(r.code).toBe(127);
      const u = await b(["no\nsuch-command"]);
      expect(oneLine(u.stderr)).toBe(`bunker: unknown command "no\\nsuch-command": EINVAL (Invalid argument) — run 'bunker --help' for the list`);
    });

    // ---- exec --process ----

    test("exec --process: {}, wrong types, deep nesting, huge env", async () => {
      writeConfig((c) => void (c.process.args = ["sleep", "30"]));
      const id = newId();
      const err = join(base, "create2.err");
      const c = await runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" >/dev/null 2>${err}`, bunkerBinary(), "--root", root, "create", "-b", bundle, id]), { cwd: bundle });
      expect(c.code).toBe(0);
      const deep = `{"args":${"[".repeat(2_000_000)}${"]".repeat(2_000_000)}}`;
      const proc = { user: { uid: 0, gid: 0 }, cwd: "/", args: ["true"] };
      const cases: [string, string, string][] = [
        ["empty.json", "{}", "args: is required"],
        ["args.json", JSON.stringify({ ...proc, args: "true" }), "args: must be an array"],
        ["cwd.json", JSON.stringify({ ...proc, cwd: 3 }), "cwd: must be a string"],
        ["nul.json", JSON.stringify({ ...proc, args: ["/bin/sh\u0000x"] }), "args[0]: must not contain a NUL character"],
        ["env.json", JSON.stringify({ ...proc, env: [`A=${"z".repeat(200_000)}`] }), "env[0]: 200003 bytes: longer than Linux lets one execve string be (MAX_ARG_STRLEN, 131072): execve would fail with E2BIG"],
        ["deep.json", deep, tooDeep(deep)],
        ["list.json", "[1]", "must be a JSON object"],
      ];
      for (const [name, text, msg] of cases) {
        const f = file(name, text);
        const r = await b(["exec", "--process", f, id]);
        expect(oneLine(r.stderr)).toBe(`bunker: ${f}: ${msg}${EINVAL}`);
        expect(r.code).toBe(125);
      }
    });

    // ---- load ----

    describe("load of crafted archives", () => {
      const img = buildImage({ label: `hostile-${as}` });
      const load = (f: string) => bunkerAs(as, ["--data-root", join(base, "store"), "load", "-i", f]);
      const manifestJson = (m: unknown) => file(`docker-${sha256(enc.encode(JSON.stringify(m) ?? "")).slice(7, 19)}.tar`, tarOfFiles(new Map([["manifest.json", enc.encode(typeof m === "string" ? m : JSON.stringify(m))]])));

      test("docker-archive manifest.json: {}, wrong types, missing layers, 2M deep", async () => {
        const deep = `[{"Config":${"[".repeat(2_000_000)}${"]".repeat(2_000_000)}}]`;
        const cases: [unknown, string][] = [
          [{}, "manifest.json: must be an array"],
          [[], "manifest.json: names no image (an empty array)"],
          [[{ Config: 5, Layers: [] }], "manifest.json: [0].Config: must be a string"],
          [[{ Config: "c.json" }], "manifest.json: [0].Layers: is required"],
          [[{ Config: "c.json", Layers: "a/layer.tar" }], "manifest.json: [0].Layers: must be an array"],
          [[{ Config: "c.json", Layers: [], RepoTags: [1] }], "manifest.json: [0].RepoTags[0]: must be a string"],
          [deep, `manifest.json: ${tooDeep(deep)}`],
          ["[{]", "manifest.json: invalid JSON at line 1, column 3 (byte 2): expected a string key"],
        ];
        for (const [m, msg] of cases) {
          const r = await load(manifestJson(m));
          expect(oneLine(r.stderr)).toBe(`bunker: ${msg}${EINVAL}`);
          expect(r.code).toBe(125);
        }
        // 33 MiB of manifest.json: refused by its size in the tar header, never read
        const huge = await load(manifestJson(`[${" ".repeat(33 << 20)}]`));
        expect(oneLine(huge.stderr)).toBe(`bunker: manifest.json: too large: 34603010 bytes, at most 33554432 are read${EINVAL} — is it the right file?`);
        expect(huge.code).toBe(125);
      });

      test("docker-archive image config without rootfs, or with a bad diff_id", async () => {
        const withConfig = (cfg: unknown) => {
          const files = new Map<string, Uint8Array>();
          files.set("c.json", enc.encode(JSON.stringify(cfg)));
          files.set("manifest.json", enc.encode(JSON.stringify([{ Config: "c.json", RepoTags: ["hostile/x:1"], Layers: [] }])));
          return file(`cfg-${sha256(files.get("c.json")!).slice(7, 19)}.tar`, tarOfFiles(files));
        };
        const cases: [unknown, string][] = [
          [{ architecture: "amd64", os: "linux" }, "c.json: rootfs: is required"],
          [{ rootfs: { type: "layers", diff_ids: ["sha256:xyz"] } }, 'c.json: rootfs.diff_ids[0]: must be a sha256 digest (sha256: and 64 lowercase hex digits), not "sha256:xyz"'],
          [{ rootfs: { type: "layers", diff_ids: [] }, config: { Env: "A=1" } }, "c.json: config.Env: must be an array"],
          [[], "c.json: must be a JSON object"],
        ];
        for (const [cfg, msg] of cases) {
          const r = await load(withConfig(cfg));
          expect(oneLine(r.stderr)).toBe(`bunker: ${msg}${EINVAL}`);
          expect(r.code).toBe(125);
        }
      });

      test("OCI archive: index.json and manifests that are {}, of wrong types, with bad digests", async () => {
        const good = ociLayoutFiles([{ target: img, name: "1" }]);
        const hex = img.manifestDigest.slice(7);
        const variant = (name: string, edit: (files: Map<string, Uint8Array>) => void) => {
          const files = new Map(good);
          edit(files);
          return file(`oci-${name}.tar`, tarOfFiles(files));
        };
        /** the manifest blob replaced by DOC, index.json pointing at it */
        const manifestAs = (name: string, doc: unknown) =>
          variant(name, (files) => {
            const bytes = enc.encode(JSON.stringify(doc));
            const d = sha256(bytes);
            files.delete(`blobs/sha256/${hex}`);
            files.set(`blobs/sha256/${d.slice(7)}`, bytes);
            files.set("index.json", enc.encode(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d, size: bytes.length }] })));
          });
        const blobName = (doc: unknown) => `blobs/sha256/${sha256(enc.encode(JSON.stringify(doc))).slice(7)}`;
        const noLayers = { schemaVersion: 2, config: img.manifest.config };
        const badLayer = { ...img.manifest, layers: [{ ...img.manifest.layers[0], digest: "sha256:../../etc" }] };
        const cases: [string, string][] = [
          [variant("index-empty", (f) => f.set("index.json", enc.encode("{}"))), "index.json: schemaVersion: is required"],
          [variant("index-types", (f) => f.set("index.json", enc.encode('{"schemaVersion":2,"manifests":{}}'))), "index.json: manifests: must be an array"],
          [
            variant("index-digest", (f) => f.set("index.json", enc.encode(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "x", digest: "sha256:xyz", size: 1 }] })))),
            'index.json: manifests[0].digest: must be a sha256 digest (sha256: and 64 lowercase hex digits), not "sha256:xyz"',
          ],
          [manifestAs("manifest-empty", {}), `${blobName({})}: schemaVersion: is required`],
          [manifestAs("manifest-nolayers", noLayers), `${blobName(noLayers)}: layers: is required`],
          [
            manifestAs("manifest-badlayer", badLayer),
            `${blobName(badLayer)}: layers[0].digest: must be a sha256 digest (sha256: and 64 lowercase hex digits), not "sha256:../../etc"`,
          ],
        ];
        for (const [f, msg] of cases) {
          const r = await load(f);
          expect(oneLine(r.stderr)).toBe(`bunker: ${msg}${EINVAL}`);
          expect(r.code).toBe(125);
        }
        // and the good archive still loads, into the same store
        const ok = await load(variant("good", () => {}));
        expect(ok.stderr).toBe("");
        expect(ok.code).toBe(0);
      });

      test("a docker-archive that is fine loads (the checks accept real documents)", async () => {
        const r = await load(file("good-docker.tar", dockerArchive([{ image: img, tags: [`hostile/good:${as}`] }])));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
      });
    });
  });
}
