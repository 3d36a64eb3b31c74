// The host's end of `bunker cp` (what the docker CLI does on its side): a
// local path stat'ed as docker's rules want it, archived by the host's tar as
// the caller, and an archive extracted into a local directory as the caller
// (its names checked first: none absolute, none with ..).
import { lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { rebaseTar, type Rebase } from "../image/tar-rebase.ts";
import { hostTar } from "../sys/unshare.ts";
import { assertsDirectory, cleanKeepingTrail, splitDirEntry, type CopyInfo } from "./copy-rules.ts";

const MAX_LINKS = 10;

/** a local source (docker's CopyInfoSourcePath): the symlinks before its last component resolved, that one too with FOLLOW */
export function hostSourceInfo(path: string, follow: boolean): CopyInfo {
  path = cleanKeepingTrail(path);
  try {
    let resolved: string, rebaseName: string | undefined;
    if (follow) {
      resolved = realpathSync(path);
      if (assertsDirectory(path)) resolved = `${resolved}/.`;
      if (splitDirEntry(resolved)[1] !== splitDirEntry(path)[1]) rebaseName = splitDirEntry(path)[1];
    } else {
      const [dir, base] = splitDirEntry(path);
      const real = realpathSync(dir);
      resolved = base === "." ? `${real === "/" ? "" : real}/.` : join(real, base);
    }
    return { path: resolved, exists: true, isDir: lstatSync(resolved).isDirectory(), rebaseName };
  } catch (e) {
    throw fromSysError("cp: cannot copy the local source", e, { path });
  }
}

/** a local destination (docker's CopyInfoDestinationPath): a final symlink followed; a missing one needs an existing parent directory */
export function hostDestInfo(path: string): CopyInfo {
  path = cleanKeepingTrail(path);
  for (let n = 0; ; n++) {
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw fromSysError("cp: cannot use the local destination", e, { path });
      const parent = splitDirEntry(path)[0];
      let pst;
      try {
        pst = statSync(parent);
      } catch (e2) {
        throw fromSysError("cp: the destination's directory does not exist", e2, { path: parent });
      }
      if (!pst.isDirectory()) throw new BunkerError("cp: the destination's parent is not a directory", { errno: "ENOTDIR", path: parent });
      return { path, exists: false, isDir: false };
    }
    if (!st.isSymbolicLink()) return { path, exists: true, isDir: st.isDirectory() };
    if (n >= MAX_LINKS) throw new BunkerError("cp: too many symlinks in the destination", { errno: "ELOOP", path });
    const target = readlinkSync(path);
    path = target.startsWith("/") ? target : join(dirname(path), target);
  }
}

/** the archive of a local SOURCE (its last component's entries; a directory's contents for "DIR/.") by the host's tar */
export async function* archiveHost(source: CopyInfo): AsyncGenerator<Uint8Array> {
  const [dir, base] = splitDirEntry(source.path);
  const member = base === "." ? "." : `./${base}`;
  const tar = Bun.spawn([hostTar("cp"), "--numeric-owner", "-C", base === "." ? source.path : dir, "-cf", "-", member], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let read = false;
  try {
    yield* rebaseTar(tar.stdout, { from: base, to: base });
    read = true;
  } finally {
    // the reader went away before the end: tar (ours, by pid) is ended.  Not when it was read to
    // the end: tar closes its stdout before it exits, and a kill in between was its "failure"
    if (!read) tar.kill("SIGKILL");
  }
  const code = await tar.exited;
  if (code !== 0) throw tarFailure(await new Response(tar.stderr).text(), `archive ${source.path}`, source.path, tar.signalCode ? `signal ${tar.signalCode}` : `status ${code}`);
}

/** tar's failure as one error: its first complaint on stderr, else how it ended (STATUS) */
export function tarFailure(stderr: string, what: string, path: string, status: string): BunkerError {
  const why = stderr.split("\n").map((l) => l.replace(/^\/\S*tar: /, "")).find((l) => l && !l.startsWith("Exiting with failure")) ?? `tar ended with ${status}`;
  return new BunkerError(`cp: cannot ${what}: ${why}`, { errno: /Permission denied/.test(why) ? "EACCES" : /Cannot change ownership/.test(why) ? "EPERM" : "EIO", path });
}

/** TAR extracted into the local directory DIR as the caller (with KEEPOWNERS, the archive's owners: root only) */
export async function extractHost(dir: string, tar: AsyncIterable<Uint8Array>, rebase: Rebase, keepOwners: boolean): Promise<void> {
  const proc = Bun.spawn([hostTar("cp"), "--numeric-owner", "-p", keepOwners ? "--same-owner" : "--no-same-owner", "-C", dir, "-xf", "-"], { stdin: "pipe", stdout: "ignore", stderr: "pipe" });
  let failure: unknown;
  try {
    for await (const c of rebaseTar(tar, rebase, true)) {
      proc.stdin.write(c);
      await proc.stdin.flush();
    }
  } catch (e) {
    failure = e;
  } finally {
    try {
      await proc.stdin.end();
    } catch {
      /* tar went first: its status says why */
    }
  }
  if (failure instanceof BunkerError && !failure.message.startsWith("cp: cannot extract")) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw failure;
  }
  const code = await proc.exited;
  if (code !== 0) throw tarFailure(await new Response(proc.stderr).text(), `extract into ${dir}`, dir, proc.signalCode ? `signal ${proc.signalCode}` : `status ${code}`);
  if (failure) throw fromSysError(`cp: cannot extract into ${dir}`, failure, { path: dir });
}
