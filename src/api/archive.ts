// The archive endpoints (docker cp through the API, and docker export): HEAD and GET
// /containers/ID/archive?path= (the path's stat in X-Docker-Container-Path-Stat,
// GET with its tar), PUT (a tar extracted into the directory path), over the
// engine's cp (src/container/cp.ts): paths resolve inside the container's root,
// an entry named outside it is a 400 and nothing is written.
import { archivePath, extractArchive, statPath, type PathStat } from "../container/cp.ts";
import { exportContainer } from "../container/export.ts";
import { resolveId } from "./containers.ts";
import { ApiError } from "./errors.ts";
import { boolParam, type ApiRequest, type Route } from "./server.ts";

const STAT_HEADER = "X-Docker-Container-Path-Stat";

function pathParam(url: URL): string {
  const path = url.searchParams.get("path");
  if (!path) throw new ApiError(400, "archive: the path parameter is required (path=/DIR/FILE in the container)");
  return path;
}

const statHeader = (stat: PathStat) => Buffer.from(JSON.stringify(stat)).toString("base64");

/** HEAD: the stat alone; GET: the tar too */
async function getArchive({ ctx, params, url, req }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const path = pathParam(url);
  if (req.method === "HEAD") return new Response(null, { headers: { [STAT_HEADER]: statHeader(await statPath(ctx, id, path)) } });
  const { stat, tar } = await archivePath(ctx, id, path);
  return new Response(tar as unknown as ReadableStream, { headers: { "Content-Type": "application/x-tar", [STAT_HEADER]: statHeader(stat) } });
}

async function putArchive({ ctx, params, url, req }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const path = pathParam(url);
  if (!req.body) throw new ApiError(400, "archive: the request body must be a tar archive");
  await extractArchive(ctx, id, path, req.body, { overwriteDirNonDir: !boolParam(url, "noOverwriteDirNonDir"), copyUIDGID: boolParam(url, "copyUIDGID") });
  return new Response(null, { status: 200 });
}

/** docker export: the container's root as a tar */
async function getExport({ ctx, params }: ApiRequest): Promise<Response> {
  const tar = await exportContainer(ctx, resolveId(ctx, params[0]!));
  return new Response(tar as unknown as ReadableStream, { headers: { "Content-Type": "application/x-tar" } });
}

export const ARCHIVE_ROUTES: Route[] = [
  { method: "GET", path: /^\/containers\/([^/]+)\/export$/, handle: getExport },
  { method: "GET", path: /^\/containers\/([^/]+)\/archive$/, handle: getArchive },
  { method: "PUT", path: /^\/containers\/([^/]+)\/archive$/, handle: putArchive },
];
