// A short run of the fuzz targets (tests/fuzz/targets.ts; `make fuzz` runs
// them longer), the corpus in tests/fuzz/corpus through its parsers, and the
// hostile documents of issue 11 with their exact one-line errors.
import { describe, expect, test } from "bun:test";
import { messageOf } from "../lib/error-line.ts";
import fc from "fast-check";
import { BunkerError } from "../../src/errors.ts";
import { parseDockerManifest, parseImageConfig, parseManifest } from "../../src/image/documents.ts";
import { parseJson } from "../../src/json.ts";
import { parseConfig, parseProcess } from "../../src/oci/validate.ts";
import { corpus, TARGETS, verdict } from "../fuzz/targets.ts";

const enc = new TextEncoder();

describe("fuzz (short run)", () => {
  for (const t of TARGETS) {
    test(t.name, () => {
      // a few hundred inputs each, under a quarter of a second
      const r = fc.check(t.property(), { numRuns: 400, interruptAfterTimeLimit: 250, markInterruptAsFailure: false });
      if (r.failed) throw new Error(`${(r.errorInstance as Error)?.message} on ${JSON.stringify(r.counterexample)?.slice(0, 300)} (seed ${r.seed})`);
      expect(r.numRuns).toBeGreaterThan(20);
    });
  }
});

describe("corpus", () => {
  const parsers: Record<string, (t: string) => unknown> = {
    config: (t) => parseConfig(t),
    process: (t) => parseProcess(t, "process.json"),
    manifest: (t) => parseManifest(enc.encode(t), "manifest"),
    "image-config": (t) => parseImageConfig(enc.encode(t), "config"),
    "docker-manifest": (t) => parseDockerManifest(enc.encode(t), "manifest.json"),
  };
  for (const [kind, parse] of Object.entries(parsers)) {
    test(`${kind}: every file parses or is refused in one line`, () => {
      const docs = corpus(kind);
      expect(docs.length).toBeGreaterThan(3);
      for (const d of docs) expect(verdict(() => parse(d))).toBeUndefined();
    });
  }
});

