// The architecture's rules, read from the sources (../shared/DESIGN.md):
// (src/build, the engine of `bunker build`, sits beside src/container: it runs RUN steps through run.ts)
// imports go one way, cli|api -> container -> oci/image/cgroup/net/volume ->
// sys -> plan (the Plan is pure data and pure functions: the Launcher in sys
// encodes and starts it, so sys imports plan, never the reverse); only src/cli (and src/main.ts) print or read bunker's
// environment and ids (the engine gets them in its RuntimeContext); only
// src/sys touches bun:ffi.  Each rule is also run on a synthetic snippet that
// breaks it, so a checker that stopped seeing violations fails here too.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "../../src");

/** the layer of a file under src/ ("cli/run.ts" -> "cli"; a top-level module is "shared", main.ts is "main") */
function layerOf(file: string): string {
  if (file === "main.ts") return "main";
  const top = file.split("/")[0]!;
  return top === file ? "shared" : top;
}

/** lower rank = higher layer; a module may import a layer of a higher rank, its own layer, or a sibling of the same rank */
const RANK: Record<string, number> = { main: 0, cli: 1, api: 1, container: 2, build: 2, oci: 3, image: 3, cgroup: 3, net: 3, volume: 3, sys: 4, plan: 5, shared: 6 };

/** imports against the rank order that the design allows, each with its reason */
const ALLOWED: { from: RegExp; to: RegExp; typeOnly?: boolean; why: string }[] = [
  { from: /^plan\//, to: /^oci\//, why: "the plan's input is a runtime-spec config: its types, the rlimit and capability tables" },
  { from: /^sys\/launch\.ts$/, to: /^oci\/rlimits\.ts$/, why: "a child's failed setrlimit is named as the config names it" },
  { from: /./, to: /^oci\/spec\.ts$/, typeOnly: true, why: "the runtime-spec's types are the shared vocabulary (IDMapping, Process, …)" },
  { from: /^[^/]+\.ts$/, to: /^sys\/errno\.ts$/, why: "the one error type names errno values" },
  { from: /^[^/]+\.ts$/, to: /^sys\/fs-sync\.ts$/, why: "node:fs's synchronous calls without node:fs, for the start-up paths (events.ts, json.ts read and write files as they did with node:fs)" },
];

/** files below src/cli that may read what the rules forbid, with the reason */
const ENV_EXCEPTIONS: Record<string, string> = {
  "sys/idmap.ts": "processIds(): the kernel's view of this process, which decides what its own syscalls may do; $USER names only the caller (userName)",
};

/** files below src/cli that may print, with the reason */
const PRINT_EXCEPTIONS: Record<string, string> = {
  "plan/gen-header.ts": "the build's generator of build/ops.h from the op table, run by make: not part of bunker",
};

export interface Violation {
  file: string;
  rule: string;
  detail: string;
}

/** the source without comments (a rule must not fire on a comment that names process.env) */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** the relative imports of TEXT: static, re-exports and dynamic import("…") */
function importsOf(text: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\sfrom\s+"([^"]+)"/gm)) out.push({ spec: m[3]!, typeOnly: !!m[2] });
  for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

