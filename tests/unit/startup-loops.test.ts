// Plain loops that replace a regex on a start-up path (a compiled bunker's first regex costs
// ~0.04 ms): each gives what its regex gave, over generated strings (fast-check).
import { describe, expect, test } from "bun:test";

describe("the loops that stand in for a start's first regexes", () => {
  test("isIdChars is ID_RE's test, over any string", async () => {
    const fc = (await import("fast-check")).default;
    const { ID_RE, isIdChars } = await import("../../src/container/state-read.ts");
    const chars = fc.constantFrom(..."aZ09_+-./ \0é😀:@".split(""), ..."abcXYZ.-_+".split(""));
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(chars).map((a) => a.join(""))), (s) => isIdChars(s) === ID_RE.test(s)), { numRuns: 5000 });
    for (const s of ["", "a", "A-b_c+d.e", "a b", "a/b", "é", "😀", "x\n"]) expect(isIdChars(s)).toBe(ID_RE.test(s));
  });
  test("child() and the ociVersion check give what their regexes gave", async () => {
    const fc = (await import("fast-check")).default;
    const { child } = await import("../../src/json.ts");
    const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
    const keys = fc.oneof(fc.string(), fc.array(fc.constantFrom(..."aZ_09.-[ é".split(""))).map((a) => a.join("")));
    fc.assert(fc.property(keys, (k) => child("p", k) === (ident.test(k) ? `p.${k}` : `p[${JSON.stringify(k)}]`)), { numRuns: 5000 });
    const { parseConfig } = await import("../../src/oci/validate.ts");
    const config = (v: string) => JSON.stringify({ ociVersion: v, root: { path: "r" }, process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 } } });
    const accepts = (v: string) => { try { parseConfig(config(v)); return true; } catch { return false; } };
    const versionRe = /^\d+\.\d+\.\d+/;
    fc.assert(fc.property(fc.array(fc.constantFrom(..."0129.a- ".split(""))).map((a) => a.join("")), (v) => accepts(v) === versionRe.test(v)), { numRuns: 3000 });
  });
  test("isOciRun's flag lookup skips the values the set of FLAGS' names skipped", async () => {
    const fc = (await import("fast-check")).default;
    const { FLAGS, isOciRun } = await import("../../src/cli/run.ts");
    const takesValue = new Set<string>();
    for (const f of FLAGS) if (f.value) for (const n of f.names) takesValue.add(n.length === 1 ? `-${n}` : `--${n}`);
    const OCI = new Set(["-b", "--bundle", "--console-socket", "--pid-file", "--keep", "--no-new-keyring", "--no-subreaper"]);
    const reference = (argv: string[]) => {
      for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        if (a === "--" || !a.startsWith("-") || a === "-") return false;
        const name = a.startsWith("--") && a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
        if (OCI.has(name)) return true;
        if (takesValue.has(name) && !a.includes("=")) i++;
      }
      return false;
    };
    const names: string[] = [];
    for (const f of FLAGS) for (const n of f.names) names.push(`-${n}`, `--${n}`, `--${n}=v`);
    const arg = fc.oneof(fc.constantFrom(...names, ...OCI, "--", "-", "img", "-b", "--bundle=x", "-it", "---e"), fc.string());
    fc.assert(fc.property(fc.array(arg, { maxLength: 6 }), (argv) => isOciRun(argv) === reference(argv)), { numRuns: 5000 });
  });
});
