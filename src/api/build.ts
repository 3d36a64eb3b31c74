// POST /build: the classic builder's endpoint.  The body is the context as
// a tar (plain or compressed: GNU tar detects it), unpacked into a private
// directory of the store's tmp; the build itself is `bunker build` in a
// child process (bunker's own executable, with this server's roots): a RUN
// step waits for its container in C (supervise), which in this process would
// hold every other request until it ended, and the child's output (the
// steps' lines and the RUN commands' own) reaches the client as it is
// written, each chunk one {"stream": …} line; a failure is the
// {"errorDetail"} line Docker sends, the image's ID an {"aux": {"ID"}} line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RuntimeContext } from "../container/context.ts";
import { hostTar } from "../sys/unshare.ts";
import { ApiError } from "./errors.ts";
import { storeOf } from "./images.ts";
import { boolParam, type ApiRequest, type Route } from "./server.ts";

/** a query parameter holding a JSON object of strings (buildargs, labels) as K=V flags */
function jsonPairs(url: URL, name: string, flag: string): string[] {
  const v = url.searchParams.get(name);
  if (!v) return [];
  let o: unknown;
  try {
    o = JSON.parse(v);
  } catch {
    throw new ApiError(400, `build: ${name} is not JSON`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new ApiError(400, `build: ${name} must be a JSON object`);
  return Object.entries(o).flatMap(([k, x]) => {
    if (typeof x !== "string" && x !== null) throw new ApiError(400, `build: ${name}.${k} must be a string`);
    return x === null ? [] : [flag, `${k}=${x}`];
  });
}

/** the `bunker build` flags of the request's query (Docker's parameter names) */
export function buildFlags(url: URL, iidFile: string): string[] {
  const q = url.searchParams;
  if (q.get("remote")) throw new ApiError(400, "build: remote contexts (a URL or git repository) are not supported; send the context as the body");
  const flags = ["--iidfile", iidFile];
  for (const t of q.getAll("t")) flags.push("-t", t);
  const dockerfile = q.get("dockerfile");
  if (dockerfile) flags.push("-f", dockerfile);
  flags.push(...jsonPairs(url, "buildargs", "--build-arg"), ...jsonPairs(url, "labels", "--label"));
  for (const [param, flag] of [["target", "--target"], ["platform", "--platform"]] as const) {
    const v = q.get(param);
    if (v) flags.push(flag, v);
  }
  const net = q.get("networkmode");
  if (net && net !== "default") flags.push("--network", net === "bridge" ? "slirp4netns" : net);
  if (boolParam(url, "nocache")) flags.push("--no-cache");
  if (boolParam(url, "pull")) flags.push("--pull");
  if (boolParam(url, "q")) flags.push("-q");
  return flags;
}

/** bunker's global flags that give the child this server's roots, storage driver and cgroup manager */
function globalFlags(ctx: RuntimeContext): string[] {
  return ["--root", ctx.stateRoot, "--data-root", ctx.dataRoot, ...(ctx.storageDriver ? ["--storage-driver", ctx.storageDriver] : []), ...(ctx.cgroupManager ? ["--cgroup-manager", ctx.cgroupManager] : [])];
}

async function build({ ctx, req, url }: ApiRequest): Promise<Response> {
  const store = storeOf(ctx);
  const dir = mkdtempSync(join(store.tmp, "api-build-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  try {
    const tarFile = join(dir, "context.tar");
    const ctxDir = join(dir, "context");
    await Bun.write(tarFile, new Response(req.body));
    mkdirSync(ctxDir); // an empty body is an empty context (the build then says it has no Dockerfile)
    const flags = buildFlags(url, join(dir, "iid"));
    const untar = Bun.spawn([hostTar("build"), "--no-same-owner", "--no-same-permissions", "--one-top-level=context", "-xf", tarFile, "-C", dir], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const untarErr = await new Response(untar.stderr).text();
    if ((await untar.exited) !== 0) throw new ApiError(400, `build: the body is not a tar archive of the context (${untarErr.trim().split("\n")[0] ?? "tar failed"})`);
    rmSync(tarFile);
    // -f is relative to the context (Docker's dockerfile parameter): the child runs in it
    proc = Bun.spawn([ctx.execPath, ...globalFlags(ctx), "build", ...flags, "."], { cwd: ctxDir, env: { ...ctx.env } as Record<string, string>, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    cleanup();
    throw e;
  }
  const child = proc;
  const enc = new TextEncoder(), dec = new TextDecoder();
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      const send = (o: unknown) => c.enqueue(enc.encode(JSON.stringify(o) + "\r\n"));
      const errText = new Response(child.stderr as ReadableStream<Uint8Array>).text();
      try {
        for await (const chunk of child.stdout as ReadableStream<Uint8Array>) send({ stream: dec.decode(chunk, { stream: true }) });
        const code = await child.exited;
        const err = (await errText).trim();
        if (code === 0) {
          // the notes (an ignored # syntax=) are the client's to see too
          if (err) send({ stream: `${err}\n` });
          send({ aux: { ID: readFileSync(join(dir, "iid"), "utf8") } });
        } else {
          const lines = err.split("\n");
          const message = (lines.reverse().find((l) => l.startsWith("bunker: ")) ?? lines[0] ?? `bunker build exited with ${code}`).replace(/^bunker: /, "");
          send({ errorDetail: { message }, error: message });
        }
      } finally {
        cleanup();
        c.close();
      }
    },
    cancel() {
      // the client went away: the build ends (its RUN's container with it: SIGTERM is forwarded to it)
      child.kill("SIGTERM");
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}

/** POST /build/prune: the build cache's records and unused RUN --mount caches (src/build/prune.ts) */
async function prune({ ctx, url }: ApiRequest): Promise<Response> {
  const filters = url.searchParams.get("filters");
  if (filters && filters !== "{}" && !/^\{\s*\}$/.test(filters)) throw new ApiError(400, "build/prune: filters are not supported (bunker's build cache has no types or ages to filter on)");
  const { pruneBuildCache } = await import("../build/prune.ts");
  const r = await pruneBuildCache(ctx);
  return Response.json({ CachesDeleted: r.deleted, SpaceReclaimed: r.reclaimed });
}

export const BUILD_ROUTES: Route[] = [
  { method: "POST", path: /^\/build$/, handle: build },
  { method: "POST", path: /^\/build\/prune$/, handle: prune },
];
