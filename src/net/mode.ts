// --network values, as Docker and podman spell them.
import { BunkerError } from "../errors.ts";
import { isNetworkName } from "./names.ts";

export type NetworkMode =
  | { kind: "none" }
  | { kind: "host" }
  /** pasta (Debian passt): ARGS are passed to it; --map-gw (podman's spelling) lets the container reach the host's loopback through the gateway address */
  | { kind: "pasta"; args: string[]; mapGw: boolean }
  | { kind: "slirp4netns"; allowHostLoopback: boolean; mtu: number; cidr?: string; enableIpv6: boolean }
  /** join the network namespace (and user namespace) of another container: a pod */
  | { kind: "container"; id: string }
  /** a user network (`bunker network create NAME`, src/container/network.ts) */
  | { kind: "user"; name: string };

/** what needs a helper program (pasta, slirp4netns) against the container's own network namespace */
export type HelperMode = Extract<NetworkMode, { kind: "pasta" | "slirp4netns" }>;

const FIX = "use --network none, host, pasta[:OPTS], slirp4netns[:OPTS], container:ID or the NAME of a network (bunker network ls)";

const bool = (value: string, what: string): boolean => {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new BunkerError(`--network ${what}: "${value}" must be true or false`, { errno: "EINVAL" });
};

export function parseNetwork(value: string): NetworkMode {
  const i = value.indexOf(":");
  const name = i < 0 ? value : value.slice(0, i);
  const opts = i < 0 ? undefined : value.slice(i + 1);
  if ((name === "none" || name === "host") && opts === undefined) return { kind: name };
  if (name === "pasta") {
    const all = opts ? opts.split(",").filter(Boolean) : [];
    return { kind: "pasta", args: all.filter((a) => a !== "--map-gw"), mapGw: all.includes("--map-gw") };
  }
  if (name === "slirp4netns") {
    const m: Extract<NetworkMode, { kind: "slirp4netns" }> = { kind: "slirp4netns", allowHostLoopback: false, mtu: 65520, enableIpv6: false };
    for (const o of opts ? opts.split(",").filter(Boolean) : []) {
      const [k, v = ""] = [o.slice(0, o.indexOf("=") < 0 ? o.length : o.indexOf("=")), o.includes("=") ? o.slice(o.indexOf("=") + 1) : ""];
      if (k === "allow_host_loopback") m.allowHostLoopback = bool(v, "slirp4netns:allow_host_loopback");
      else if (k === "enable_ipv6") m.enableIpv6 = bool(v, "slirp4netns:enable_ipv6");
      else if (k === "mtu") {
        if (!/^\d+$/.test(v) || Number(v) < 68 || Number(v) > 65521) throw new BunkerError(`--network slirp4netns:mtu: "${v}" must be a number from 68 to 65521`, { errno: "EINVAL" });
        m.mtu = Number(v);
      } else if (k === "cidr") {
        if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(v)) throw new BunkerError(`--network slirp4netns:cidr: "${v}" is not an IPv4 network (like 10.0.2.0/24)`, { errno: "EINVAL" });
        m.cidr = v;
      } else throw new BunkerError(`--network slirp4netns: unknown option "${k}"`, { errno: "EINVAL", fix: "slirp4netns takes allow_host_loopback=true|false, enable_ipv6=true|false, mtu=N, cidr=NET/LEN" });
    }
    return m;
  }
  if (name === "container" && opts) return { kind: "container", id: opts };
  if (opts === undefined && isNetworkName(name)) return { kind: "user", name };
  throw new BunkerError(`--network: unsupported value "${value}"`, { errno: "EINVAL", fix: FIX });
}

/** the container's resolver, as the helper forwards it to the host's (pasta: --dns-forward; slirp4netns: its built-in one) */
export function helperNameserver(m: HelperMode): string {
  if (m.kind === "pasta") return PASTA_DNS;
  return `${(m.cidr ?? "10.0.2.0/24").split("/")[0]!.split(".").slice(0, 3).join(".")}.3`;
}

/** pasta maps this address, seen from the container, to the host's first resolver (podman uses the same) */
export const PASTA_DNS = "169.254.1.1";
