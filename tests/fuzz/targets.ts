// The fuzz targets (fast-check properties) of `make fuzz` (tests/fuzz/run.ts)
// and of the short run in `make test` (tests/unit/fuzz.test.ts): every parser
// and validator of untrusted input either returns a value or throws a
// BunkerError whose message is one line without control characters, never
// another exception, and in bounded time.  Inputs: a valid document mutated
// field by field (deleted, retyped, replaced by any JSON value, nested
// deeply), the same as text (truncated, bytes inserted), and random JSON;
// tar streams with mutated headers; argv of known flags, values and junk.
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { flagInt, HelpRequest, parseFlags, type FlagSpec } from "../../src/cli/args.ts";
import { parseId, resolveUser } from "../../src/oci/user.ts";
import { parseMountFlag, parseVolumeFlag } from "../../src/volume/spec.ts";
import { CREATE_FLAGS } from "../../src/cli/create.ts";
import { FLAGS as EXEC_FLAGS } from "../../src/cli/exec.ts";
import { FLAGS as RUN_FLAGS } from "../../src/cli/run.ts";
import { parseSignal } from "../../src/sys/signals.ts";
import { RESOURCE_FLAGS, resourcesFromParsed } from "../../src/cli/resource-flags.ts";
import { BunkerError } from "../../src/errors.ts";
import { parseDockerManifest, parseImageConfig, parseLayoutIndex, parseManifest } from "../../src/image/documents.ts";
import { parsePlatform } from "../../src/image/platform.ts";
import { parseReference } from "../../src/image/reference.ts";
import { TarReader } from "../../src/image/tar.ts";
import { tarBytes } from "../../src/image/tarwriter.ts";
import { defaultSpec } from "../../src/oci/default-spec.ts";
import { ensureUserNamespace, parseConfig, parseProcess, parseResources } from "../../src/oci/validate.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { encodePlan } from "../../src/sys/plan-encode.ts";
import { parsePublish } from "../../src/net/ports.ts";
import { parseNetwork } from "../../src/net/mode.ts";
import { parseAddHost, parseDns } from "../../src/net/etc.ts";

/** the longest one input may take (ms): a parser that is quadratic on a few KiB fails */
export const TIME_BOUND_MS = 2000;
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** a property's outcome is a problem when it is not a value or a one-line BunkerError */
export function verdict(fn: () => unknown): string | undefined {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    // -h or --help among the words: the parser's request for the command's help (main prints it), an answer too
    if (e instanceof HelpRequest) return undefined;
    if (!(e instanceof BunkerError)) return `threw ${(e as Error)?.constructor?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 200)}`;
    const line = e.format();
    if (CONTROL.test(line)) return `message has a control character: ${JSON.stringify(line.slice(0, 300))}`;
  }
  const ms = performance.now() - t0;
  if (ms > TIME_BOUND_MS) return `took ${Math.round(ms)} ms`;
  return undefined;
}

// ---- documents ----

type Json = unknown;
const enc = new TextEncoder();

/** every path (list of keys) of the containers and leaves in V */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

type Edit = { pick: number; how: "delete" | "replace" | "same-type" | "string" | "array" | "deep" | "huge"; value: Json; depth: number };

const edit: fc.Arbitrary<Edit> = fc.record({
  pick: fc.nat(),
  // same-type edits keep many documents valid, so the code after validation runs too
  how: fc.constantFrom("delete", "replace", "same-type", "same-type", "same-type", "string", "array", "deep", "huge"),
  value: fc.jsonValue({ maxDepth: 3 }),
  depth: fc.integer({ min: 1, max: 150 }),
});

/** a value of CUR's type made from E */
function sameType(cur: Json, e: Edit): Json {
  if (typeof cur === "string") return typeof e.value === "string" ? e.value : JSON.stringify(e.value) ?? "";
  if (typeof cur === "number") return typeof e.value === "number" ? e.value : e.depth * (e.pick % 3 === 0 ? -1 : 1) * 1000 ** (e.pick % 4);
  if (typeof cur === "boolean") return !cur;
  if (Array.isArray(cur)) return cur.length ? [...cur, structuredClone(cur[e.pick % cur.length])] : [e.value];
  if (cur && typeof cur === "object") return { ...cur, [typeof e.value === "string" ? e.value : "x"]: e.value };
  return e.value;
}

