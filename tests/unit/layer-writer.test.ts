// The layer writer: an overlay upper dir with every kind of entry becomes an
// OCI layer tar (whiteouts, opaque dirs, hardlinks, owners, modes, mtimes,
// xattrs, symlinks, fifos, devices as root), compressed, digested, stored and
// unpacked in the store; the same tree gives the same diffId.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as fs from "../../src/sys/fsat.ts";
import { processIds, singleMaps } from "../../src/sys/idmap.ts";
import { ociLayerEntries, sourceDateEpoch, writeLayer } from "../../src/image/layer-writer.ts";
import { TarReader, type TarEntry } from "../../src/image/tar.ts";
import { tarBytes } from "../../src/image/tarwriter.ts";
import { decompress, detectCompression } from "../../src/image/compress.ts";
import { sha256 } from "../../src/image/digest.ts";
import { Store } from "../../src/image/store.ts";
import { MT } from "../../src/image/types.ts";
import { BunkerError } from "../../src/errors.ts";
import { removeDir, tempDir, xattr } from "../lib/image-fixtures.ts";

const enc = new TextEncoder();
const ids = processIds();
const root = ids.uid === 0;
const EPOCH = 1700000000;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

interface Got { e: TarEntry; data: string }

function readTar(bytes: Uint8Array): Got[] {
  const out: Got[] = [];
  let cur: Got | undefined;
  const r = new TarReader({
    entry: (e) => void (cur = { e, data: "" }),
    data: (c) => void (cur!.data += new TextDecoder().decode(c)),
    entryEnd: () => void out.push(cur!),
  });
  r.push(bytes);
  r.end();
  return out;
}

async function inflate(blob: Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of decompress((async function* () { yield blob; })())) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

/** an upper dir as overlay leaves it, with every kind of entry */
function upperTree(): string {
  const u = tempDir("bunker-upper-");
  dirs.push(u);
  fs.lsetxattr(u, "user.overlay.impure", enc.encode("y")); // overlay's own: dropped
  mkdirSync(join(u, "d"));
  writeFileSync(join(u, "d/f"), "file body\n");
  chmodSync(join(u, "d/f"), 0o640);
  fs.lsetxattr(join(u, "d/f"), "user.note", enc.encode("kept"));
  fs.lsetxattr(join(u, "d/f"), "user.containers.override_stat", enc.encode("0:0:0640:file")); // the store's record: dropped
  linkSync(join(u, "d/f"), join(u, "d/hard"));
  symlinkSync("d/f", join(u, "sym"));
  fs.mknodat(fs.AT_FDCWD, join(u, "fifo"), fs.S_IFIFO | 0o600, 0);
  fs.mknodat(fs.AT_FDCWD, join(u, "gone"), fs.S_IFCHR, 0); // an overlay whiteout (0/0)
  linkSync(join(u, "gone"), join(u, "d/gone2")); // overlay links whiteouts to one inode
  writeFileSync(join(u, "xw"), "");
  fs.lsetxattr(join(u, "xw"), "user.overlay.whiteout", new Uint8Array()); // the xattr form of a whiteout
  mkdirSync(join(u, "o"));
  fs.lsetxattr(join(u, "o"), "user.overlay.opaque", enc.encode("y"));
  writeFileSync(join(u, "o/x"), "in an opaque dir");
  if (root) {
    fs.mknodat(fs.AT_FDCWD, join(u, "null"), fs.S_IFCHR | 0o666, (1 << 8) | 3);
    chmodSync(join(u, "null"), 0o666);
  }
  writeFileSync(join(u, "future"), "later");
  utimesSync(join(u, "future"), EPOCH + 1000, EPOCH + 1000);
  utimesSync(join(u, "d/f"), EPOCH - 5, EPOCH - 5);
  return u;
}

