import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync, readFileSync, symlinkSync } from "node:fs";
import { TarReader, parseNumber, type TarEntry } from "../../src/image/tar.ts";
import { tarBytes, tarHeader } from "../../src/image/tarwriter.ts";
import { detectCompression, decompress, sniffCompression } from "../../src/image/compress.ts";
import { BunkerError } from "../../src/errors.ts";
import { sha256 } from "../../src/image/digest.ts";
import { InflatedBlob } from "../../src/image/inflate.ts";
import { chunked, removeDir, tempDir } from "../lib/image-fixtures.ts";

interface Got { e: TarEntry; data: string }

/** BYTES compressed by Debian's xz or bzip2 */
function compressedBy(program: "xz" | "bzip2", bytes: Uint8Array, opts: string[] = []): Uint8Array {
  const r = spawnSync(program, ["-c", ...opts], { input: bytes });
  if (r.status !== 0) throw new Error(`${program} -c failed: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

function read(bytes: Uint8Array, sizes?: number[]): Got[] {
  const out: Got[] = [];
  let cur: Got | undefined;
  const r = new TarReader({
    entry: (e) => { cur = { e, data: "" }; },
    data: (c) => { cur!.data += new TextDecoder().decode(c); },
    entryEnd: () => { out.push(cur!); cur = undefined; },
  });
  let off = 0, i = 0;
  const s = sizes ?? [bytes.length];
  while (off < bytes.length) { const n = s[i++ % s.length]!; r.push(bytes.subarray(off, off + n)); off += n; }
  r.end();
  return out;
}

describe("tar reader", () => {
  test("ustar entries of every type, at any chunk boundary", () => {
    const bytes = tarBytes([
      { name: "dir/", type: "dir", mode: 0o1777, mtime: 1700000000 },
      { name: "dir/file", data: "hello\n", mode: 0o4755, uid: 1000, gid: 100 },
      { name: "dir/link", type: "symlink", linkname: "file" },
      { name: "dir/hard", type: "hardlink", linkname: "dir/file" },
      { name: "fifo", type: "fifo", mode: 0o600 },
      { name: "null", type: "char", devmajor: 1, devminor: 3 },
      { name: "big", data: "x".repeat(1500) },
    ]);
    for (const sizes of [undefined, [1], [511, 2], [1000, 24]]) {
      const got = read(bytes, sizes);
      expect(got.map((g) => [g.e.name, g.e.type])).toEqual([
        ["dir/", "dir"], ["dir/file", "file"], ["dir/link", "symlink"], ["dir/hard", "hardlink"],
        ["fifo", "fifo"], ["null", "char"], ["big", "file"],
      ]);
      expect(got[0]!.e.mode).toBe(0o1777);
      expect(got[0]!.e.mtime).toBe(1700000000);
      expect(got[1]!.data).toBe("hello\n");
      expect(got[1]!.e).toMatchObject({ mode: 0o4755, uid: 1000, gid: 100, size: 6 });
      expect(got[2]!.e.linkname).toBe("file");
      expect(got[5]!.e).toMatchObject({ devmajor: 1, devminor: 3 });
      expect(got[6]!.data.length).toBe(1500);
    }
  });

  test("PAX long names, UTF-8, fractional mtime and binary xattrs", () => {
    const long = "a/".repeat(80) + "ünïcødé-файл";
    const bin = new Uint8Array([0, 1, 2, 255, 10, 61]);
    const got = read(tarBytes([
      { name: long, data: "x", mtime: 1.5, xattrs: { "user.k": "v=1", "security.capability": bin } },
      { name: "l", type: "symlink", linkname: "t/".repeat(70) },
    ]), [3]);
    expect(got[0]!.e.name).toBe(long);
    expect(got[0]!.e.mtime).toBe(1.5);
    expect(new TextDecoder().decode(got[0]!.e.xattrs.get("user.k"))).toBe("v=1");
    expect([...got[0]!.e.xattrs.get("security.capability")!]).toEqual([...bin]);
    expect(got[1]!.e.linkname).toBe("t/".repeat(70));
  });

  test("ids past ustar's 7 octal digits go in PAX records, GNU tar reads them", () => {
    const bytes = tarBytes([{ name: "high", data: "x", uid: 3000000, gid: 2097152 }, { name: "low", data: "y", uid: 2097151, gid: 7 }]);
    expect(read(bytes).map((g) => [g.e.uid, g.e.gid])).toEqual([[3000000, 2097152], [2097151, 7]]);
    const t = spawnSync("tar", ["--numeric-owner", "-tvf", "-"], { input: bytes, encoding: "utf8" });
    expect(t.stdout).toContain("3000000/2097152");
  });

  test("GNU long names ('L' and 'K')", () => {
    const long = "g/".repeat(90) + "end";
    const got = read(tarBytes([
      { name: long, data: "gnu", longNames: "gnu" },
      { name: "s", type: "symlink", linkname: long, longNames: "gnu" },
    ]));
    expect(got[0]!.e.name).toBe(long);
    expect(got[0]!.data).toBe("gnu");
    expect(got[1]!.e.linkname).toBe(long);
  });

  test("reads what GNU tar and python's tarfile write", async () => {
    const d = tempDir();
    try {
      mkdirSync(`${d}/src/` + "deep/".repeat(30), { recursive: true });
      writeFileSync(`${d}/src/` + "deep/".repeat(30) + "f", "deep");
      symlinkSync("deep", `${d}/src/sl`);
      for (const fmt of ["gnu", "posix", "ustar"]) {
        if (fmt === "ustar") continue; // names too long for plain ustar
        spawnSync("tar", ["-C", `${d}/src`, `--format=${fmt}`, "-cf", `${d}/${fmt}.tar`, "."]);
        const got = read(readFileSync(`${d}/${fmt}.tar`), [777]);
        const f = got.find((g) => g.e.name.endsWith("/f"))!;
        expect(f.data).toBe("deep");
        expect(f.e.name.length).toBeGreaterThan(150);
        expect(got.find((g) => g.e.name === "./sl")!.e.linkname).toBe("deep");
      }
      spawnSync("python3", ["-c", `import tarfile,io
t=tarfile.open("${d}/py.tar","w",format=tarfile.PAX_FORMAT)
i=tarfile.TarInfo("ключ/"+"n"*120); i.size=2; i.pax_headers={"SCHILY.xattr.user.py":"yes"}; i.uid=70000000; i.mode=0o2755
t.addfile(i, io.BytesIO(b"ok")); t.close()`]);
      const [g] = read(readFileSync(`${d}/py.tar`));
      expect(g!.e.name).toBe("ключ/" + "n".repeat(120));
      expect(g!.e.uid).toBe(70000000);
      expect(g!.e.mode).toBe(0o2755);
      expect(new TextDecoder().decode(g!.e.xattrs.get("user.py"))).toBe("yes");
      expect(g!.data).toBe("ok");
    } finally {
      await removeDir(d);
    }
  });

  test("base-256 numbers", () => {
    const b = new Uint8Array(12);
    b[0] = 0x80; b[10] = 1; b[11] = 2;
    expect(parseNumber(b, 0, 12)).toBe(258);
  });

  test("corrupt and truncated archives fail clearly", () => {
    const bytes = tarBytes([{ name: "f", data: "abc" }]);
    const bad = bytes.slice(); bad[0] = 0x41;
    expect(() => read(bad)).toThrow(/checksum/);
    expect(() => read(bytes.subarray(0, 600))).toThrow(/truncated/);
    expect(() => read(tarHeader({ name: "f", size: 10 }))).toThrow(BunkerError);
  });
});

describe("decompression", () => {
  test("detects and streams gzip, zstd, xz, bzip2 and plain; a layer is never xz or bzip2", async () => {
    const plain = tarBytes([{ name: "f", data: "z".repeat(100000) }]);
    const variants: [string, Uint8Array][] = [
      ["none", plain],
      ["gzip", Bun.gzipSync(plain)],
      ["zstd", Bun.zstdCompressSync(plain)],
      ["xz", compressedBy("xz", plain)],
      ["bzip2", compressedBy("bzip2", plain)],
    ];
    for (const [kind, bytes] of variants) {
      expect(sniffCompression(bytes)).toBe(kind as "none");
      if (kind === "xz" || kind === "bzip2") expect(() => detectCompression(bytes)).toThrow(`${kind}-compressed layers are not supported`);
      else expect(detectCompression(bytes)).toBe(kind as "none");
      const h = new Bun.CryptoHasher("sha256");
      const parts: Uint8Array[] = [];
      for await (const c of decompress(chunked(bytes, [2, 3000, 1]), (c) => h.update(c))) parts.push(c);
      expect(Buffer.concat(parts).equals(Buffer.from(plain))).toBe(true);
      expect(h.digest("hex")).toBe(new Bun.CryptoHasher("sha256").update(bytes).digest("hex"));
    }
  });

  test("a truncated xz or bzip2 stream fails with one BunkerError naming the program's complaint", async () => {
    const plain = tarBytes([{ name: "f", data: "q".repeat(50000) }]);
    for (const [kind, why] of [["xz", "Unexpected end of input"], ["bzip2", "Compressed file ends unexpectedly"]] as const) {
      const cut = compressedBy(kind, plain).slice(0, 40);
      const run = async () => { for await (const _ of decompress(chunked(cut))) {} };
      await expect(run()).rejects.toThrow(`cannot decompress the ${kind} stream: ${why}`);
    }
  });

  test("a source that fails midway fails the xz stream with its own error", async () => {
    const xz = compressedBy("xz", tarBytes([{ name: "f", data: "r".repeat(200000) }]));
    async function* failing() { yield xz.slice(0, 100); throw new Error("the client hung up"); }
    const run = async () => { for await (const _ of decompress(failing())) {} };
    await expect(run()).rejects.toThrow("the client hung up");
  });

  test("a consumer that stops early ends the xz program, even while the source waits", async () => {
    // incompressible data in many small blocks (xz writes a block's data once it has it all, and reads
    // its input in 8 KiB buffers it fills before decoding); all but the stream's footer (12 bytes): xz
    // writes most of the tar, then waits for more input, with nothing more to write
    const noise = (seed: number) => { const b = new Uint8Array(20000); for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24; return b; };
    const plain = tarBytes(Array.from({ length: 16 }, (_, i) => ({ name: `f${i}`, data: noise(i + 1) })));
    const xz = compressedBy("xz", plain, ["--block-size=65536"]);
    async function* stalling() { yield xz.slice(0, xz.length - 12); await new Promise(() => {}); }
    const it = decompress(stalling());
    for (let got = 0; got < plain.length / 2; ) got += (await it.next()).value!.length;
    expect(await Promise.race([it.return(undefined).then(() => "ended"), Bun.sleep(5000).then(() => "hung")])).toBe("ended");
    // no xz among this process's children any more: killed (by its pid) and reaped
    const xzChildren = () => readdirSync("/proc/self/task").flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, "utf8").split(" ").filter(Boolean))
      .filter((pid) => { try { return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "xz"; } catch { return false; } });
    for (let i = 0; i < 100 && xzChildren().length; i++) await Bun.sleep(20);
    expect(xzChildren()).toEqual([]);
  }, 15000);

  test("a corrupt gzip stream fails with a BunkerError", async () => {
    const gz = Bun.gzipSync(tarBytes([{ name: "f", data: "q".repeat(5000) }]));
    const broken = gz.slice(); broken.fill(7, 20, 60);
    const run = async () => { for await (const _ of decompress(chunked(broken))) {} };
    await expect(run()).rejects.toThrow(/decompress/);
  });

  test("a blob file inflated on the worker thread: same bytes and sha256, any compression, empty too", async () => {
    const dir = tempDir();
    try {
      const plain = tarBytes(Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, data: `${i}`.repeat(30000 + i) })));
      for (const [kind, bytes] of [["none", plain], ["gzip", Bun.gzipSync(plain)], ["zstd", Bun.zstdCompressSync(plain)], ["xz", compressedBy("xz", plain)], ["empty", new Uint8Array(0)]] as const) {
        writeFileSync(`${dir}/${kind}`, bytes);
        const blob = new InflatedBlob(`${dir}/${kind}`);
        const parts: Uint8Array[] = [];
        for await (const c of blob) parts.push(c);
        const want = kind === "empty" ? bytes : plain;
        expect(Buffer.concat(parts).equals(Buffer.from(want))).toBe(true);
        expect(blob.digest).toBe(sha256(want));
        expect(blob.bytes).toBe(want.length);
      }
    } finally {
      await removeDir(dir);
    }
  });

  test("a corrupt blob file fails on the worker thread with a BunkerError; a consumer that stops early stops the worker", async () => {
    const dir = tempDir();
    try {
      const gz = Bun.gzipSync(tarBytes([{ name: "f", data: "q".repeat(5000) }]));
      const broken = gz.slice(); broken.fill(7, 20, 60);
      writeFileSync(`${dir}/broken`, broken);
      const run = async () => { for await (const _ of new InflatedBlob(`${dir}/broken`)) {} };
      const err = await run().catch((e) => e);
      expect(err).toBeInstanceOf(BunkerError);
      expect(err.message).toMatch(/cannot decompress the gzip stream/);
      expect(err.detail.fix).toMatch(/corrupt/);
      const missing = await (async () => { for await (const _ of new InflatedBlob(`${dir}/nope`)) {} })().catch((e) => e);
      expect(missing).toBeInstanceOf(BunkerError);
      expect(missing.format()).toMatch(/cannot read a layer blob: .*\[.*nope\]/);
      writeFileSync(`${dir}/big`, Bun.gzipSync(new Uint8Array(64 << 20)));
      const blob = new InflatedBlob(`${dir}/big`);
      let n = 0;
      for await (const c of blob) if ((n += c.length) > 1 << 20) break;
      expect(blob.digest).toBe(""); // not complete: no digest to trust
    } finally {
      await removeDir(dir);
    }
  });
});
