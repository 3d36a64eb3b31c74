// `bunker serve`: the Docker Engine API over HTTP.  Each route calls the same
// engine functions as the CLI (src/container, src/image); the server keeps no
// state of its own — containers and images live on disk, so a restarted
// server finds every one again.
import type { RuntimeContext } from "../container/context.ts";
import { VERSION } from "../version.ts";
import { ApiError, errorResponse, statusOf } from "./errors.ts";
import { prepareSocket, removeSocket, secureSocket, type Listen } from "./listen.ts";
import { BunkerError } from "../errors.ts";
import { JSON_LIMITS, parseJsonObject } from "../json.ts";
import { listenFront, type Hijack } from "./front.ts";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";

/** the version this server speaks; clients negotiate down to it through /_ping's API-Version header */
export const API_VERSION = "1.41";
/** the oldest and newest `/vX.YY/` prefixes accepted (docker 1.12's API to docker 28's) */
export const MIN_API_VERSION = "1.24";
const MAX_API_VERSION = "1.51";

export interface ApiRequest {
  req: Request;
  url: URL;
  /** the API version the client asked for (its /vX.YY/ prefix), API_VERSION without one */
  version: string;
  /** the route's captured path parts (URL-decoded) */
  params: string[];
  ctx: RuntimeContext;
}

export interface Route {
  method: string;
  /** matched against the path without its /vX.YY prefix */
  path: RegExp;
  handle: (r: ApiRequest) => Response | Promise<Response>;
}

/** headers a Docker daemon sends with every response */
export const COMMON_HEADERS = { "Api-Version": API_VERSION, "Docker-Experimental": "false", Ostype: "linux", Server: `bunker/${VERSION} (linux)` };

const versionNumber = (v: string) => {
  const [major, minor] = v.split(".").map(Number);
  return major! * 1000 + minor!;
};

/** whether version A is older than B ("1.41" < "1.42") */
export const olderThan = (a: string, b: string) => versionNumber(a) < versionNumber(b);

/** the path without its version prefix; a version outside MIN..MAX is Docker's 400 */
export function stripVersion(path: string): string {
  return splitVersion(path).path;
}