function nest(depth: number, inner: Json, arrays: boolean): Json {
  let v = inner;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
}

/** BASE with EDITS applied, each to a path chosen among the document's paths */
function applyEdits(base: Json, edits: Edit[]): Json {
  let doc = structuredClone(base);
  for (const e of edits) {
    const all = paths(doc);
    const path = all[e.pick % all.length]!;
    const replacement =
      e.how === "replace" ? e.value
      : e.how === "same-type" ? sameType(path.reduce((v: any, k) => v[k], doc), e)
      : e.how === "string" ? JSON.stringify(e.value) ?? ""
      : e.how === "array" ? [e.value]
      : e.how === "deep" ? nest(e.depth, e.value, e.depth % 2 === 0)
      : e.how === "huge" ? "x".repeat(e.depth * 1000)
      : undefined;
    if (path.length === 0) {
      doc = e.how === "delete" ? {} : replacement;
      continue;
    }
    let parent = doc as Record<string | number, Json>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
    const key = path.at(-1)!;
    if (e.how === "delete") {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else parent[key] = replacement;
  }
  return doc;
}

type TextEdit = { at: number; cut: boolean; insert: string };
const textEdit: fc.Arbitrary<TextEdit> = fc.record({ at: fc.nat(), cut: fc.boolean(), insert: fc.string({ unit: "binary", maxLength: 8 }) });

function applyText(text: string, edits: TextEdit[]): string {
  for (const e of edits) {
    const at = e.at % (text.length + 1);
    text = e.cut ? text.slice(0, at) + e.insert : text.slice(0, at) + e.insert + text.slice(at);
  }
  return text;
}

/** documents like BASE: mutated by field, mutated as text, deeply nested, or any JSON; plus the corpus files */
export function documents(base: Json, corpus: string[] = []): fc.Arbitrary<string | Uint8Array> {
  const text = JSON.stringify(base);
  const arbs: fc.WeightedArbitrary<string | Uint8Array>[] = [
    { weight: 6, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }).map((es) => JSON.stringify(applyEdits(base, es)) ?? "null") },
    fc.array(edit, { minLength: 1, maxLength: 3 }).chain((es) => fc.array(textEdit, { minLength: 1, maxLength: 3 }).map((ts) => applyText(JSON.stringify(applyEdits(base, es)) ?? "", ts))),
    fc.array(textEdit, { minLength: 1, maxLength: 5 }).map((ts) => applyText(text, ts)),
    fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array([...enc.encode(text.slice(0, text.length >> 1)), ...b])),
    fc.json({ maxDepth: 4 }),
    fc.tuple(fc.integer({ min: 90, max: 5000 }), fc.constantFrom("[", "{\"a\":", "[{\"b\":")).map(([n, open]) => open.repeat(n)),
  ].map((a) => ("weight" in a ? a : { weight: 1, arbitrary: a }));
  if (corpus.length) arbs.push({ weight: 1, arbitrary: fc.constantFrom(...corpus) });
  return fc.oneof(...arbs);
}

/** tests/fuzz/corpus/KIND/* as text */
export function corpus(kind: string): string[] {
  const dir = join(import.meta.dir, "corpus", kind);
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), "utf8"));
}

const bytesOf = (d: string | Uint8Array) => (typeof d === "string" ? enc.encode(d) : d);

// ---- the targets ----

export interface Target {
  name: string;
  /** a property that fails with the verdict's reason */
  property(): fc.IPropertyWithHooks<[unknown]>;
}

function target<T>(name: string, arb: () => fc.Arbitrary<T>, run: (input: T) => unknown): Target {
  return {
    name,
    property: () =>
      fc.property(arb(), (input) => {
        const problem = verdict(() => run(input as T));
        if (problem) throw new Error(problem);
      }) as unknown as fc.IPropertyWithHooks<[unknown]>,
  };
}

