// The volume endpoints over src/volume: what `bunker volume` does, as Docker's JSON.
import { volumeContext } from "../container/prune.ts";
import { listMatching, parseVolumeFilters, pruneVolumes, removeNamedVolume } from "../volume/manage.ts";
import { checkVolumeName } from "../volume/spec.ts";
import { ensureVolume, getVolume } from "../volume/store.ts";
import { Checker } from "../json.ts";
import { ApiError, jsonResponse } from "./errors.ts";
import { parseFilters } from "./images.ts";
import { boolParam, jsonBody, olderThan, type ApiRequest, type Route } from "./server.ts";

/** Docker's filters object as `bunker volume ls --filter K=V` values */
function volumeFilters(url: URL): Map<string, string[]> {
  return parseVolumeFilters(Object.entries(parseFilters(url)).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)));
}

function list({ ctx, url }: ApiRequest): Response {
  return jsonResponse({ Volumes: listMatching(volumeContext(ctx), volumeFilters(url)), Warnings: [] });
}

/** POST /volumes/create {Name, Driver, DriverOpts, Labels}: 201 and the volume (an existing Name is left as it is, as Docker's) */
async function create({ ctx, req }: ApiRequest): Promise<Response> {
  const what = "volumes/create";
  const body = await jsonBody(req, what, ["Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec"]);
  const c = new Checker(`${what}: request body`);
  const name = c.opt(body, "Name", "", c.str) || undefined;
  const driver = c.opt(body, "Driver", "", c.str) || "local";
  if (driver !== "local") throw new ApiError(400, `${what}: unknown driver "${driver}" (bunker has the local driver only)`);
  const opts = body.DriverOpts === null ? {} : (c.opt(body, "DriverOpts", "", c.strMap) ?? {});
  if (Object.keys(opts).length) throw new ApiError(400, `${what}: DriverOpts (${Object.keys(opts).join(", ")}) are not supported: bunker's local volumes are directories`);
  if (body.ClusterVolumeSpec != null) throw new ApiError(400, `${what}: ClusterVolumeSpec: cluster volumes are a swarm feature bunker does not have`);
  const labels = body.Labels === null ? {} : (c.opt(body, "Labels", "", c.strMap) ?? {});
  const { volume } = ensureVolume(ctx.dataRoot, name === undefined ? undefined : checkVolumeName(name, what), labels);
  return jsonResponse(volume, 201);
}

function inspect({ ctx, params }: ApiRequest): Response {
  return jsonResponse(getVolume(ctx.dataRoot, params[0]!, "volume inspect"));
}

async function remove({ ctx, params, url }: ApiRequest): Promise<Response> {
  await removeNamedVolume(volumeContext(ctx), params[0]!, boolParam(url, "force"));
  return new Response(null, { status: 204 });
}

/** POST /volumes/prune: the unused anonymous volumes, every unused one with filters all=true — and for clients older than 1.42, which had no such filter, as Docker */
async function prune({ ctx, url, version }: ApiRequest): Promise<Response> {
  const filters = parseFilters(url);
  for (const k of Object.keys(filters)) if (k !== "all") throw new ApiError(400, `volume prune: unsupported filter "${k}" (only all)`);
  const all = filters.all ? ["true", "1"].includes(filters.all[0] ?? "") : olderThan(version, "1.42");
  const gone = await pruneVolumes(volumeContext(ctx), all);
  // no SpaceReclaimed: bunker does not measure what the volumes held
  return jsonResponse({ VolumesDeleted: gone });
}

export const VOLUME_ROUTES: Route[] = [
  { method: "GET", path: /^\/volumes$/, handle: list },
  { method: "POST", path: /^\/volumes\/create$/, handle: create },
  { method: "POST", path: /^\/volumes\/prune$/, handle: prune },
  { method: "GET", path: /^\/volumes\/([^/]+)$/, handle: inspect },
  { method: "DELETE", path: /^\/volumes\/([^/]+)$/, handle: remove },
];
