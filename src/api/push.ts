// POST /images/{name}/push?tag=TAG: a push (src/image/push.ts) with Docker's
// streamed JSON progress, one object per line, as the docker CLI draws it:
// "The push refers to repository [...]", per blob Preparing, Waiting, Pushing
// (current/total), Pushed, "Layer already exists" or "Mounted from REPO",
// then "TAG: digest: sha256:… size: N" and the aux {Tag, Digest, Size}; an
// error after the 200 is an {"error": …, "errorDetail": {"message": …}} line.
import type { RuntimeContext } from "../container/context.ts";
import type { Credentials } from "../image/auth.ts";
import { pushImage, type PushEvents, type PushState } from "../image/push.ts";
import { parseReference, repoName, shortName } from "../image/reference.ts";
import { isLoopbackRegistry } from "../image/registries-conf.ts";
import { statusOf } from "./errors.ts";
import { storeOf } from "./images.ts";
import { registryAuth } from "./pull.ts";
import type { ApiRequest, Route } from "./server.ts";

/** Docker's words for the engine's blob states */
const STATUS: Record<PushState, string> = {
  waiting: "Waiting",
  uploading: "Pushing",
  exists: "Layer already exists",
  mounted: "Mounted from",
  pushed: "Pushed",
};

function push({ ctx, url, req, params }: ApiRequest): Response {
  const tag = url.searchParams.get("tag") || "latest";
  const name = `${params[0]!}${tag.startsWith("sha256:") ? "@" : ":"}${tag}`;
  const r = parseReference(name);
  // before the 200: a missing image is a 404, as Docker's "does not exist locally"
  storeOf(ctx).get(name);
  const credentials = registryAuth(req.headers.get("X-Registry-Auth"));
  return new Response(progressStream(ctx, name, r.registry, repoName(r), credentials, tag), { headers: { "Content-Type": "application/json" } });
}

function progressStream(ctx: RuntimeContext, name: string, registry: string, repo: string, credentials: Credentials | undefined, tag: string): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async start(c) {
      const send = (o: unknown) => c.enqueue(enc.encode(JSON.stringify(o) + "\r\n"));
      send({ status: `The push refers to repository [${shortName(repo)}]` });
      const events: PushEvents = {
        layer(digest, state, done, total, from) {
          const id = digest.slice(7, 19);
          if (state === "waiting") send({ status: "Preparing", progressDetail: {}, id });
          const detail = state === "uploading" && total ? { current: done ?? 0, total } : {};
          send({ status: from ? `${STATUS[state]} ${from}` : STATUS[state], progressDetail: detail, id });
        },
      };
      try {
        const pushed = await pushImage(storeOf(ctx), name, name, { insecure: isLoopbackRegistry(registry), credentials, env: ctx.env, events });
        for (const n of pushed.notes) ctx.log.note(n);
        send({ status: `${tag}: digest: ${pushed.digest} size: ${pushed.size}` });
        send({ progressDetail: {}, aux: { Tag: tag, Digest: pushed.digest, Size: pushed.size } });
      } catch (e) {
        const { message } = statusOf(e);
        send({ errorDetail: { message }, error: message });
      }
      c.close();
    },
  });
}

export const PUSH_ROUTES: Route[] = [{ method: "POST", path: /^\/images\/(.+)\/push$/, handle: push }];
