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
  test("resolveCaps' walk of the table gives what sorting by number gave", async () => {
    const fc = (await import("fast-check")).default;
    const { CAPABILITIES, DOCKER_DEFAULT_CAPS, capNumber, resolveCaps } = await import("../../src/oci/caps.ts");
    const reference = (base: readonly string[], add: string[], drop: string[]) => {
      const norm = (c: string) => (c.toUpperCase() === "ALL" ? "ALL" : c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
      const adds = add.map(norm), drops = drop.map(norm);
      const out = adds.includes("ALL") ? new Set(CAPABILITIES.filter((c) => !drops.includes(c))) : drops.includes("ALL") ? new Set(adds) : new Set([...base.filter((c) => !drops.includes(c)), ...adds]);
      return [...out].sort((a, b) => capNumber(a)! - capNumber(b)!);
    };
    const name = fc.oneof(fc.constantFrom(...CAPABILITIES), fc.constantFrom(...CAPABILITIES).map((c) => c.slice(4).toLowerCase()), fc.constant("ALL"), fc.constant("all"));
    const base = fc.oneof(fc.constant(DOCKER_DEFAULT_CAPS), fc.subarray([...CAPABILITIES]).chain((a) => fc.shuffledSubarray(a, { minLength: a.length })));
    fc.assert(fc.property(base, fc.array(name, { maxLength: 6 }), fc.array(name, { maxLength: 6 }), (b, add, drop) => {
      expect(resolveCaps(b, add, drop)).toEqual(reference(b, add, drop));
    }), { numRuns: 3000 });
    expect(resolveCaps(DOCKER_DEFAULT_CAPS, [], [])).toEqual(reference(DOCKER_DEFAULT_CAPS, [], []));
  });
  test("passwdEntry's scan finds the entry splitting every line found", async () => {
    const fc = (await import("fast-check")).default;
    const { colonFields, passwdEntry } = await import("../../src/sys/passwd.ts");
    const reference = (text: string, uid: number) => {
      for (const f of colonFields(text)) if (f.length >= 3 && f[2] === String(uid)) return f;
      return undefined;
    };
    const field = fc.oneof(fc.constantFrom("0", "1", "10", "1001", "01", "", "x", "root", "a:b"), fc.string({ maxLength: 4 }));
    const line = fc.array(field, { maxLength: 8 }).map((f) => f.join(":"));
    const text = fc.tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom("", "\n", "\n\n")).map(([ls, end]) => ls.join("\n") + end);
    const uid = fc.constantFrom(0, 1, 10, 1001, 65534);
    fc.assert(fc.property(text, uid, (t, u) => { expect(passwdEntry(t, u)).toEqual(reference(t, u)); }), { numRuns: 5000 });
    expect(passwdEntry("root:x:0:0:root:/root:/bin/sh\nbt:x:1001:1001::/home/bt:/bin/sh\n", 1001)?.[0]).toBe("bt");
  });
});
