// POST /images/create?fromSrc=-: docker import (importFrom, below).
// POST /images/create?fromImage=NAME&tag=TAG: a pull (src/image/pull.ts) with
// Docker's streamed JSON progress, one object per line: the docker CLI draws
// its per-layer bars from them, and an error after the 200 is an
// {"error": …, "errorDetail": {"message": …}} line.
import type { RuntimeContext } from "../container/context.ts";
import { importImage } from "../container/import.ts";
import { parsePlatform } from "../image/platform.ts";
import { pullImage, type PullEvents } from "../image/pull.ts";
import { parseReference, shortName } from "../image/reference.ts";
import type { Credentials } from "../image/auth.ts";
import { isLoopbackRegistry } from "../image/registries-conf.ts";
import { ApiError, statusOf } from "./errors.ts";
import { storeOf } from "./images.ts";
import type { ApiRequest, Route } from "./server.ts";

/** Docker's words for the engine's layer states */
const STATUS: Record<Parameters<PullEvents["layer"]>[1], string> = {
  waiting: "Waiting",
  downloading: "Downloading",
  exists: "Already exists",
  verifying: "Verifying Checksum",
  downloaded: "Download complete",
  done: "Pull complete",
};

/** X-Registry-Auth: base64url JSON {username, password} (docker login's credentials, sent by the client) */
export function registryAuth(header: string | null): Credentials | undefined {
  if (!header) return undefined;
  let v: { username?: unknown; password?: unknown };
  try {
    v = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
  } catch {
    throw new ApiError(400, "X-Registry-Auth: not base64-encoded JSON");
  }
  if (typeof v !== "object" || v === null) throw new ApiError(400, "X-Registry-Auth: must be a JSON object");
  return typeof v.username === "string" && v.username && typeof v.password === "string" ? { username: v.username, password: v.password } : undefined;
}

/**
 * POST /images/create?fromSrc=-&repo=NAME[:TAG]&tag=TAG&changes=…&message=…
 * (docker import): the body is the tarball (src/container/import.ts); the
 * answer, once the image exists, is Docker's one status line, its id.  An
 * error before then is an ordinary error response.
 */
async function importFrom({ ctx, url, req }: ApiRequest): Promise<Response> {
  const src = url.searchParams.get("fromSrc")!;
  if (src !== "-") throw new ApiError(400, `images/create: importing from a URL is not supported (fromSrc=${src}); download it and send it as the body (fromSrc=-)`);
  if (!req.body) throw new ApiError(400, "images/create: fromSrc=- needs the tarball as the request body");
  const repo = url.searchParams.get("repo") || undefined;
  const tag = url.searchParams.get("tag") || undefined;
  const rec = await importImage(ctx, {
    source: req.body,
    sourceName: "the request body",
    changes: url.searchParams.getAll("changes").filter(Boolean),
    message: url.searchParams.get("message") || undefined,
    ref: repo && tag ? `${repo}:${tag}` : repo,
  });
  return new Response(JSON.stringify({ status: rec.id }) + "\r\n", { headers: { "Content-Type": "application/json" } });
}

function pull(a: ApiRequest): Response | Promise<Response> {
  const { ctx, url, req } = a;
  if (url.searchParams.has("fromSrc")) return importFrom(a);
  const from = url.searchParams.get("fromImage");
  if (!from) throw new ApiError(400, "images/create: the fromImage (pull) or fromSrc (import) parameter is required");
  const tag = url.searchParams.get("tag");
  const ref = tag ? (tag.startsWith("sha256:") ? `${from}@${tag}` : `${from}:${tag}`) : from;
  const r = parseReference(ref);
  const platform = url.searchParams.get("platform");
  const credentials = registryAuth(req.headers.get("X-Registry-Auth"));
  return new Response(progressStream(ctx, ref, r.registry, credentials, platform ? parsePlatform(platform) : undefined, r.tag ?? r.digest ?? "latest"), { headers: { "Content-Type": "application/json" } });
}

function progressStream(ctx: RuntimeContext, ref: string, registry: string, credentials: Credentials | undefined, platform: ReturnType<typeof parsePlatform> | undefined, tagOrDigest: string): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async start(c) {
      const send = (o: unknown) => c.enqueue(enc.encode(JSON.stringify(o) + "\r\n"));
      send({ status: `Pulling from ${shortName(parseReference(ref).repository)}`, id: tagOrDigest });
      const events: PullEvents = {
        layer(digest, state, done, total) {
          const detail = state === "downloading" && total ? { current: done ?? 0, total } : {};
          send({ status: STATUS[state], progressDetail: detail, id: digest.slice(7, 19) });
        },
      };
      try {
        const store = storeOf(ctx);
        const before = store.find(ref)?.id;
        // registries on the loopback are plain HTTP and unverified, as dockerd's default insecure-registries 127.0.0.0/8
        const pulled = await pullImage(store, ref, { insecure: isLoopbackRegistry(registry), credentials, env: ctx.env, platform, events });
        for (const n of pulled.notes) ctx.log.note(n);
        send({ status: `Digest: ${pulled.repoDigest.split("@")[1]}` });
        const name = shortName(pulled.name ?? pulled.repoDigest);
        send({ status: before === pulled.id ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}` });
      } catch (e) {
        const { message } = statusOf(e);
        send({ errorDetail: { message }, error: message });
      }
      c.close();
    },
  });
}

export const PULL_ROUTES: Route[] = [{ method: "POST", path: /^\/images\/create$/, handle: pull }];
