// The container's /etc/hosts and /etc/resolv.conf, as Docker writes them.
import { BunkerError } from "../errors.ts";

export interface HostEntry {
  name: string;
  ip: string;
}

const isIPv4 = (ip: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && ip.split(".").every((x) => Number(x) <= 255);
const isIPv6 = (ip: string) => /^[0-9a-fA-F:]+$/.test(ip) && ip.includes(":");

/** --dns IP: an address, as resolv.conf's nameserver takes it */
export function parseDns(ip: string): string {
  if (!isIPv4(ip) && !isIPv6(ip)) throw new BunkerError(`--dns: "${ip}" is not an IP address`, { errno: "EINVAL", fix: "use --dns 10.0.0.2 (a nameserver's address)" });
  return ip;
}

/** --add-host NAME:IP (IPv6 addresses have colons: the first colon ends the name; "host-gateway" is not known here) */
export function parseAddHost(spec: string): HostEntry {
  const i = spec.indexOf(":");
  const name = i < 0 ? "" : spec.slice(0, i);
  const ip = i < 0 ? "" : spec.slice(i + 1);
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name) || !(isIPv4(ip) || isIPv6(ip)))
    throw new BunkerError(`--add-host: "${spec}" is not NAME:IP`, { errno: "EINVAL", fix: "use --add-host NAME:IP, e.g. --add-host db:10.0.2.5" });
  return { name, ip };
}

/** localhost, the container's hostname and name, then --add-host entries (in the order given) */
export function hostsFile(hostname: string, name: string, extra: HostEntry[]): string {
  const names = [hostname, ...(name !== hostname ? [name] : [])].join(" ");
  return `127.0.0.1\tlocalhost ${names}\n::1\tlocalhost ip6-localhost ip6-loopback\n` + extra.map((e) => `${e.ip}\t${e.name}\n`).join("");
}

export interface ResolvOptions {
  /** the host's /etc/resolv.conf text */
  host: string;
  /** the helper's resolver (pasta, slirp4netns), which forwards to the host's */
  helper?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

/**
 * --dns replaces the nameservers, else the helper's resolver does, else the
 * host's are kept; --dns-search and --dns-option replace the host's search
 * and options lines ("." as the only search domain clears them, as Docker).
 */
export function resolvConf(o: ResolvOptions): string {
  const lines = o.host.split("\n").map((l) => l.trim());
  const hostNs = lines.filter((l) => /^nameserver\s/.test(l)).map((l) => l.split(/\s+/)[1]!);
  const hostSearch = lines.filter((l) => /^(search|domain)\s/.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
  const hostOpts = lines.filter((l) => /^options\s/.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
  const ns = o.dns.length ? o.dns : o.helper ? [o.helper] : hostNs;
  const search = o.dnsSearch.length ? o.dnsSearch.filter((s) => s !== ".") : hostSearch;
  const opts = o.dnsOptions.length ? o.dnsOptions : hostOpts;
  return [...ns.map((n) => `nameserver ${n}`), ...(search.length ? [`search ${search.join(" ")}`] : []), ...(opts.length ? [`options ${opts.join(" ")}`] : [])].join("\n") + "\n";
}
