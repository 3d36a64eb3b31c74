// bunker cp [-a] [-L] ID:SRC DEST|-  and  bunker cp [-a] [-L] SRC|- ID:DEST: docker cp's
// rules (src/container/copy-rules.ts) between the host (src/container/cp-host.ts) and a
// container's root (src/container/cp.ts)
import { isatty } from "node:tty";
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { archivePath, extractArchive, statPath } from "../container/cp.ts";
import { archiveHost, extractHost, hostDestInfo, hostSourceInfo } from "../container/cp-host.ts";
import { cleanKeepingTrail, parseCopyEnd, prepareArchiveCopy, splitDirEntry } from "../container/copy-rules.ts";
import { BunkerError } from "../errors.ts";

const SPECS = [
  { names: ["archive", "a"], help: "copy in: keep the archive's owners (uid/gid) instead of giving everything to the container's root;\ncopy out as root: keep the container's owners" },
  { names: ["follow-link", "L"], help: "follow a symlink that SRC names (its target is copied, under the link's name)" },
];

const USAGE_FIX = "bunker cp [-a] [-L] ID:SRC DEST|-  or  bunker cp [-a] [-L] SRC|- ID:DEST";

async function* stdinChunks(): AsyncGenerator<Uint8Array> {
  for await (const c of Bun.stdin.stream()) yield c;
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, SPECS, "cp", false);
  if (p.rest.length !== 2) throw new BunkerError(`cp: needs a source and a destination (got ${p.rest.length} arguments)`, { errno: "EINVAL", fix: USAGE_FIX });
  const [src, dst] = p.rest.map(parseCopyEnd) as [ReturnType<typeof parseCopyEnd>, ReturnType<typeof parseCopyEnd>];
  const archive = flagBool(p, "archive"), follow = flagBool(p, "follow-link");
  const ctx = runtimeContext(g);
  if ("container" in src && "container" in dst) throw new BunkerError("cp: copying between two containers is not supported", { errno: "EINVAL", fix: "copy out to the host, then in" });
  if ("container" in src) {
    const id = containerArg(g, src.container, "cp");
    const local = (dst as { local: string }).local;
    if (archive && ctx.ids.uid !== 0 && local !== "-") throw new BunkerError("cp: -a out of a container needs root (the container's owners are not yours to give)", { errno: "EPERM", fix: "drop -a: the copies are yours" });
    let path = cleanKeepingTrail(src.path);
    let rebaseName: string | undefined;
    if (follow) {
      // docker's -L: a symlink SRC is replaced by its target (resolved in the container), copied under the link's name
      const st = await statPath(ctx, id, path);
      if (st.linkTarget) {
        rebaseName = splitDirEntry(path)[1];
        path = st.linkTarget;
      }
    }
    if (local === "-") {
      if (isatty(1)) throw new BunkerError("cp: refusing to write a tar to a terminal", { errno: "ENOTTY", fix: `redirect it: bunker cp ${id}:${src.path} - > copy.tar` });
      const { tar } = await archivePath(ctx, id, path, rebaseName);
      for await (const c of tar) await Bun.write(Bun.stdout, c);
      return 0;
    }
    const dstInfo = hostDestInfo(local);
    const { stat, tar } = await archivePath(ctx, id, path, rebaseName);
    const plan = prepareArchiveCopy({ path, exists: true, isDir: stat.mode >= 2 ** 31, rebaseName }, dstInfo);
    await extractHost(plan.dir, tar, plan.rebase, archive);
    return 0;
  }
  const id = containerArg(g, (dst as { container: string }).container, "cp");
  const dpath = cleanKeepingTrail((dst as { path: string }).path);
  const overwrite = { overwriteDirNonDir: false, copyUIDGID: archive };
  if (src.local === "-") {
    await extractArchive(ctx, id, dpath, stdinChunks(), overwrite);
    return 0;
  }
  const srcInfo = hostSourceInfo(src.local, follow);
  // the destination as docker's client sees it: a final symlink followed (in the container), a missing one made
  let dstInfo;
  try {
    const st = await statPath(ctx, id, dpath);
    const path = st.linkTarget || dpath;
    const target = st.linkTarget ? await statOrMissing(ctx, id, path) : st;
    dstInfo = { path, exists: !!target, isDir: !!target && target.mode >= 2 ** 31 };
  } catch (e) {
    if (!(e instanceof BunkerError) || e.errnoName !== "ENOENT") throw e;
    dstInfo = { path: dpath, exists: false, isDir: false };
  }
  const plan = prepareArchiveCopy(srcInfo, dstInfo);
  await extractArchive(ctx, id, plan.dir, archiveHost(srcInfo), overwrite, plan.rebase);
  return 0;
}

async function statOrMissing(ctx: ReturnType<typeof runtimeContext>, id: string, path: string) {
  try {
    return await statPath(ctx, id, path);
  } catch (e) {
    if (e instanceof BunkerError && e.errnoName === "ENOENT") return undefined;
    throw e;
  }
}