describe("layer writer", () => {
  const data = tempDir("bunker-store-");
  dirs.push(data);
  const ctx = { dataRoot: data, ids, env: { SOURCE_DATE_EPOCH: String(EPOCH) } };
  const maps = singleMaps(ids.uid, ids.gid);

  test("an upper dir with every entry type becomes an OCI layer: stored, digested, unpacked", async () => {
    const upper = upperTree();
    const l = await writeLayer(ctx, upper, { maps, parentDiffIds: [] });
    const store = Store.open(data);
    const blob = store.readBlob(l.digest);
    expect(sha256(blob)).toBe(l.digest);
    expect(blob.length).toBe(l.size);
    expect(detectCompression(blob)).toBe("gzip");
    expect(l.mediaType).toBe(MT.ociLayerGzip);
    const plain = await inflate(blob);
    expect(sha256(plain)).toBe(l.diffId);
    const got = readTar(plain);
    const by = new Map(got.map((g) => [g.e.name, g]));
    const names = got.map((g) => g.e.name);
    // sorted by name, no root entry, whiteouts as .wh. files, the opaque marker right after its dir
    expect(names).toEqual(["d", "d/f", "d/.wh.gone2", "d/hard", "fifo", "future", ".wh.gone", ...(root ? ["null"] : []), "o", "o/.wh..wh..opq", "o/x", "sym", ".wh.xw"]);
    expect(by.get("d/f")!.data).toBe("file body\n");
    expect(by.get("d/f")!.e.mode).toBe(0o640);
    expect([by.get("d/f")!.e.uid, by.get("d/f")!.e.gid]).toEqual([0, 0]); // the container's ids: the caller is its root
    expect(by.get("d/f")!.e.mtime).toBe(EPOCH - 5);
    expect(by.get("future")!.e.mtime).toBe(EPOCH); // clamped to SOURCE_DATE_EPOCH
    expect([...by.get("d/f")!.e.xattrs.keys()]).toEqual(["user.note"]);
    expect(by.get("o")!.e.xattrs.size).toBe(0);
    expect(by.get("d/hard")!.e).toMatchObject({ type: "hardlink", linkname: "d/f" });
    expect(by.get("sym")!.e).toMatchObject({ type: "symlink", linkname: "d/f" });
    expect(by.get("fifo")!.e.type).toBe("fifo");
    for (const w of [".wh.gone", "d/.wh.gone2", ".wh.xw", "o/.wh..wh..opq"]) expect(by.get(w)!.e).toMatchObject({ type: "file", size: 0 });
    if (root) expect(by.get("null")!.e).toMatchObject({ type: "char", devmajor: 1, devminor: 3, mode: 0o666 });
    // GNU tar reads the same archive
    const t = spawnSync("tar", ["-tvf", "-"], { input: plain, encoding: "utf8" });
    expect(t.status).toBe(0);
    expect(t.stdout).toContain("d/hard link to d/f");
    expect(t.stdout).toContain("sym -> d/f");
    // the unpacked layer: the store's overlay format
    expect(l.dir).toBe(store.layerDir(l.chainId));
    expect(l.chainId).toBe(l.diffId);
    const gone = lstatSync(join(l.dir, "d/gone2"));
    expect(gone.isCharacterDevice() && gone.rdev === 0).toBe(true);
    expect(xattr(join(l.dir, "o"), "user.overlay.opaque")).toBe("y");
  });

  test("the same tree gives the same diffId and blob; zstd gives the same diffId", async () => {
    const a = await writeLayer(ctx, upperTree(), { maps, parentDiffIds: [] });
    const b = await writeLayer(ctx, upperTree(), { maps, parentDiffIds: [] });
    expect(b.diffId).toBe(a.diffId);
    expect(b.digest).toBe(a.digest);
    const z = await writeLayer(ctx, upperTree(), { maps, parentDiffIds: [a.diffId], compression: "zstd" });
    expect(z.diffId).toBe(a.diffId);
    expect(z.mediaType).toBe(MT.ociLayerZstd);
    expect(detectCompression(Store.open(data).readBlob(z.digest))).toBe("zstd");
    expect(z.chainId).toBe(sha256(`${a.diffId} ${z.diffId}`)); // on top of the first: its own chain
  });

  test("excluded paths (a container's mount points) are left out with what is below them", async () => {
    const u = upperTree();
    mkdirSync(join(u, "proc"));
    writeFileSync(join(u, "d/hosts"), "");
    const l = await writeLayer(ctx, u, { maps, parentDiffIds: [], exclude: ["/proc", "/d/hosts", "/o"] });
    const names = readTar(await inflate(Store.open(data).readBlob(l.digest))).map((g) => g.e.name);
    expect(names).toContain("d/f");
    for (const gone of ["proc", "d/hosts", "o", "o/x", "o/.wh..wh..opq"]) expect(names).not.toContain(gone);
  });

  test("SOURCE_DATE_EPOCH must be a number", () => {
    expect(sourceDateEpoch({})).toBeUndefined();
    expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: "12" })).toBe(12);
    expect(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: "yesterday" })).toThrow(/SOURCE_DATE_EPOCH="yesterday" is not a number/);
  });

  test("an overlay redirect (content in a lower dir) is refused, naming the entry", () => {
    const raw = tarBytes([{ name: "./moved/", type: "dir", xattrs: { "user.overlay.redirect": "/old" } }]);
    const r = new TarReader(ociLayerEntries(() => {}, {}));
    try {
      r.push(raw);
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(BunkerError);
      expect((e as BunkerError).message).toContain("overlay redirect entry (moved)");
    }
  });

  test("one-id containers: a copied-up file keeps the owner the store recorded", () => {
    const raw = tarBytes([{ name: "./etc/shadow", uid: 0, gid: 0, mode: 0o640, data: "x", xattrs: { "user.containers.override_stat": "0:42:0640:file" } }]);
    const out: Uint8Array[] = [];
    const r = new TarReader(ociLayerEntries((b) => void out.push(b), { oneIdMap: true }));
    r.push(raw);
    const [e] = readTar(new Uint8Array(Buffer.concat([...out, new Uint8Array(1024)])));
    expect(e!.e).toMatchObject({ name: "etc/shadow", uid: 0, gid: 42 });
    expect(e!.e.xattrs.size).toBe(0);
  });
});
