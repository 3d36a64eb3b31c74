// User networks (`bunker network create`): the pure part — names, subnets,
// addresses, the /etc/hosts lines of a network's containers, Docker's
// inspect shape.  The namespaces and processes are src/container/network.ts's.
import { BunkerError } from "../errors.ts";
export { checkNetworkName, isNetworkName } from "./names.ts";

/** a network's configuration, as created (DATA/networks/NAME/network.json) */
export interface NetworkConfig {
  Name: string;
  /** 64 hex digits, as Docker's */
  Id: string;
  Created: string;
  /** "10.89.0.0/24" */
  Subnet: string;
  Gateway: string;
  Internal: boolean;
  Labels: Record<string, string>;
  /** --opt K=V (Docker's driver options): host_loopback (networks made before it had none) */
  Options?: Record<string, string>;
}

/** the name the containers of a network with host_loopback=true reach the host's loopback by (podman's) */
export const HOST_NAMES = ["host.containers.internal", "host.docker.internal"];

/**
 * `network create --opt K=V`: host_loopback=true|false, whether the gateway
 * address reaches the host's 127.0.0.1 (the only option)
 */
export function parseNetworkOptions(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list) {
    const i = o.indexOf("=");
    const [k, v] = i < 0 ? [o, ""] : [o.slice(0, i), o.slice(i + 1)];
    if (k !== "host_loopback") throw new BunkerError(`network create: --opt "${o}": unknown option "${k}"`, { errno: "EINVAL", fix: "the only option is --opt host_loopback=true|false" });
    if (v !== "true" && v !== "false") throw new BunkerError(`network create: --opt "${o}": host_loopback must be true or false`, { errno: "EINVAL", fix: "use --opt host_loopback=true" });
    out[k] = v;
  }
  return out;
}

/** the network's gateway reaches the host's loopback (--opt host_loopback=true) */
export const hostLoopback = (c: NetworkConfig): boolean => c.Options?.host_loopback === "true";

