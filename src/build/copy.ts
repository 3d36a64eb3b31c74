// COPY and ADD as one layer.  The files are written as a tar with the owners
// and modes the instruction gives them (0:0, or --chown; --chmod), that tar
// is extracted by the host's tar as root of a user namespace with the
// build's id maps (rootless, a file of uid 1000 inside is one of the caller's
// subordinate ids on the host: only that namespace can chown it so), and the
// tree is turned into a layer by writeLayer, as a RUN's upper is.  One path
// for every owner, so COPY --chown and RUN's files are stored alike.
import { mkdirSync, rmSync } from "node:fs";
import { posix } from "node:path";
import { BunkerError } from "../errors.ts";
import { removeTree, type Store } from "../image/store.ts";
import { padding, tarHeader, TAR_END } from "../image/tarwriter.ts";
import { writeLayer, type LayerContext, type LayerResult } from "../image/layer-writer.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { hostTar, runUnshared } from "../sys/unshare.ts";
import { walk, type SourceEntry, type SourceTree } from "./sources.ts";

/** one thing to put at DEST (absolute in the image): a source entry (a directory with what is below it), or literal bytes (a heredoc) */
export type CopyItem =
  | { tree: SourceTree; entry: SourceEntry; dest: string }
  | { data: string; dest: string }
  /** ADD of a local archive: its content extracted into the directory DEST */
  | { archive: string; dest: string }
  /** ADD of a URL: the file it was fetched into */
  | { download: SourceEntry; dest: string };

export interface CopyLayerOptions {
  items: CopyItem[];
  /** directories to create that the image lacks (parents of the destinations, WORKDIR) */
  dirs: string[];
  /** the image's directories on the way (a tar of the layer holds them): kept as the image has them */
  existingDirs: Map<string, ExistingDir>;
  uid: number;
  gid: number;
  /** --chmod */
  mode?: number;
  maps: IdMaps;
  parentDiffIds: string[];
  compression?: "gzip" | "zstd";
}

export interface ExistingDir {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/** the items of OPTS as a new layer (see the file's comment) */
export async function copyLayer(ctx: LayerContext, store: Store, opts: CopyLayerOptions): Promise<LayerResult> {
  const stage = store.tempPath("build-copy");
  const tarPath = store.tempPath("build-copy.tar");
  mkdirSync(stage, { mode: 0o755 });
  try {
    await writeCopyTar(tarPath, opts);
    await extract(ctx, tarPath, stage, opts.maps);
    for (const it of opts.items) if ("archive" in it) await extract(ctx, it.archive, posix.join(stage, it.dest), opts.maps);
    return await writeLayer(ctx, stage, { maps: opts.maps, parentDiffIds: opts.parentDiffIds, compression: opts.compression });
  } finally {
    await removeTree(stage, opts.maps);
    rmSync(tarPath, { force: true });
  }
}

/** ARCHIVE (any compression GNU tar detects) extracted into DIR as root of a user namespace with MAPS: owners and modes as the archive has them */
async function extract(ctx: LayerContext, archive: string, dir: string, maps: IdMaps): Promise<void> {
  const tar = hostTar("build");
  const st = await runUnshared([tar, "--numeric-owner", "--same-owner", "-xpf", archive, "-C", dir], ["PATH=/usr/bin:/bin", "LC_ALL=C"], maps, ctx.ids.uid === 0);
  if (st.code !== 0 || st.signal) throw new BunkerError(`cannot write the files of the layer: tar ended with ${st.signal ? `signal ${st.signal}` : `status ${st.code}`}`, { errno: "EIO", path: archive, fix: "see tar's message above" });
}

/** the tar of OPTS: the directories first (parents before children), then each item */
async function writeCopyTar(path: string, opts: CopyLayerOptions): Promise<void> {
  const w = Bun.file(path).writer({ highWaterMark: 1 << 20 });
  const now = Math.floor(Date.now() / 1000);
  const written = new Set<string>();
  const owner = { uid: opts.uid, gid: opts.gid };
  const dir = (abs: string, mode: number, mtime = now, ids = owner) => {
    const name = abs.replace(/^\/+/, "");
    if (!name || written.has(name)) return;
    written.add(name);
    w.write(tarHeader({ name: `${name}/`, type: "dir", mode, mtime, ...ids }));
  };
  for (const [d, e] of [...opts.existingDirs].sort(([a], [b]) => a.length - b.length)) dir(d, e.mode, e.mtime, { uid: e.uid, gid: e.gid });
  for (const d of [...opts.dirs].sort((a, b) => a.length - b.length)) dir(d, 0o755);
  const enc = new TextEncoder();
  /** the file E at DEST, its bytes streamed from the host */
  const file = async (dest: string, e: SourceEntry, mode: number) => {
    w.write(tarHeader({ name: dest.replace(/^\/+/, ""), type: "file", mode, size: e.size, mtime: e.mtime, ...owner }));
    let n = 0;
    for await (const c of Bun.file(e.path).stream()) {
      w.write(c);
      n += c.length;
      await w.flush();
    }
    if (n !== e.size) throw new BunkerError("a build source changed while it was read", { errno: "EAGAIN", path: e.path, fix: "build again when nothing writes to the context" });
    w.write(padding(e.size));
  };
  for (const it of opts.items) {
    if ("archive" in it) {
      dir(it.dest, 0o755);
      continue;
    }
    if ("data" in it) {
      const bytes = enc.encode(it.data);
      w.write(tarHeader({ name: it.dest.replace(/^\/+/, ""), type: "file", mode: opts.mode ?? 0o644, size: bytes.length, mtime: now, ...owner }));
      w.write(bytes);
      w.write(padding(bytes.length));
      continue;
    }
    if ("download" in it) {
      await file(it.dest, it.download, opts.mode ?? it.download.mode);
      continue;
    }
    const top = it.entry;
    for (const e of walk(it.tree, top)) {
      const rel = e.rel === top.rel ? "" : e.rel.slice(top.rel ? top.rel.length + 1 : 0);
      const dest = rel ? posix.join(it.dest, rel) : it.dest;
      const mode = opts.mode ?? e.mode;
      if (e.type === "dir") dir(dest, mode, e.mtime);
      else if (e.type === "symlink") w.write(tarHeader({ name: dest.replace(/^\/+/, ""), type: "symlink", linkname: e.link, mode: 0o777, mtime: e.mtime, ...owner }));
      else await file(dest, e, mode);
    }
  }
  w.write(TAR_END);
  await w.end();
}
