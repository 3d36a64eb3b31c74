// The container's /etc/hosts and /etc/resolv.conf, as Docker writes them.
import { BunkerError } from "../errors.ts";
import { wordsOf } from "../loops.ts";

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
  let out = `127.0.0.1\tlocalhost ${names}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
  for (const e of extra) out += `${e.ip}\t${e.name}\n`;
  return out;
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
  // plain loops and words, no regular expressions or map/filter/flatMap: run's path (src/loops.ts)
  const hostNs: string[] = [], hostSearch: string[] = [], hostOpts: string[] = [];
  for (const line of o.host.split("\n")) {
    // a keyword and at least one more word: what /^KEYWORD\s/ matched on the trimmed line
    const w = wordsOf(line);
    if (w.length < 2) continue;
    if (w[0] === "nameserver") hostNs.push(w[1]!);
    else if (w[0] === "search" || w[0] === "domain") hostSearch.push(...w.slice(1));
    else if (w[0] === "options") hostOpts.push(...w.slice(1));
  }
  const ns = o.dns.length ? o.dns : o.helper ? [o.helper] : hostNs;
  const search: string[] = [];
  if (o.dnsSearch.length) {
    for (const s of o.dnsSearch) if (s !== ".") search.push(s);
  } else search.push(...hostSearch);
  const opts = o.dnsOptions.length ? o.dnsOptions : hostOpts;
  const out: string[] = [];
  for (const n of ns) out.push(`nameserver ${n}`);
  if (search.length) out.push(`search ${search.join(" ")}`);
  if (opts.length) out.push(`options ${opts.join(" ")}`);
  return out.join("\n") + "\n";
}