describe("hostile documents", () => {
  const proc = { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"] };
  const config = { ociVersion: "1.2.0", root: { path: "rootfs" }, process: proc };

  test("2 million levels deep: refused by the scan, quickly, at the byte", () => {
    const deep = `{"a":${"[".repeat(2_000_000)}${"]".repeat(2_000_000)}}`;
    const t0 = performance.now();
    expect(messageOf(() => parseJson(deep, "m.json", "image"))).toBe("bunker: m.json: JSON nested deeper than 100 levels at line 1, column 105 (byte 104): EINVAL (Invalid argument)");
    expect(messageOf(() => parseManifest(enc.encode(`[${deep}]`), "manifest"))).toStartWith("bunker: manifest: JSON nested deeper than 100 levels at line 1, column 105 (byte 104)");
    expect(performance.now() - t0).toBeLessThan(1000);
    // at the bound itself it parses
    expect(() => parseJson(`${"[".repeat(100)}${"]".repeat(100)}`, "x", "image")).not.toThrow();
  });

  test("too large for its kind, said before parsing", () => {
    expect(messageOf(() => parseJson(new Uint8Array(4 * 2 ** 20 + 1), "index.json", "manifest"))).toBe(
      "bunker: index.json: too large: 4194305 bytes, at most 4194304 are read: EINVAL (Invalid argument) — is it the right file?",
    );
  });

  test("config.json: no process, 200000-deep array, 20 MB env, env over ARG_MAX, NUL in args", () => {
    const c = (o: object) => JSON.stringify({ ...config, ...o });
    expect(messageOf(() => parseConfig(JSON.stringify({ ociVersion: "1.2.0", root: { path: "r" } })))).toBe("bunker: config.json: process: is required: EINVAL (Invalid argument)");
    const deep = `${c({}).slice(0, -1)},"annotations":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    expect(messageOf(() => parseConfig(deep))).toMatch(/^bunker: config\.json: JSON nested deeper than 100 levels at line 1, column \d+ \(byte \d+\): EINVAL/);
    expect(messageOf(() => parseConfig(c({ process: { ...proc, env: [`A=${"x".repeat(20_000_000)}`] } })))).toBe(
      "bunker: config.json: process.env[0]: 20000003 bytes: longer than Linux lets one execve string be (MAX_ARG_STRLEN, 131072): execve would fail with E2BIG: EINVAL (Invalid argument)",
    );
    const many = Array.from({ length: 20 }, (_, i) => `V${i}=${"y".repeat(120_000)}`);
    expect(messageOf(() => parseConfig(c({ process: { ...proc, env: many } })))).toBe(
      "bunker: config.json: process.env: args and env take 2400261 bytes: more than Linux's ARG_MAX for execve (2097152, a quarter of the 8388608-byte stack limit): execve would fail with E2BIG: EINVAL (Invalid argument)",
    );
    // a larger stack limit for the process allows more, as the kernel does
    const rlimits = [{ type: "RLIMIT_STACK", soft: 16 << 20, hard: 16 << 20 }];
    expect(() => parseConfig(c({ process: { ...proc, env: many, rlimits } }))).not.toThrow();
    expect(messageOf(() => parseConfig(c({ process: { ...proc, args: ["/bin/sh\u0000-c"] } })))).toBe("bunker: config.json: process.args[0]: must not contain a NUL character: EINVAL (Invalid argument)");
  });

  test("user-supplied control characters are escaped in the one line", () => {
    expect(messageOf(() => parseConfig(JSON.stringify({ ...config, process: { ...proc, capabilities: { bounding: ["CAP_X\n\u001b[2J\u0085\u2028"] } } })))).toBe(
      'bunker: config.json: process.capabilities.bounding[0]: unknown capability "CAP_X\\n\\u001b[2J\\x85\\u2028": EINVAL (Invalid argument)',
    );
    expect(new BunkerError("a\nb", { path: "/x\ty", fix: "\r" }).format()).toBe("bunker: a\\nb [/x\\ty] — \\r");
    expect(new BunkerError("lone \ud800 surrogate").format()).toBe("bunker: lone \ufffd surrogate");
  });

  test("manifests: {}, wrong types, missing layers, bad digests", () => {
    const d = `sha256:${"a".repeat(64)}`;
    const m = (o: object) => enc.encode(JSON.stringify(o));
    const cases: [object, string][] = [
      [{}, "schemaVersion: is required"],
      [{ schemaVersion: "2" }, "schemaVersion: must be an integer"],
      [{ schemaVersion: 1 }, "schemaVersion: must be 2 (Docker schema2 or OCI), not 1"],
      [{ schemaVersion: 2, config: { mediaType: "x", digest: d, size: 1 } }, "layers: is required"],
      [{ schemaVersion: 2, config: { mediaType: "x", digest: d, size: 1 }, layers: {} }, "layers: must be an array"],
      [{ schemaVersion: 2, config: { mediaType: "x", digest: "md5:1", size: 1 }, layers: [] }, 'config.digest: must be a sha256 digest (sha256: and 64 lowercase hex digits), not "md5:1"'],
      [{ schemaVersion: 2, config: { mediaType: "x", digest: d, size: -1 }, layers: [] }, "config.size: must be >= 0"],
      [{ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ mediaType: "x", digest: d, size: 1, platform: { os: "linux" } }] }, "manifests[0].platform.architecture: is required"],
    ];
    for (const [doc, msg] of cases) expect(messageOf(() => parseManifest(m(doc), "manifest"))).toBe(`bunker: manifest: ${msg}: EINVAL (Invalid argument)`);
    expect(parseManifest(m({ schemaVersion: 2, config: { mediaType: "x", digest: d, size: 1 }, layers: [] }), "m").manifest?.layers).toEqual([]);
  });
});
