// .dockerignore patterns (src/build/ignore.ts) with Docker's rules: the
// examples of Docker's reference, exceptions, `**`, cleaning, properties.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { isIgnored, mayIncludeBelow, parseIgnore, patternRegExp } from "../../src/build/ignore.ts";

const ignored = (text: string, path: string) => isIgnored(parseIgnore(text), path);

describe(".dockerignore", () => {
  test("the reference's examples: */temp*, */*/temp*, temp?", () => {
    expect(ignored("*/temp*", "somedir/temporary.txt")).toBe(true);
    expect(ignored("*/temp*", "somedir/temp")).toBe(true);
    expect(ignored("*/temp*", "temp")).toBe(false);
    expect(ignored("*/*/temp*", "somedir/subdir/temporary.txt")).toBe(true);
    expect(ignored("*/*/temp*", "somedir/temporary.txt")).toBe(false);
    expect(ignored("temp?", "tempa")).toBe(true);
    expect(ignored("temp?", "tempab")).toBe(false);
  });

  test("a pattern excludes a directory's whole tree; comments and blank lines are nothing", () => {
    const p = "# comment\n\nnode_modules\n  build/  \n";
    expect(ignored(p, "node_modules/x/y.js")).toBe(true);
    expect(ignored(p, "build/out.o")).toBe(true);
    expect(ignored(p, "src/build.ts")).toBe(false);
    expect(ignored(p, "# comment")).toBe(false);
  });

  test("** matches any number of directories, zero included", () => {
    expect(ignored("**/*.go", "a.go")).toBe(true);
    expect(ignored("**/*.go", "x/y/z/a.go")).toBe(true);
    expect(ignored("a/**/b", "a/b")).toBe(true);
    expect(ignored("a/**/b", "a/x/y/b")).toBe(true);
    expect(ignored("a/**", "a/x/y")).toBe(true);
    expect(ignored("**/*.go", "a.gox")).toBe(false);
  });

  test("! exceptions: the last matching line decides (the reference's *.md / !README*.md / README-secret.md)", () => {
    const p = "*.md\n!README*.md\nREADME-secret.md";
    expect(ignored(p, "CHANGES.md")).toBe(true);
    expect(ignored(p, "README.md")).toBe(false);
    expect(ignored(p, "README-secret.md")).toBe(true);
    expect(ignored("*.md\nREADME-secret.md\n!README*.md", "README-secret.md")).toBe(false);
    expect(ignored("docs\n!docs/keep", "docs/keep/a.txt")).toBe(false);
    expect(ignored("docs\n!docs/keep", "docs/other")).toBe(true);
  });

  test("patterns are cleaned: a leading / or ./, .. and doubled slashes", () => {
    expect(ignored("/secret", "secret")).toBe(true);
    expect(ignored("./a//b", "a/b")).toBe(true);
    expect(ignored("x/../y", "y")).toBe(true);
    expect(ignored("../../etc", "etc")).toBe(true);
  });

  test("character classes, negated classes, escapes", () => {
    expect(ignored("file[0-9]", "file7")).toBe(true);
    expect(ignored("file[!0-9]", "file7")).toBe(false);
    expect(ignored("file[!0-9]", "filex")).toBe(true);
    expect(ignored("a\\*b", "a*b")).toBe(true);
    expect(ignored("a\\*b", "axb")).toBe(false);
    expect(patternRegExp("a.b").test("axb")).toBe(false);
  });

  test("an ignored directory is still walked when an exception may take back something below it", () => {
    expect(mayIncludeBelow(parseIgnore("docs\n!docs/keep"), "docs")).toBe(true);
    expect(mayIncludeBelow(parseIgnore("docs\n!other"), "docs")).toBe(false);
    expect(mayIncludeBelow(parseIgnore("docs\n!**/*.md"), "docs")).toBe(true);
  });

  test("property: a literal name pattern ignores exactly that path and what is below it", () => {
    const seg = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(fc.property(fc.array(seg, { minLength: 1, maxLength: 4 }), fc.array(seg, { maxLength: 3 }), seg, (dir, below, other) => {
      const p = parseIgnore(dir.join("/"));
      return isIgnored(p, [...dir, ...below].join("/")) && (other === dir[0] || !isIgnored(p, [other, ...dir.slice(1)].join("/")));
    }));
  });

  test("property: !P after P takes every path back", () => {
    const seg = fc.stringMatching(/^[a-z*?]{1,6}$/);
    fc.assert(fc.property(fc.array(seg, { minLength: 1, maxLength: 3 }), fc.array(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 4 }), (pat, path) => {
      const p = pat.join("/");
      return !isIgnored(parseIgnore(`${p}\n!${p}`), path.join("/"));
    }));
  });
});