/** every rule broken by FILES (path under src/ -> its text) */
export function violations(files: Record<string, string>): Violation[] {
  const found: Violation[] = [];
  for (const [file, text] of Object.entries(files)) {
    const src = code(text);
    const from = layerOf(file);
    for (const { spec, typeOnly } of importsOf(src)) {
      if (spec === "bun:ffi" && from !== "sys") found.push({ file, rule: "bun:ffi only in src/sys", detail: spec });
      if (!spec.startsWith(".")) continue;
      const target = normalize(join(dirname(file), spec));
      if (target.startsWith("..")) continue; // outside src (build artefacts: the shim, the monitor)
      const to = layerOf(target);
      if (to === from || RANK[from] === RANK[to] && from !== "cli" && from !== "api") continue;
      if (from === "main" || (RANK[to]! > RANK[from]! && !(from === "shared" && to !== "shared"))) continue;
      if (ALLOWED.some((a) => a.from.test(file) && a.to.test(target) && (!a.typeOnly || typeOnly))) continue;
      found.push({ file, rule: "imports go down: cli|api -> container -> oci/image/cgroup/net/volume -> sys -> plan", detail: `imports ${target}` });
    }
    if (from === "cli" || from === "main") continue;
    if (!PRINT_EXCEPTIONS[file]) for (const m of src.matchAll(/\bconsole\.\w+|\bprocess\.(stdout|stderr)\b/g)) found.push({ file, rule: "only src/cli prints", detail: m[0] });
    if (ENV_EXCEPTIONS[file]) continue;
    for (const m of src.matchAll(/\bprocess\.(env|get[ue]?[ug]id|getgroups|cwd|execPath)\b/g))
      found.push({ file, rule: "the environment and the process's ids come in the RuntimeContext", detail: m[0] });
  }
  return found;
}

function sources(dir: string, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out[relative(SRC, p)] = readFileSync(p, "utf8");
  }
  return out;
}

describe("layering of src/", () => {
  test("the sources keep every rule", () => {
    expect(violations(sources(SRC))).toEqual([]);
  });

  test("an upward import is found: src/image importing src/container, src/cgroup importing src/cli", () => {
    const v = violations({
      "image/x.ts": `import { launch } from "../container/launch.ts";`,
      "cgroup/y.ts": `import type { Parsed } from "../cli/args.ts";\nexport { z } from "../cli/args.ts";`,
      "sys/z.ts": `const m = await import("../container/run.ts");`,
    });
    expect(v.map((x) => `${x.file} ${x.detail}`)).toEqual(["image/x.ts imports container/launch.ts", "cgroup/y.ts imports cli/args.ts", "cgroup/y.ts imports cli/args.ts", "sys/z.ts imports container/run.ts"]);
  });

  test("the allowed directions and exceptions pass; api and cli do not import each other", () => {
    expect(violations({
      "cli/a.ts": `import { run } from "../container/run.ts";\nimport { x } from "./b.ts";`,
      "container/b.ts": `import { Store } from "../image/store.ts";\nimport { launch } from "../sys/launch.ts";`,
      "image/c.ts": `import { parseBytes } from "../cgroup/flags.ts";\nimport type { Op } from "../plan/types.ts";`,
      "plan/d.ts": `import type { Spec } from "../oci/spec.ts";`,
      "sys/e.ts": `import type { Plan } from "../plan/types.ts";\nimport { withSharedMemory } from "../plan/finalize.ts";\nimport type { IDMapping } from "../oci/spec.ts";\nimport { dlopen } from "bun:ffi";`,
    })).toEqual([]);
    expect(violations({ "api/f.ts": `import { parseFlags } from "../cli/args.ts";`, "plan/g.ts": `import { spawn } from "../sys/shim.ts";`, "sys/h.ts": `import { OCI_VERSION } from "../oci/spec.ts";` }).map((x) => x.file)).toEqual(["api/f.ts", "plan/g.ts", "sys/h.ts"]);
  });

  test("printing and reading the environment below src/cli are found; a comment naming them is not", () => {
    const v = violations({
      "container/p.ts": `// process.env and console.log are named here only\nexport const f = () => console.error("x");`,
      "image/q.ts": `const h = process.env.HOME; const u = process.getuid!(); process.stderr.write("n");`,
      "oci/r.ts": `const d = process.cwd();`,
      "cli/s.ts": `console.log(process.env.HOME);`,
    });
    expect(v.map((x) => `${x.file} ${x.detail}`)).toEqual(["container/p.ts console.error", "image/q.ts process.stderr", "image/q.ts process.env", "image/q.ts process.getuid", "oci/r.ts process.cwd"]);
  });

  test("bun:ffi outside src/sys is found", () => {
    expect(violations({ "container/t.ts": `import { dlopen } from "bun:ffi";` }).map((x) => x.rule)).toEqual(["bun:ffi only in src/sys"]);
  });
});
