// `POST /commit` (docker commit) and `GET /containers/{id}/changes` (docker
// diff): the engine's commitContainer and containerChanges (src/container/commit.ts).
import { commitContainer, containerChanges } from "../container/commit.ts";
import { resolveId } from "./containers.ts";
import { ApiError, jsonResponse } from "./errors.ts";
import { boolParam, jsonBody, type ApiRequest, type Route } from "./server.ts";

/** Docker's change kinds: 0 modified, 1 added, 2 deleted */
const KIND = { C: 0, A: 1, D: 2 } as const;

function changes({ ctx, params }: ApiRequest): Promise<Response> {
  return containerChanges(ctx, resolveId(ctx, params[0]!)).then((list) => jsonResponse(list.map((c) => ({ Path: c.path, Kind: KIND[c.kind] }))));
}

async function commit({ ctx, url, req }: ApiRequest): Promise<Response> {
  // a container config in the body would replace the container's: bunker takes changes= instead
  await jsonBody(req, "commit", []);
  const container = url.searchParams.get("container");
  if (!container) throw new ApiError(400, "commit: the container query parameter is required");
  const repo = url.searchParams.get("repo") ?? "", tag = url.searchParams.get("tag") ?? "";
  if (tag && !repo) throw new ApiError(400, "commit: a tag needs a repo");
  const rec = await commitContainer(ctx, resolveId(ctx, container), repo ? `${repo}${tag ? `:${tag}` : ""}` : undefined, {
    changes: url.searchParams.getAll("changes").filter((c) => c.trim() !== ""),
    message: url.searchParams.get("comment") || undefined,
    author: url.searchParams.get("author") || undefined,
    // Docker's default is to pause (since API 1.13): only an explicit false does not
    pause: url.searchParams.get("pause") === null || url.searchParams.get("pause") === "" || boolParam(url, "pause"),
  });
  return jsonResponse({ Id: rec.id }, 201);
}

export const COMMIT_ROUTES: Route[] = [
  { method: "POST", path: /^\/commit$/, handle: commit },
  { method: "GET", path: /^\/containers\/([^/]+)\/changes$/, handle: changes },
];
