// POST /containers/ID/rename?name=NEW: docker's rename over the engine's (src/container/rename.ts): 204
import { renameContainer } from "../container/rename.ts";
import { resolveId } from "./containers.ts";
import { ApiError } from "./errors.ts";
import type { ApiRequest, Route } from "./server.ts";

async function rename({ ctx, params, url }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const name = url.searchParams.get("name")?.replace(/^\//, "");
  if (!name) throw new ApiError(400, "rename: the name parameter is required (name=NEW)");
  await renameContainer(ctx, id, name);
  return new Response(null, { status: 204 });
}

export const RENAME_ROUTES: Route[] = [{ method: "POST", path: /^\/containers\/([^/]+)\/rename$/, handle: rename }];
