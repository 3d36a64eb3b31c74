// The network endpoints over the user networks (src/container/network.ts):
// what `bunker network` does, as Docker's JSON — list, inspect, create,
// remove, prune, connect and disconnect.
import type { RuntimeContext } from "../container/context.ts";
import { connectContainer, createNetwork, disconnectContainer, inspectNetworkByName, listNetworks, networkMaps, pruneNetworks, removeNetwork } from "../container/network.ts";
import { BunkerError } from "../errors.ts";
import { Checker } from "../json.ts";
import type { NetworkConfig } from "../net/usernet.ts";
import { resolveId } from "./containers.ts";
import { ApiError, jsonResponse } from "./errors.ts";
import { parseFilters } from "./images.ts";
import { jsonBody, type ApiRequest, type Route } from "./server.ts";

/** the network NAME, an id or an id's prefix names (Docker's lookup order) */
function resolveNetwork(ctx: RuntimeContext, ref: string): NetworkConfig {
  const all = listNetworks(ctx);
  const hit = all.find((n) => n.Name === ref) ?? all.find((n) => n.Id === ref);
  if (hit) return hit;
  const prefixed = all.filter((n) => n.Id.startsWith(ref));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw new ApiError(400, `network ${ref} is ambiguous (${prefixed.length} matches found on name or id)`);
  throw new ApiError(404, `network ${ref} not found`);
}

const LIST_FILTERS = ["name", "id", "label", "driver", "type", "scope", "dangling"];

function labelMatches(labels: Record<string, string>, want: string): boolean {
  const i = want.indexOf("=");
  return i < 0 ? want in labels : labels[want.slice(0, i)] === want.slice(i + 1);
}

/** GET /networks?filters=: every user network as inspect shows it */
async function list({ ctx, url }: ApiRequest): Promise<Response> {
  const f = parseFilters(url);
  for (const k of Object.keys(f)) if (!LIST_FILTERS.includes(k)) throw new ApiError(400, `invalid filter '${k}' (bunker filters networks by ${LIST_FILTERS.join(", ")})`);
  const out = [];
  for (const n of listNetworks(ctx)) {
    if (f.name && !f.name.some((v) => n.Name.includes(v))) continue;
    if (f.id && !f.id.some((v) => n.Id.startsWith(v))) continue;
    if (f.label && !f.label.every((v) => labelMatches(n.Labels, v))) continue;
    if (f.driver && !f.driver.includes("bridge")) continue;
    if (f.scope && !f.scope.includes("local")) continue;
    // every user network is a custom one (bunker has no predefined networks to list)
    if (f.type && !f.type.includes("custom")) continue;
    const shown = await inspectNetworkByName(ctx, n.Name);
    if (f.dangling && f.dangling.includes("true") !== (Object.keys(shown.Containers).length === 0)) continue;
    out.push(shown);
  }
  return jsonResponse(out);
}

async function inspect({ ctx, params }: ApiRequest): Promise<Response> {
  return jsonResponse(await inspectNetworkByName(ctx, resolveNetwork(ctx, params[0]!).Name));
}

const CREATE_FIELDS = ["Name", "CheckDuplicate", "Driver", "Scope", "Internal", "Attachable", "Ingress", "IPAM", "EnableIPv6", "EnableIPv4", "Options", "Labels", "ConfigOnly", "ConfigFrom"];

/** POST /networks/create: 201 {Id, Warning}; a name that exists is Docker's 409 */
async function create({ ctx, req }: ApiRequest): Promise<Response> {
  const what = "networks/create";
  const body = await jsonBody(req, what, CREATE_FIELDS);
  const c = new Checker(`${what}: request body`);
  const name = c.opt(body, "Name", "", c.str);
  if (!name) throw new ApiError(400, `${what}: the body names no Name`);
  const driver = c.opt(body, "Driver", "", c.str) || "bridge";
  if (driver !== "bridge") throw new ApiError(400, `${what}: driver "${driver}" is not supported (bunker's user networks are bridges)`);
  for (const k of ["Ingress", "EnableIPv6", "ConfigOnly"]) if (c.opt(body, k, "", c.bool)) throw new ApiError(400, `${what}: ${k} is not supported by bunker's user networks`);
  const options = body.Options === null ? {} : (c.opt(body, "Options", "", c.strMap) ?? {});
  if (Object.keys(options).length) throw new ApiError(400, `${what}: Options (${Object.keys(options).join(", ")}) are not supported: bunker's bridges take Subnet and Gateway only`);
  if (body.ConfigFrom != null && Object.keys(body.ConfigFrom as object).length) throw new ApiError(400, `${what}: ConfigFrom is not supported`);
  const ipam = body.IPAM == null ? {} : c.obj(body.IPAM, "IPAM");
  if (ipam.Driver && ipam.Driver !== "default") throw new ApiError(400, `${what}: IPAM.Driver "${String(ipam.Driver)}" is not supported (only default)`);
  const configs = ipam.Config == null ? [] : c.objs(ipam.Config, "IPAM.Config", (o, p) => ({ subnet: c.opt(o, "Subnet", p, c.str) || undefined, gateway: c.opt(o, "Gateway", p, c.str) || undefined, range: c.opt(o, "IPRange", p, c.str) }));
  if (configs.length > 1) throw new ApiError(400, `${what}: IPAM.Config: one subnet per network in bunker (got ${configs.length})`);
  if (configs[0]?.range) throw new ApiError(400, `${what}: IPAM.Config[0].IPRange is not supported (addresses come from the whole subnet)`);
  const labels = body.Labels === null ? {} : (c.opt(body, "Labels", "", c.strMap) ?? {});
  if (listNetworks(ctx).some((n) => n.Name === name)) throw new ApiError(409, `network with name ${name} already exists`);
  const config = await createNetwork(ctx, { name, subnet: configs[0]?.subnet, gateway: configs[0]?.gateway, internal: c.opt(body, "Internal", "", c.bool) ?? false, labels }, networkMaps(ctx));
  return jsonResponse({ Id: config.Id, Warning: "" }, 201);
}

