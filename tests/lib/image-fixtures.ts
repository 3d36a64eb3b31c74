// Helpers for image tests: temp dirs, chunked streams, reading xattrs.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { lgetxattr } from "../../src/sys/fsat.ts";
import { removeTree } from "../../src/image/store.ts";
import type { IdMaps } from "../../src/sys/idmap.ts";
import { launch } from "../../src/sys/launch.ts";
import { CLONE_NEWUSER } from "../../src/plan/types.ts";
import { supervise } from "../../src/sys/shim.ts";
import { Unpacker, type UnpackOptions } from "../../src/image/unpack.ts";
import { tarBytes, type TarInput } from "../../src/image/tarwriter.ts";

/** A fresh temp dir; removed by the returned cleanup. */
export function tempDir(prefix = "bunker-img-"): string {
  return mkdtempSync(`${process.env.BUNKER_TEST_TMP ?? tmpdir()}/${prefix}`);
}

/**
 * Removes DIR the way bunker removes a store's layers (src/image/store.ts
 * removeTree): run unprivileged with a subordinate range, the unpacker gave
 * files the image's owners as subordinate ids and left read-only dirs, which
 * only the root of a user namespace with those maps may remove.  Throws when
 * anything is left.
 */
export async function removeDir(dir: string): Promise<void> {
  await removeTree(dir);
  if (existsSync(dir)) throw new Error(`test teardown: ${dir} is still there after removeTree`);
}

/**
 * [uid, gid, mode & 07777] of PATH as a container with MAPS sees it: stat(1)
 * run as root of a user namespace with MAPS, which may look into the dirs the
 * image's users own (the caller, on the host, may not: they belong to its
 * subordinate ids).  Without MAPS, PATH as the host sees it.
 */
export async function statInUserns(path: string, maps: IdMaps | undefined): Promise<[number, number, number]> {
  if (!maps) {
    const st = statSync(path);
    return [st.uid, st.gid, st.mode & 0o7777];
  }
  const dir = tempDir("bunker-stat-");
  try {
    const script = 'stat -c "%u %g %a" -- "$1" > "$2"';
    const c = await launch({ cloneFlags: CLONE_NEWUSER, ops: [{ op: "close-fds", preserve: 0 }, { op: "exec", file: "/bin/sh", args: ["sh", "-c", script, "sh", path, `${dir}/out`], env: ["PATH=/usr/bin:/bin"] }] }, { maps });
    const st = supervise(c.pid, -1, false);
    if (st.code !== 0) throw new Error(`stat ${path} in a user namespace ended with ${st.signal ? `signal ${st.signal}` : `status ${st.code}`}`);
    const [uid, gid, mode] = readFileSync(`${dir}/out`, "utf8").trim().split(" ");
    return [Number(uid), Number(gid), parseInt(mode!, 8)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** BYTES as a stream of chunks of varying sizes (exercises block boundaries). */
export async function* chunked(bytes: Uint8Array, sizes = [1, 511, 513, 7, 4096, 100000]): AsyncGenerator<Uint8Array> {
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    yield bytes.subarray(off, off + n);
    off += n;
  }
}

export function xattr(path: string, name: string): string | undefined {
  const v = lgetxattr(path, name);
  return v && new TextDecoder().decode(v);
}

/** LAYERS (tar entries) applied in order by the store's unpacker onto ROOT (one layer dir: overlay format) */
export async function unpack(root: string, layers: TarInput[][], opts: UnpackOptions = {}) {
  const u = new Unpacker(root, opts);
  try {
    for (const l of layers) await u.apply(chunked(tarBytes(l)));
  } catch (e) {
    u.abort();
    throw e;
  }
  return u.finish();
}
