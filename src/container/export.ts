// `export ID`: a container's root, as the container sees it, as a tar (docker
// export): running, created, or stopped while its files are kept (a run -d or
// create's writable layer on its image, a --rootfs directory).  The archive is
// cp's of "/" (src/container/cp.ts: the host's tar as root of the container's
// user namespace, so the owners it records are the container's ids and files
// only they may read are read; tar follows no symlink it archives) with
// --one-file-system: volumes, binds and /proc are not the container's files.
import { BunkerError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { archivePath } from "./cp.ts";

/** container ID's root as a tar stream (read it to the end, or return() it: the helpers it started end with it) */
export async function exportContainer(ctx: RuntimeContext, id: string): Promise<AsyncGenerator<Uint8Array>> {
  try {
    return said((await archivePath(ctx, id, "/", undefined, { oneFileSystem: true })).tar);
  } catch (e) {
    throw asExport(e);
  }
}

async function* said(tar: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* tar;
  } catch (e) {
    throw asExport(e);
  }
}

/** cp's error, said as export's */
function asExport(e: unknown): unknown {
  if (!(e instanceof BunkerError) || !e.message.startsWith("cp: ")) return e;
  return new BunkerError(`export: ${e.message.slice(4)}`, e.detail);
}
