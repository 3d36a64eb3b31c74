// The image endpoints: the image store (src/image) as Docker's JSON.
import { createReadStream, rmSync } from "node:fs";
import { containerUsingImage } from "../container/image-use.ts";
import { pruneImages } from "../container/prune.ts";
import type { RuntimeContext } from "../container/context.ts";
import { loadArchive, saveArchive } from "../image/archive.ts";
import { imageDetails, imageHistory } from "../image/inspect.ts";
import { layerLimitsOf } from "../image/limits.ts";
import { formatReference, parseReference, shortName } from "../image/reference.ts";
import { Store, type ImageRecord } from "../image/store.ts";
import { ApiError, jsonResponse } from "./errors.ts";
import { boolParam, type ApiRequest, type Route } from "./server.ts";

/** the store, with the layer bounds of bunker's environment (as `bunker load` and `pull` have them) */
export function storeOf(ctx: RuntimeContext): Store {
  const env = (name: string) => ({ value: ctx.env[name], what: `$${name}` });
  return Store.open(ctx.dataRoot, layerLimitsOf(env("BUNKER_MAX_LAYER_SIZE"), env("BUNKER_STORAGE_RESERVE")));
}

const unixTime = (iso: string | undefined) => (iso ? Math.floor(Date.parse(iso) / 1000) || 0 : 0);

/** an image as GET /images/json lists it */
export function imageSummary(store: Store, rec: ImageRecord): Record<string, unknown> {
  const m = store.manifestOf(rec);
  const c = store.configOf(rec);
  const size = m.layers.reduce((n, l) => n + l.size, 0);
  return {
    Id: rec.id,
    ParentId: "",
    RepoTags: rec.names.map(shortName),
    RepoDigests: (rec.repoDigests ?? []).map(shortName),
    Created: unixTime(c.created),
    Size: size,
    SharedSize: -1,
    VirtualSize: size,
    Labels: c.config?.Labels ?? {},
    Containers: -1,
  };
}

function list({ ctx }: ApiRequest): Response {
  const store = storeOf(ctx);
  return jsonResponse(store.listImages().map((rec) => imageSummary(store, rec)));
}

function inspect({ ctx, params }: ApiRequest): Response {
  return jsonResponse(imageDetails(storeOf(ctx), params[0]!));
}

function history({ ctx, params }: ApiRequest): Response {
  return jsonResponse(imageHistory(storeOf(ctx), params[0]!));
}

async function remove({ ctx, params, url }: ApiRequest): Promise<Response> {
  const store = storeOf(ctx);
  const r = await store.removeImage(params[0]!, boolParam(url, "force"), (id) => containerUsingImage(ctx.stateRoot, id));
  await store.gc();
  return jsonResponse([...r.untagged.map((n) => ({ Untagged: shortName(n) })), ...(r.deleted ? [{ Deleted: r.deleted }] : [])]);
}

async function tag({ ctx, params, url }: ApiRequest): Promise<Response> {
  const repo = url.searchParams.get("repo");
  if (!repo) throw new ApiError(400, "tag: the repo parameter is required (POST /images/NAME/tag?repo=REPO&tag=TAG)");
  const t = url.searchParams.get("tag");
  const target = parseReference(t ? `${repo}:${t}` : repo);
  if (target.digest) throw new ApiError(400, `tag: the target ${repo} cannot have a digest`);
  const store = storeOf(ctx);
  await store.addImage(store.get(params[0]!).digest, [formatReference(target)]);
  return new Response(null, { status: 201 });
}

/** filters={"dangling":["false"]} prunes every image no container uses, as `docker image prune -a` */
async function prune({ ctx, url }: ApiRequest): Promise<Response> {
  const filters = parseFilters(url);
  const all = filters.dangling?.includes("false") ?? false;
  for (const k of Object.keys(filters)) if (k !== "dangling") throw new ApiError(400, `image prune: unsupported filter "${k}" (only dangling)`);
  const { deleted, reclaimed } = await pruneImages(ctx, all);
  return jsonResponse({ ImagesDeleted: deleted.map((Deleted) => ({ Deleted })), SpaceReclaimed: reclaimed });
}

/** Docker's filters parameter: a JSON object of string arrays (or of {value: true} maps, the old form) */
export function parseFilters(url: URL): Record<string, string[]> {
  const raw = url.searchParams.get("filters");
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ApiError(400, `invalid filters: not JSON: ${raw.slice(0, 200)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ApiError(400, "invalid filters: must be a JSON object");
  const out: Record<string, string[]> = {};
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x) && x.every((s) => typeof s === "string")) out[k] = x;
    else if (typeof x === "object" && x !== null && Object.values(x).every((b) => b === true)) out[k] = Object.keys(x);
    else throw new ApiError(400, `invalid filters: ${k} must be an array of strings`);
  }
  return out;
}

/** POST /images/load: the body (a docker save or OCI archive) into a temp file of the store, then loaded (quiet=1 changes nothing: there is no progress to leave out) */
async function load({ ctx, req }: ApiRequest): Promise<Response> {
  const store = storeOf(ctx);
  const tmp = store.tempPath("api-load");
  try {
    await Bun.write(tmp, new Response(req.body));
    const loaded = await loadArchive(store, tmp);
    for (const n of new Set(loaded.flatMap((l) => l.notes ?? []))) ctx.log.note(n);
    const lines = loaded.flatMap((l) => (l.names.length ? l.names.map((n) => `Loaded image: ${shortName(n)}`) : [`Loaded image ID: ${store.readJson<{ config: { digest: string } }>(l.manifestDigest).config.digest}`]));
    return new Response(lines.map((l) => JSON.stringify({ stream: `${l}\n` }) + "\r\n").join(""), { headers: { "Content-Type": "application/json" } });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** GET /images/NAME/get or /images/get?names=…: a docker-archive, streamed from a temp file removed once it is open */
async function save({ ctx, params, url }: ApiRequest): Promise<Response> {
  const names = params[0] !== undefined ? [params[0]] : url.searchParams.getAll("names");
  if (!names.length) throw new ApiError(400, "save: which images? give names=IMAGE (once per image)");
  const store = storeOf(ctx);
  const tmp = store.tempPath("api-save");
  try {
    await saveArchive(store, names, tmp);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const file = createReadStream(tmp);
  file.once("open", () => rmSync(tmp, { force: true }));
  file.once("error", () => rmSync(tmp, { force: true }));
  const chunks = file[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      const { value, done } = await chunks.next();
      if (done) c.close();
      else c.enqueue(value as Uint8Array);
    },
    cancel: () => void file.destroy(),
  });
  return new Response(body, { headers: { "Content-Type": "application/x-tar" } });
}

export const IMAGE_ROUTES: Route[] = [
  { method: "GET", path: /^\/images\/json$/, handle: list },
  { method: "POST", path: /^\/images\/load$/, handle: load },
  { method: "POST", path: /^\/images\/prune$/, handle: prune },
  { method: "GET", path: /^\/images\/get$/, handle: save },
  { method: "GET", path: /^\/images\/(.+)\/json$/, handle: inspect },
  { method: "GET", path: /^\/images\/(.+)\/history$/, handle: history },
  { method: "GET", path: /^\/images\/(.+)\/get$/, handle: save },
  { method: "POST", path: /^\/images\/(.+)\/tag$/, handle: tag },
  { method: "DELETE", path: /^\/images\/(.+)$/, handle: remove },
];
