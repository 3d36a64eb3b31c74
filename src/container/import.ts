// docker import: a tarball of a root filesystem (plain, or gzip, zstd, xz,
// bzip2: src/image/compress.ts) becomes a one-layer image in the store, with
// the config --change's instructions make (commit's parser) and the history
// entry Docker writes ("Imported from -", or -m's message).  What `bunker
// import` and the Engine API's POST /images/create?fromSrc=- share.
//
// The input is kept as it was written: a gzip or zstd tarball is the layer's
// blob as given (its digest the manifest's, the tar's the diff id), a plain
// tar is a plain layer; xz and bzip2, which no layer media type names, are
// stored gzip-compressed.  Every byte of the tar is read once before the
// image exists, so input that is no tar is one line and leaves nothing.
import { rmSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import { parseChanges } from "../build/config-change.ts";
import { commitImage } from "../image/commit.ts";
import { decompress, sniffCompression } from "../image/compress.ts";
import { Hasher } from "../image/digest.ts";
import { compressInto } from "../image/layer-writer.ts";
import { parseReference } from "../image/reference.ts";
import { Store, type ImageRecord } from "../image/store.ts";
import { TarReader } from "../image/tar.ts";
import { MT } from "../image/types.ts";
import type { RuntimeContext } from "./context.ts";

export interface ImportRequest {
  /** the tarball's bytes: a file, stdin, a request's body */
  source: AsyncIterable<Uint8Array>;
  /** what errors call it: the file's name, or "-" */
  sourceName: string;
  /** --change lines (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL) */
  changes: string[];
  /** -m: the history entry's and the config's comment (default "Imported from -", as Docker's) */
  message?: string;
  /** REPOSITORY[:TAG]; none: a dangling image, as docker import without one */
  ref?: string;
}

const MEDIA_TYPE = { gzip: MT.ociLayerGzip, zstd: MT.ociLayerZstd, none: MT.ociLayer } as const;

/** Stores REQ's tarball as a one-layer image; its record (id = config digest) */
export async function importImage(ctx: RuntimeContext, req: ImportRequest): Promise<ImageRecord> {
  const name = req.sourceName === "-" ? "stdin" : req.sourceName;
  // what can be refused is refused before the input is read
  if (req.ref && parseReference(req.ref).digest) throw new BunkerError(`import: "${req.ref}" names a digest; an image is tagged by name[:tag]`, { errno: "EINVAL", fix: "drop the @sha256:… part" });
  const config = parseChanges({}, req.changes);
  const store = Store.open(ctx.dataRoot);
  const raw = store.tempPath("import");
  try {
    // 1. the input as written, and its digest
    const rawHash = new Hasher();
    const w = Bun.file(raw).writer({ highWaterMark: 1 << 20 });
    let head = new Uint8Array(0);
    for await (const c of req.source) {
      if (head.length < 8) head = new Uint8Array([...head, ...c.subarray(0, 8 - head.length)]);
      rawHash.update(c);
      w.write(c);
    }
    await w.end();
    if (rawHash.bytes === 0) throw new BunkerError(`import: ${name} is empty, not a tar archive`, { errno: "EINVAL", fix: "give a tarball of a root filesystem (bunker export ID > rootfs.tar)" });
    const kind = sniffCompression(head);
    // 2. the tar it holds, read whole: its digest (the diff id), checked to be a tar
    const diffHash = new Hasher();
    const tar = new TarReader({ entry: () => true, data() {}, entryEnd() {} });
    async function* plain(): AsyncGenerator<Uint8Array> {
      for await (const c of decompress(Bun.file(raw).stream())) {
        diffHash.update(c);
        tar.push(c);
        yield c;
      }
      tar.end();
    }
    let layer: { digest: string; size: number; mediaType: string };
    try {
      if (kind === "xz" || kind === "bzip2") layer = { ...(await compressInto(store, plain(), "gzip")), mediaType: MT.ociLayerGzip };
      else {
        for await (const _ of plain());
        layer = { digest: rawHash.digest(), size: rawHash.bytes, mediaType: MEDIA_TYPE[kind] };
      }
    } catch (e) {
      if (e instanceof BunkerError && e.message.startsWith("invalid tar archive")) {
        throw new BunkerError(`import: ${name} is not a tar archive${kind === "none" ? "" : ` (${kind}-compressed)`}: ${e.message.replace(/^invalid tar archive: /, "")}`, { errno: "EINVAL", fix: "give a tarball of a root filesystem, plain or gzip, zstd, xz or bzip2 compressed (bunker export ID > rootfs.tar)" });
      }
      throw e;
    }
    if (kind !== "xz" && kind !== "bzip2") {
      if (store.hasBlob(layer.digest)) rmSync(raw, { force: true });
      else store.commitBlob(raw, layer.digest);
    }
    const comment = req.message || "Imported from -";
    return await commitImage(ctx, {
      base: null,
      layers: [{ ...layer, diffId: diffHash.digest() }],
      config,
      history: [{ comment }],
      tags: req.ref ? [req.ref] : [],
      comment,
    });
  } finally {
    rmSync(raw, { force: true });
  }
}