function splitVersion(path: string): { path: string; version: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (!m) return { path, version: API_VERSION };
  const v = versionNumber(m[1]!);
  if (v < versionNumber(MIN_API_VERSION)) throw new ApiError(400, `client version ${m[1]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  if (v > versionNumber(MAX_API_VERSION)) throw new ApiError(400, `client version ${m[1]} is too new. Maximum supported API version is ${MAX_API_VERSION}`);
  return { path: m[2]!, version: m[1]! };
}

/**
 * The request's JSON body, an object, read within JSON_LIMITS.request and the
 * nesting bound (src/json.ts): too large, malformed or not an object is
 * Docker's 400 naming where.  Keys other than ALLOWED are a 400 naming the
 * field: a request is never half understood.
 */
export async function jsonBody(req: Request, what: string, allowed: readonly string[] | "checked by the caller"): Promise<Record<string, unknown>> {
  const limit = JSON_LIMITS.request;
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (req.body) {
    for await (const c of req.body) {
      total += c.length;
      if (total > limit) throw new ApiError(400, `${what}: the request body is larger than ${limit} bytes`);
      chunks.push(c);
    }
  }
  const bytes = Buffer.concat(chunks);
  // Go clients send a nil pointer as null (docker commit's config): no fields, as an empty body
  if (!total || bytes.toString().trim() === "null") return {};
  const body = parseJsonObject(bytes, `${what}: request body`, "request");
  const unknown = allowed === "checked by the caller" ? undefined : Object.keys(body).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new ApiError(400, `${what}: request body: unknown field ${JSON.stringify(unknown)} (bunker reads ${(allowed as readonly string[]).join(", ")})`);
  return body;
}

/** a boolean query parameter as Docker reads one: 1, true, True; absent, 0, false, "" are false */
export function boolParam(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  return v !== null && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** the response of ROUTES to REQ */
export async function dispatch(routes: Route[], ctx: RuntimeContext, req: Request): Promise<Response> {
  const url = new URL(req.url);
  let res: Response;
  try {
    const { path, version } = splitVersion(url.pathname);
    let pathFound = false;
    let found: { route: Route; params: string[] } | undefined;
    for (const route of routes) {
      const m = route.path.exec(path);
      if (!m) continue;
      pathFound = true;
      if (route.method === req.method || (route.method === "GET" && req.method === "HEAD")) {
        found = { route, params: m.slice(1).map(decodeURIComponent) };
        break;
      }
    }
    if (!found) throw pathFound ? new ApiError(405, `${req.method} is not allowed on ${path}`) : new ApiError(404, "page not found");
    res = await found.route.handle({ req, url, version, params: found.params, ctx });
  } catch (e) {
    const { status } = statusOf(e);
    if (status >= 500 && status !== 501) ctx.log.warn(e instanceof BunkerError ? e : new BunkerError(`serve: ${req.method} ${url.pathname}: ${statusOf(e).message}`));
    res = errorResponse(e);
  }
  for (const [k, v] of Object.entries(COMMON_HEADERS)) res.headers.set(k, v);
  ctx.log.debug?.(`${req.method} ${url.pathname}${url.search} -> ${res.status}`);
  return res;
}

export interface ApiServer {
  /** the DOCKER_HOST a client sets */
  dockerHost: string;
  /** stops listening, ends open connections, removes the socket */
  stop(): Promise<void>;
}

/**
 * Bun's longest idle timeout (its default, 10 s, would cut a stop that waits
 * its t seconds before it answers; a streamed wait keeps itself alive).  Not in
 * the unix socket options' type, but honoured there too.
 */
const IDLE = { idleTimeout: 255 } as {};

/**
 * listens on WHERE and serves ROUTES until stop(); on a unix socket through
 * the raw front (src/api/front.ts) that serves HIJACK's requests (attach)
 * itself and passes every other connection to Bun.serve on a private socket
 */
export async function serveApi(ctx: RuntimeContext, where: Listen, routes: Route[], hijack?: Hijack): Promise<ApiServer> {
  const fetch = (req: Request) => dispatch(routes, ctx, req);
  if ("unix" in where) {
    await prepareSocket(where.unix);
    const inner = join(dirname(where.unix), `.bunker-api-${process.pid}.sock`);
    rmSync(inner, { force: true }); // a server of this pid that died (pid reused)
    // made 0600 from the start (no moment in which another user could connect), then checked
    const umask = process.umask(0o177);
    let server, front;
    try {
      server = Bun.serve({ unix: hijack ? inner : where.unix, fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER, ...IDLE });
      front = hijack ? listenFront(where.unix, inner, hijack) : undefined;
    } catch (e) {
      server?.stop(true);
      throw new BunkerError(`serve: cannot listen on the socket: ${(e as Error).message}`, { errno: "EADDRINUSE", path: where.unix });
    } finally {
      process.umask(umask);
    }
    const ino = secureSocket(where.unix);
    const innerIno = hijack ? secureSocket(inner) : 0;
    return {
      dockerHost: `unix://${where.unix}`,
      stop: async () => {
        front?.stop();
        await server.stop(true);
        removeSocket(where.unix, ino);
        if (hijack) removeSocket(inner, innerIno);
      },
    };
  }
  let server;
  try {
    server = Bun.serve({ hostname: where.hostname, port: where.port, fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER, ...IDLE });
  } catch (e) {
    throw new BunkerError(`serve: cannot listen on ${where.hostname}:${where.port}: ${(e as Error).message}`, { errno: "EADDRINUSE", fix: "pick a free port" });
  }
  return {
    dockerHost: `tcp://${where.hostname.includes(":") ? `[${where.hostname}]` : where.hostname}:${server.port}`,
    stop: () => server.stop(true),
  };
}