const spec = defaultSpec({ rootless: false, args: ["sh", "-c", "echo hi"], terminal: false });
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest("a"), size: 1469 },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digest("b"), size: 2479, annotations: { k: "v" } }],
};
const index = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{ mediaType: manifest.mediaType, digest: digest("c"), size: 528, platform: { architecture: "amd64", os: "linux" } }],
};
const imageConfig = {
  architecture: "amd64",
  os: "linux",
  config: { Env: ["PATH=/bin"], Entrypoint: null, Cmd: ["sh"], WorkingDir: "/", User: "0", Labels: { a: "b" }, ExposedPorts: { "80/tcp": {} } },
  rootfs: { type: "layers", diff_ids: [digest("d")] },
  history: [{ created_by: "x", empty_layer: false }],
};
const dockerManifest = [{ Config: `${"e".repeat(64)}.json`, RepoTags: ["busybox:latest"], Layers: [`${"f".repeat(64)}/layer.tar`] }];

// tar: a small valid archive, its header bytes flipped and its fields overwritten
const tarBase = tarBytes([
  { name: "dir/", type: "dir", mode: 0o755 },
  { name: "dir/file", data: "hello\n", mode: 0o644, uid: 1000, gid: 1000, xattrs: { "user.k": "v" } },
  { name: `long/${"n".repeat(150)}`, data: "x" },
  { name: "link", type: "symlink", linkname: "dir/file" },
]);
const tarInput = fc.oneof(
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }).map((flips) => {
    const b = tarBase.slice();
    for (const [at, v] of flips) b[at % 2048] = v; // the headers are in the first blocks
    return b;
  }),
  fc.tuple(fc.nat(), fc.string({ unit: "binary-ascii", maxLength: 16 })).map(([block, s]) => {
    const b = tarBase.slice();
    b.set(enc.encode(s).slice(0, 512), ((block % 8) * 512 + (block % 157)) % b.length);
    return b;
  }),
  fc.nat({ max: tarBase.length }).map((n) => tarBase.slice(0, n)),
  fc.uint8Array({ minLength: 512, maxLength: 2048 }),
);

function readTar(bytes: Uint8Array, chunk: number): void {
  const r = new TarReader({ entry: () => {}, data: () => {}, entryEnd: () => {} });
  for (let at = 0; at < bytes.length; at += chunk) r.push(bytes.subarray(at, at + chunk));
  r.end();
}

// argv: known flags (short and long, with = values), their values, "--", junk
function flagWords(specs: FlagSpec[]): string[] {
  return specs.flatMap((s) => s.names.flatMap((n) => (n.length === 1 ? [`-${n}`, `--${n}`] : [`--${n}`, `--${n}=`])));
}
const VALUES = ["type=volume,src=v,dst=/d,ro", "type=tmpfs,dst=/t,tmpfs-size=1k", "\"a,b\"=c", "v:/d:ro", "./x:/y", "1", "0", "-1", "1g", "512m", "1.5", "99999999999999999999999", "NaN", "", "=", "a=b", "/x", "host", "auto", "true", "false", "KILL", "\n", "\u0000", "é", "--"];
const argvOf = (specs: FlagSpec[]) =>
  fc.array(fc.oneof(fc.constantFrom(...flagWords(specs)), fc.constantFrom(...VALUES), fc.constantFrom("-", "--", "-it", "-ti", "-e", "-m1g"), fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 6 })), { maxLength: 12 });

/** the value parsers a command applies after parseFlags */
function interpret(p: ReturnType<typeof parseFlags>, where: string): void {
  resourcesFromParsed(p);
  for (const key of ["preserve-fds"]) flagInt(p, key, where);
  const sig = p.flags.get("signal")?.at(-1);
  if (sig !== undefined) parseSignal(sig);
  const user = p.flags.get("user")?.at(-1);
  if (user !== undefined) checkedUser(user);
  for (const g of p.flags.get("additional-gids") ?? []) parseId(g, where);
  for (const v of p.flags.get("volume") ?? []) parseVolumeFlag(v);
  for (const m of p.flags.get("mount") ?? []) parseMountFlag(m);
  const net = p.flags.get("network")?.at(-1);
  if (net !== undefined) parseNetwork(net);
  for (const x of p.flags.get("publish") ?? []) checkedPort(x);
  for (const h of p.flags.get("add-host") ?? []) parseAddHost(h);
  for (const d of p.flags.get("dns") ?? []) parseDns(d);
}