/** a container on a network (DATA/networks/NAME/endpoints/ID.json) */
export interface Endpoint {
  id: string;
  /** the name the others' /etc/hosts list it by, when rename gave it one other than its id */
  name?: string;
  ip: string;
  aliases: string[];
  /** the container's process and its start time: an endpoint whose process is gone has left */
  pid: number;
  start: string;
  /** the container's /etc/hosts (bind-mounted into it) and the lines of its own it starts with */
  hostsFile: string;
  hostsBase: string;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

export interface Cidr {
  /** the network address */
  base: number;
  prefix: number;
}

const size = (c: Cidr) => 2 ** (32 - c.prefix);

/** "10.89.0.0/24" (a network with room for a gateway and a container: /8 to /30) */
export function parseCidr(text: string, what = "--subnet"): Cidr {
  const [ip = "", len = "", extra] = text.split("/");
  const n = ipToInt(ip);
  if (n === undefined || extra !== undefined || !/^\d{1,2}$/.test(len) || Number(len) < 8 || Number(len) > 30)
    throw new BunkerError(`${what}: "${text}" is not an IPv4 network from /8 to /30`, { errno: "EINVAL", fix: "use e.g. --subnet 10.90.0.0/24" });
  const c = { base: n, prefix: Number(len) };
  if (n % size(c) !== 0) throw new BunkerError(`${what}: "${text}" has host bits set`, { errno: "EINVAL", fix: `use ${intToIp(n - (n % size(c)))}/${len}` });
  return c;
}

export const formatCidr = (c: Cidr) => `${intToIp(c.base)}/${c.prefix}`;

const overlaps = (a: Cidr, b: Cidr) => a.base < b.base + size(b) && b.base < a.base + size(a);

/** IP is a host address of C (not its network or broadcast address) */
export function hostOf(c: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && n > c.base && n < c.base + size(c) - 1;
}

/** the first 10.89.N.0/24 (N = 0..255) that overlaps none of USED */
export function defaultSubnet(used: Cidr[]): Cidr {
  for (let n = 0; n < 256; n++) {
    const c = { base: ipToInt(`10.89.${n}.0`)!, prefix: 24 };
    if (!used.some((u) => overlaps(u, c))) return c;
  }
  throw new BunkerError("network create: every default subnet 10.89.0.0/24 to 10.89.255.0/24 is taken", { errno: "ENOSPC", fix: "remove a network (bunker network prune) or give --subnet" });
}

/** the subnet, gateway and checks of `network create` (OTHERS: the existing networks' subnets) */
export function planSubnet(subnet: string | undefined, gateway: string | undefined, others: { name: string; cidr: Cidr }[]): { subnet: Cidr; gateway: string } {
  const c = subnet === undefined ? defaultSubnet(others.map((o) => o.cidr)) : parseCidr(subnet);
  const clash = others.find((o) => overlaps(o.cidr, c));
  if (clash) throw new BunkerError(`network create: subnet ${formatCidr(c)} overlaps network "${clash.name}" (${formatCidr(clash.cidr)})`, { errno: "EEXIST", fix: "choose another --subnet" });
  const gw = gateway ?? intToIp(c.base + 1);
  if (!hostOf(c, gw)) throw new BunkerError(`network create: --gateway "${gw}" is not a host address of ${formatCidr(c)}`, { errno: "EINVAL", fix: `use an address inside ${formatCidr(c)}, e.g. ${intToIp(c.base + 1)}` });
  return { subnet: c, gateway: gw };
}

/** WANTED (--ip), checked, or the lowest free host address of C that is neither the gateway nor in USED */
export function allocateIp(c: Cidr, gateway: string, used: string[], wanted?: string): string {
  const taken = new Set([gateway, ...used]);
  if (wanted !== undefined) {
    if (!hostOf(c, wanted)) throw new BunkerError(`--ip: "${wanted}" is not a host address of the network's subnet ${formatCidr(c)}`, { errno: "EINVAL", fix: `choose an address inside ${formatCidr(c)}` });
    if (taken.has(wanted)) throw new BunkerError(`--ip: ${wanted} is in use on the network`, { errno: "EADDRINUSE", fix: "choose another --ip, or leave it out" });
    return wanted;
  }
  for (let n = c.base + 1; n < c.base + size(c) - 1; n++) if (!taken.has(intToIp(n))) return intToIp(n);
  throw new BunkerError(`network: no free address left in ${formatCidr(c)}`, { errno: "ENOSPC", fix: "remove containers from the network, or create one with a larger --subnet" });
}

/** the containers of one network, as one container's /etc/hosts lists them */
export interface HostsSection {
  network: NetworkConfig;
  endpoints: Endpoint[];
}

/**
 * SELF's /etc/hosts: its own lines, then for each network it is on (SECTIONS, in order) the host's
 * names (host_loopback) and every other container of that network by name and aliases
 */
export function networkHosts(self: Endpoint, sections: HostsSection[]): string {
  const lines = sections.map(({ network: c, endpoints }) => {
    const host = hostLoopback(c) ? `${c.Gateway}\t${HOST_NAMES.join(" ")}\n` : "";
    return host + endpoints.filter((e) => e.id !== self.id).map((e) => `${e.ip}\t${[e.name ?? e.id, ...e.aliases].join(" ")}\n`).join("");
  });
  return self.hostsBase + lines.join("");
}

/** `network inspect`, as Docker prints one network */
export function inspectNetwork(c: NetworkConfig, endpoints: Endpoint[]) {
  const prefix = c.Subnet.split("/")[1];
  return {
    Name: c.Name,
    Id: c.Id,
    Created: c.Created,
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: c.Subnet, Gateway: c.Gateway }] },
    Internal: c.Internal,
    Attachable: false,
    Ingress: false,
    Containers: Object.fromEntries(endpoints.map((e) => [e.id, { Name: e.id, IPv4Address: `${e.ip}/${prefix}`, IPv6Address: "" }])),
    Options: c.Options ?? {},
    Labels: c.Labels,
  };
}
