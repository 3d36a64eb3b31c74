// What COPY and ADD read (src/build/sources.ts): the context with its
// .dockerignore, an image's layers merged as overlay would (whiteouts,
// opaque directories, the upper layer winning), sources with wildcards, and
// the content hash that keys the build cache.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as fs from "../../src/sys/fsat.ts";
import { cleanSource, contentHash, ContextTree, LayersTree, resolveSource, resolveSources, walk } from "../../src/build/sources.ts";
import { tempDir } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const d = tempDir("bunker-build-src-");
  dirs.push(d);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(d, p, ".."), { recursive: true });
    if (p.endsWith("/")) mkdirSync(join(d, p), { recursive: true });
    else writeFileSync(join(d, p), content);
  }
  return d;
}

const rels = (t: ContextTree | LayersTree, src: string) => resolveSource(t, src).map((e) => e.rel);

describe("the build context", () => {
  test(".dockerignore leaves files out of stat, list and wildcards; an exception takes one back from an ignored directory", () => {
    const d = tree({ ".dockerignore": "*.key\nlogs\n!logs/keep.log\n", "a.txt": "a", "b.key": "k", "logs/x.log": "x", "logs/keep.log": "k", "src/c.txt": "c" });
    const t = new ContextTree(d);
    expect(t.stat("b.key")).toBeUndefined();
    expect(t.stat("logs/x.log")).toBeUndefined();
    expect(t.stat("logs/keep.log")?.type).toBe("file");
    expect(t.list("")).toEqual([".dockerignore", "a.txt", "logs", "src"]);
    expect(t.list("logs")).toEqual(["keep.log"]);
    expect(rels(t, "*")).toEqual([".dockerignore", "a.txt", "logs", "src"]);
    expect(walk(t, t.stat("logs")!).map((e) => e.rel)).toEqual(["logs", "logs/keep.log"]);
  });

  test("sources: a path, wildcards per component (Go's filepath.Match), .. cannot climb out of the context", () => {
    const d = tree({ "a.txt": "a", "b.txt": "b", "c.md": "c", "sub/one/x": "1", "sub/two/x": "2", "sub/two/y": "3" });
    const t = new ContextTree(d);
    expect(rels(t, "*.txt")).toEqual(["a.txt", "b.txt"]);
    expect(rels(t, "sub/*/x")).toEqual(["sub/one/x", "sub/two/x"]);
    expect(rels(t, "[ab].txt")).toEqual(["a.txt", "b.txt"]);
    expect(rels(t, "?.md")).toEqual(["c.md"]);
    expect(rels(t, "nothing*")).toEqual([]);
    expect(cleanSource("../../a.txt")).toBe("a.txt");
    expect(cleanSource("./sub/../a.txt")).toBe("a.txt");
    expect(rels(t, "../a.txt")).toEqual(["a.txt"]);
    expect(rels(t, ".")).toEqual([""]);
    expect(() => resolveSources(t, ["a.txt", "missing.txt"], "Dockerfile:3: COPY")).toThrow("Dockerfile:3: COPY: missing.txt: not found in the build context (or excluded by .dockerignore)");
  });

  test("symlinks are entries of their own (not followed), with their target", () => {
    const d = tree({ "real/f": "x" });
    symlinkSync("real/f", join(d, "link"));
    expect(new ContextTree(d).stat("link")).toMatchObject({ type: "symlink", link: "real/f" });
  });
});

describe("an image's layers", () => {
  test("the upper layer wins; a whiteout deletes below; an opaque directory hides what the layers below have in it", () => {
    const lower = tree({ "etc/passwd": "lower", "etc/group": "lower", "opt/a": "a", "opt/b": "b", "keep/k": "k" });
    const upper = tree({ "etc/passwd": "upper", "opt/c": "c" });
    fs.mknodat(fs.AT_FDCWD, join(upper, "etc/group"), fs.S_IFCHR, 0); // overlay's whiteout
    fs.lsetxattr(join(upper, "opt"), "user.overlay.opaque", new TextEncoder().encode("y"));
    const t = new LayersTree("stage build", [upper, lower]);
    expect(t.stat("etc/passwd")?.path).toBe(join(upper, "etc/passwd"));
    expect(t.stat("etc/group")).toBeUndefined();
    expect(t.list("etc")).toEqual(["passwd"]);
    expect(t.list("opt")).toEqual(["c"]);
    expect(t.stat("opt/a")).toBeUndefined();
    expect(t.list("")).toEqual(["etc", "keep", "opt"]);
    expect(rels(t, "keep/*")).toEqual(["keep/k"]);
    expect(() => resolveSources(t, ["etc/group"], "Dockerfile:9: COPY")).toThrow("Dockerfile:9: COPY: etc/group: not found in stage build");
  });

  test("a file of an upper layer hides a directory of the same name below", () => {
    const lower = tree({ "x/inner": "i" });
    const upper = tree({ x: "now a file" });
    const t = new LayersTree("image x", [upper, lower]);
    expect(t.stat("x")?.type).toBe("file");
    expect(t.stat("x/inner")).toBeUndefined();
  });
});

describe("the content hash of COPY's sources", () => {
  test("changes with a byte, a name or a mode; not with a file's time", async () => {
    const d = tree({ "dir/a": "one", "dir/b": "two" });
    const t = new ContextTree(d);
    const hash = () => contentHash(t, [t.stat("dir")!]);
    chmodSync(join(d, "dir/a"), 0o644); // whatever the umask made it
    const first = await hash();
    utimesSync(join(d, "dir/a"), new Date(0), new Date(0));
    expect(await hash()).toBe(first);
    writeFileSync(join(d, "dir/a"), "ONE");
    const changed = await hash();
    expect(changed).not.toBe(first);
    chmodSync(join(d, "dir/a"), 0o600);
    expect(await hash()).not.toBe(changed);
    writeFileSync(join(d, "dir/a"), "one");
    chmodSync(join(d, "dir/a"), 0o644);
    expect(await hash()).toBe(first);
    writeFileSync(join(d, "dir/c"), "");
    expect(await hash()).not.toBe(first);
  });
});