/** -p: ports and an address a socket takes, or an error */
function checkedPort(spec: string): void {
  const p = parsePublish(spec);
  const port = (n: number, min: number) => Number.isInteger(n) && n >= min && n <= 65535;
  if (!port(p.hostPort, 0) || !port(p.containerPort, 1) || !/^\d+\.\d+\.\d+\.\d+$/.test(p.hostIp)) throw new Error(`parsePublish(${JSON.stringify(spec)}) gave ${JSON.stringify(p)}`);
}

/** run --user: ids a kernel takes, or an error */
function checkedUser(spec: string): void {
  const u = resolveUser(spec, { passwd: "root:x:0:0::/root:/bin/sh\n", group: "root:x:0:\nstaff:x:50:root\n", of: "the rootfs" });
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n < 0xffffffff;
  if (!ok(u.uid) || !ok(u.gid) || !u.additionalGids.every(ok)) throw new Error(`resolveUser(${JSON.stringify(spec)}) gave ${JSON.stringify(u)}`);
}

export const TARGETS: Target[] = [
  // what create does with a config before clone: validate, rootless adjustment, plan, encoding
  target("config.json", () => documents(spec, corpus("config")), (d) => encodePlan(buildPlan(ensureUserNamespace(parseConfig(d), 1000, 1000)))),
  target("process.json", () => documents(spec.process, corpus("process")), (d) => parseProcess(d, "process.json")),
  target("update --resources", () => documents({ memory: { limit: 1 << 20, swap: -1 }, cpu: { shares: 2, cpus: "0-1" }, pids: { limit: 10 }, unified: { "a.b": "1" } }), (d) => parseResources(d, "resources.json")),
  target("manifest", () => documents(manifest, corpus("manifest")), (d) => parseManifest(bytesOf(d), "manifest")),
  target("index", () => documents(index, corpus("manifest")), (d) => parseLayoutIndex(bytesOf(d), "index.json")),
  target("image config", () => documents(imageConfig, corpus("image-config")), (d) => parseImageConfig(bytesOf(d), "config")),
  target("docker manifest.json", () => documents(dockerManifest, corpus("docker-manifest")), (d) => parseDockerManifest(bytesOf(d), "manifest.json")),
  target("tar headers", () => fc.tuple(tarInput, fc.constantFrom(1, 7, 512, 100000)), ([b, chunk]) => readTar(b, chunk)),
  target("run argv", () => argvOf(RUN_FLAGS), (argv) => interpret(parseFlags(argv, RUN_FLAGS, "run"), "run")),
  target("exec argv", () => argvOf(EXEC_FLAGS), (argv) => interpret(parseFlags(argv, EXEC_FLAGS, "exec"), "exec")),
  target("create argv", () => argvOf(CREATE_FLAGS), (argv) => parseFlags(argv, CREATE_FLAGS, "create", false)),
  target("update argv", () => argvOf(RESOURCE_FLAGS), (argv) => interpret(parseFlags(argv, RESOURCE_FLAGS, "update"), "update")),
  target("kill argv", () => argvOf([{ names: ["all", "a"] }, { names: ["signal", "s"], value: true }]), (argv) => interpret(parseFlags(argv, [{ names: ["all", "a"] }, { names: ["signal", "s"], value: true }], "kill", false), "kill")),
  target("image reference", () => fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom("busybox", "a/b:c@sha256:", "localhost:5000/x", "UPPER", "x:y:z", "@sha256:" + "a".repeat(64))), (s) => parseReference(s)),
  target("user ids", () => fc.oneof(fc.string({ maxLength: 24 }), fc.stringMatching(/^\d{1,25}(:\d{1,25})?$/)), (s) => checkedUser(s)),
  target("platform", () => fc.string({ maxLength: 30 }), (s) => parsePlatform(s)),
  target("-p", () => fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^((\d{1,4}\.){3}\d{1,4}:)?\d{0,6}:?\d{1,6}(\/(tcp|udp|x))?$/)), (s) => checkedPort(s)),
  target("--network", () => fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("pasta:", "pasta:--map-gw,", "slirp4netns:mtu=", "slirp4netns:cidr=1.2.3.4/99,mtu=70", "container:", "slirp4netns:=,,")), (s) => parseNetwork(s)),
  target("--add-host", () => fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[a-z.-]{0,8}:[0-9a-f.:]{0,20}$/)), (s) => parseAddHost(s)),
];