/** DELETE /networks/ID: 204; one with running containers is Docker's 403 */
async function remove({ ctx, params }: ApiRequest): Promise<Response> {
  const n = resolveNetwork(ctx, params[0]!);
  try {
    await removeNetwork(ctx, n.Name);
  } catch (e) {
    if (e instanceof BunkerError && e.errnoName === "EBUSY") throw new ApiError(403, `error while removing network: ${e.message.replace(/^network rm: /, "")}`);
    throw e;
  }
  return new Response(null, { status: 204 });
}

/** POST /networks/prune: the networks no running container is on */
async function prune({ ctx, url }: ApiRequest): Promise<Response> {
  const filters = Object.keys(parseFilters(url));
  if (filters.length) throw new ApiError(400, `network prune: unsupported filter "${filters[0]}" (none are supported yet)`);
  return jsonResponse({ NetworksDeleted: await pruneNetworks(ctx) });
}

/** the body of connect and disconnect (their FIELDS) read: the network, the container, the checker for the rest */
async function endpointRequest({ ctx, params, req }: ApiRequest, what: string, fields: string[]) {
  const body = await jsonBody(req, what, fields);
  const c = new Checker(`${what}: request body`);
  const network = resolveNetwork(ctx, params[0]!).Name;
  return { body, c, network, id: resolveId(ctx, c.opt(body, "Container", "", c.str) ?? "") };
}

/** POST /networks/ID/connect {Container, EndpointConfig: {Aliases, IPAMConfig: {IPv4Address}}} */
async function connect(r: ApiRequest): Promise<Response> {
  const { body, c, network, id } = await endpointRequest(r, "network connect", ["Container", "EndpointConfig"]);
  const ep = body.EndpointConfig == null ? {} : c.obj(body.EndpointConfig, "EndpointConfig");
  const aliases = ep.Aliases == null ? [] : c.strs(ep.Aliases, "EndpointConfig.Aliases");
  const ipam = ep.IPAMConfig == null ? {} : c.obj(ep.IPAMConfig, "EndpointConfig.IPAMConfig");
  const ip = ipam.IPv4Address == null ? undefined : c.str(ipam.IPv4Address, "EndpointConfig.IPAMConfig.IPv4Address") || undefined;
  await connectContainer(r.ctx, network, id, { aliases, ip });
  return new Response(null, { status: 200 });
}

/** POST /networks/ID/disconnect {Container, Force} (Force changes nothing: bunker's disconnect never needs it) */
async function disconnect(r: ApiRequest): Promise<Response> {
  const { network, id } = await endpointRequest(r, "network disconnect", ["Container", "Force"]);
  await disconnectContainer(r.ctx, network, id);
  return new Response(null, { status: 200 });
}

export const NETWORK_ROUTES: Route[] = [
  { method: "GET", path: /^\/networks$/, handle: list },
  { method: "POST", path: /^\/networks\/create$/, handle: create },
  { method: "POST", path: /^\/networks\/prune$/, handle: prune },
  { method: "POST", path: /^\/networks\/([^/]+)\/connect$/, handle: connect },
  { method: "POST", path: /^\/networks\/([^/]+)\/disconnect$/, handle: disconnect },
  { method: "GET", path: /^\/networks\/([^/]+)$/, handle: inspect },
  { method: "DELETE", path: /^\/networks\/([^/]+)$/, handle: remove },
];
