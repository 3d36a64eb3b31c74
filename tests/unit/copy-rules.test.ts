// docker cp's rules (src/container/copy-rules.ts) and the archive renaming
// (src/image/tar-rebase.ts), pure: what each source and destination make of
// the extraction directory and the entries' names.
import { describe, expect, test } from "bun:test";
import { assertsDirectory, cleanKeepingTrail, parseCopyEnd, prepareArchiveCopy, splitDirEntry } from "../../src/container/copy-rules.ts";
import { rebaseName, rebaseTar, unconfined } from "../../src/image/tar-rebase.ts";
import { tarBytes } from "../../src/image/tarwriter.ts";
import { TarReader } from "../../src/image/tar.ts";
import { BunkerError } from "../../src/errors.ts";

describe("docker cp's paths", () => {
  test("an argument names a container unless it starts with / or . (a local path may hold a colon)", () => {
    expect(parseCopyEnd("web:/etc/hosts")).toEqual({ container: "web", path: "/etc/hosts" });
    expect(parseCopyEnd("/tmp/a:b")).toEqual({ local: "/tmp/a:b" });
    expect(parseCopyEnd("./a:b")).toEqual({ local: "./a:b" });
    expect(parseCopyEnd("-")).toEqual({ local: "-" });
    expect(parseCopyEnd(":x")).toEqual({ local: ":x" });
  });

  test("a trailing / or /. asserts a directory, kept through cleaning; the split keeps a final .", () => {
    expect([assertsDirectory("/a/"), assertsDirectory("/a/."), assertsDirectory("/a"), assertsDirectory(".")]).toEqual([true, true, false, true]);
    expect([cleanKeepingTrail("/a//b/../c/"), cleanKeepingTrail("/a/./."), cleanKeepingTrail("/"), cleanKeepingTrail("x/y")]).toEqual(["/a/c/", "/a/.", "/", "x/y"]);
    expect([splitDirEntry("/a/b"), splitDirEntry("/a/b/."), splitDirEntry("/"), splitDirEntry("b"), splitDirEntry("/a/../../b")]).toEqual([
      ["/a", "b"], ["/a/b", "."], ["/", "."], [".", "b"], ["/", "b"],
    ]);
  });
});

describe("where an archive of the source goes (PrepareArchiveCopy)", () => {
  const file = { path: "/src/f.txt", exists: true, isDir: false };
  const dir = { path: "/src/d", exists: true, isDir: true };
  test("into an existing directory as it is; onto a new name or an existing file renamed; DIR/. its contents under the new name", () => {
    expect(prepareArchiveCopy(file, { path: "/dst", exists: true, isDir: true })).toEqual({ dir: "/dst", rebase: { from: "", to: "" } });
    expect(prepareArchiveCopy(file, { path: "/dst/g.txt", exists: true, isDir: false })).toEqual({ dir: "/dst", rebase: { from: "f.txt", to: "g.txt" } });
    expect(prepareArchiveCopy(dir, { path: "/dst/new", exists: false, isDir: false })).toEqual({ dir: "/dst", rebase: { from: "d", to: "new" } });
    expect(prepareArchiveCopy({ ...dir, path: "/src/d/." }, { path: "/dst/new", exists: false, isDir: false })).toEqual({ dir: "/dst", rebase: { from: ".", to: "new" } });
    // cp -L: the link's target, archived under the link's name
    expect(prepareArchiveCopy({ ...file, rebaseName: "link" }, { path: "/dst/x", exists: false, isDir: false }).rebase).toEqual({ from: "link", to: "x" });
  });
  test("a directory onto a file, a file onto a missing DIR/: errors naming the path", () => {
    expect(() => prepareArchiveCopy(dir, { path: "/dst/f", exists: true, isDir: false })).toThrow(/cannot copy a directory onto a file/);
    try {
      prepareArchiveCopy(file, { path: "/dst/none/", exists: false, isDir: false });
      throw new Error("no error");
    } catch (e) {
      expect((e as BunkerError).format()).toMatch(/destination directory does not exist.*ENOENT.*\[\/dst\/none\/\]/);
    }
  });
});

/** the entries (name, link, body) of a tar */
function entries(bytes: Uint8Array): [string, string, string][] {
  const out: [string, string, string][] = [];
  let body = "";
  const r = new TarReader({ entry: () => void (body = ""), data: (c) => void (body += new TextDecoder().decode(c)), entryEnd: (e) => void out.push([e.name, e.linkname, body]) });
  r.push(bytes);
  r.end();
  return out;
}

async function rebased(bytes: Uint8Array, from: string, to: string, confined = false): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  async function* one() {
    // split mid-header and mid-body: the renaming holds no piece it was given
    for (let i = 0; i < bytes.length; i += 700) yield bytes.subarray(i, i + 700);
  }
  for await (const c of rebaseTar(one(), { from, to }, confined)) parts.push(c);
  return Buffer.concat(parts);
}

describe("renaming an archive's entries", () => {
  test("the first component FROM becomes TO, tar's ./ dropped, a hard link's target too; bodies intact", async () => {
    expect([rebaseName("./d/x", { from: "d", to: "n" }), rebaseName("d", { from: "d", to: "n" }), rebaseName("dd/x", { from: "d", to: "n" }), rebaseName("./x", { from: ".", to: "n" })]).toEqual(["n/x", "n", "dd/x", "n/x"]);
    const tar = tarBytes([{ name: "./d/", type: "dir" }, { name: "./d/a", data: "x".repeat(1500) }, { name: "./d/h", type: "hardlink", linkname: "./d/a" }, { name: "./d/s", type: "symlink", linkname: "d/a" }]);
    expect(entries(await rebased(tar, "d", "new"))).toEqual([["new/", "", ""], ["new/a", "", "x".repeat(1500)], ["new/h", "new/a", ""], ["new/s", "d/a", ""]]);
  });
  test("confined: an absolute name, a .. component, a hard link out are refused", async () => {
    expect([unconfined("/etc/x"), unconfined("a/../../b"), unconfined("a/..b")]).toEqual(["an absolute name", "a '..' component", undefined]);
    for (const e of [{ name: "/etc/passwd", data: "x" }, { name: "a/../../x", data: "x" }, { name: "h", type: "hardlink" as const, linkname: "../../etc/shadow" }])
      await expect(rebased(tarBytes([e]), "", "", true)).rejects.toThrow(/would be extracted outside the destination/);
  });
});
