// bunker build [OPTIONS] CONTEXT|-   (src/build/build.ts does the work)
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, type BuildRequest } from "../build/build.ts";
import { BunkerError, fromSysError } from "../errors.ts";
import { parseReference } from "../image/reference.ts";
import { removeTree, Store } from "../image/store.ts";
import { hostTar } from "../sys/unshare.ts";
import { flag, flagBool, flagList, parseFlags } from "./args.ts";
import { runtimeContext } from "./context.ts";
import type { GlobalOptions } from "./global.ts";

const FLAGS = [
  { names: ["tag", "t"], value: true, multi: true, help: "NAME[:TAG]  name the image (more than once: several names)" },
  { names: ["file", "f"], value: true, help: "FILE  the Dockerfile (default CONTEXT/Dockerfile; - reads it from stdin)" },
  { names: ["build-arg"], value: true, multi: true, help: "K=V  an ARG's value (K alone: from bunker's environment)" },
  { names: ["target"], value: true, help: "STAGE  build up to this stage" },
  { names: ["no-cache"], help: "run every step (the cache is still written)" },
  { names: ["pull"], help: "pull every FROM image, even one the store has" },
  { names: ["platform"], value: true, help: "OS/ARCH[/VARIANT]  the platform of the FROM images" },
  { names: ["network"], value: true, help: "MODE  the RUN steps' network: none (default), host, pasta, slirp4netns" },
  { names: ["quiet", "q"], help: "print only the image ID (the RUN steps' output is discarded)" },
  { names: ["iidfile"], value: true, help: "FILE  write the image ID to FILE" },
  { names: ["label"], value: true, multi: true, help: "K=V  a label of the image" },
  { names: ["compression"], value: true, help: "gzip|zstd  how the new layers are compressed (default gzip)" },
];

/** K=V entries as a record (K alone: ENV's value, when set) */
function pairs(list: string[], what: string, env?: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const eq = e.indexOf("=");
    if (eq === 0) throw new BunkerError(`build: --${what} "${e}" has no name`, { errno: "EINVAL", fix: `--${what} NAME=VALUE` });
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
    else if (env && env[e] !== undefined) out[e] = env[e]!;
    else if (!env) throw new BunkerError(`build: --${what} "${e}" is not NAME=VALUE`, { errno: "EINVAL" });
  }
  return out;
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, FLAGS, "build", false);
  if (p.rest.length !== 1) throw new BunkerError(`build: needs one CONTEXT (a directory, or - for a tar on stdin), got ${p.rest.length}`, { errno: "EINVAL", fix: "bunker build -t NAME ." });
  const ctx = runtimeContext(g);
  const quiet = flagBool(p, "quiet");
  const fileFlag = flag(p, "file");
  if (p.rest[0] === "-" && fileFlag === "-") throw new BunkerError("build: stdin cannot be both the context and the Dockerfile", { errno: "EINVAL", fix: "give the context as a directory, or the Dockerfile inside the tar" });
  for (const t of flagList(p, "tag")) {
    const r = parseReference(t); // a bad name is an error now, not after the build
    if (r.digest) throw new BunkerError(`build: -t ${t} names a digest; an image is tagged by name[:tag]`, { errno: "EINVAL", fix: "drop the @sha256:… part" });
  }
  const store = Store.open(ctx.dataRoot);
  let tmpContext: string | undefined;
  try {
    let contextDir: string;
    if (p.rest[0] === "-") {
      // a tar on stdin (docker build - < ctx.tar): unpacked into a private directory of the store's tmp
      tmpContext = mkdtempSync(join(store.tmp, "build-context-"));
      const tar = Bun.spawnSync([hostTar("build"), "--no-same-owner", "--no-same-permissions", "-xf", "-", "-C", tmpContext], { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
      if (tar.exitCode !== 0) throw new BunkerError("build: the context on stdin is not a tar archive tar can read", { errno: "EINVAL", fix: "pipe a tar: tar -C DIR -c . | bunker build -" });
      contextDir = tmpContext;
    } else {
      contextDir = resolve(ctx.cwd, p.rest[0]!);
      let isDir;
      try {
        isDir = statSync(contextDir).isDirectory();
      } catch (e) {
        throw fromSysError("build: cannot open the context directory", e, { path: contextDir, fix: "give the directory the Dockerfile's COPY and ADD read from, or - for a tar on stdin" });
      }
      if (!isDir) throw new BunkerError("build: the context is not a directory", { errno: "ENOTDIR", path: contextDir, fix: "give a directory, or - for a tar on stdin" });
    }
    const dockerfilePath = fileFlag === "-" ? undefined : resolve(fileFlag ? ctx.cwd : contextDir, fileFlag ?? "Dockerfile");
    let dockerfile: string;
    try {
      dockerfile = dockerfilePath ? readFileSync(dockerfilePath, "utf8") : await Bun.stdin.text();
    } catch (e) {
      throw fromSysError("build: cannot read the Dockerfile", e, { path: dockerfilePath, fix: "give its path with -f FILE" });
    }
    const compression = flag(p, "compression") ?? "gzip";
    if (compression !== "gzip" && compression !== "zstd") throw new BunkerError(`build: --compression ${compression}: gzip or zstd`, { errno: "EINVAL" });
    const req: BuildRequest = {
      contextDir,
      dockerfile,
      dockerfileName: fileFlag && fileFlag !== "-" ? fileFlag : "Dockerfile",
      tags: flagList(p, "tag"),
      buildArgs: pairs(flagList(p, "build-arg"), "build-arg", ctx.env),
      target: flag(p, "target"),
      noCache: flagBool(p, "no-cache"),
      pull: flagBool(p, "pull"),
      platform: flag(p, "platform"),
      network: flag(p, "network"),
      labels: pairs(flagList(p, "label"), "label"),
      quiet,
      compression,
    };
    // the steps' lines on stdout as Docker's classic builder prints them; a RUN's own output is the container's
    const res = await build(ctx, req, { line: (t) => void (quiet || console.log(t)) });
    for (const n of res.notes) console.error(`bunker: note: ${n}`);
    const iid = flag(p, "iidfile");
    if (iid) writeFileSync(resolve(ctx.cwd, iid), res.image.id);
    if (quiet) console.log(res.image.id);
    else {
      console.log(`Successfully built ${res.image.id.slice(7, 19)}`);
      for (const t of req.tags) console.log(`Successfully tagged ${t}`);
    }
    return 0;
  } finally {
    if (tmpContext) await removeTree(tmpContext);
  }
}
