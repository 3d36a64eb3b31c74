// bunker network create|ls|inspect|rm|prune: user networks (src/container/network.ts), output as Docker's
import { BunkerError } from "../errors.ts";
import { flag, flagBool, flagList, HelpRequest, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { parseNetworkOptions } from "../net/usernet.ts";
import { runtimeContext } from "./context.ts";
import { createNetwork, inspectNetworkByName, listNetworks, networkMaps, pruneNetworks, readNetwork, removeNetwork } from "../container/network.ts";

/** --label K=V (K alone: an empty value, as Docker) */
export function parseLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf("=");
    const k = i < 0 ? l : l.slice(0, i);
    if (!k) throw new BunkerError(`network create: --label "${l}" has no key`, { errno: "EINVAL", fix: "use --label KEY=VALUE" });
    out[k] = i < 0 ? "" : l.slice(i + 1);
  }
  return out;
}

async function create(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["subnet"], value: true, help: "CIDR  the network's IPv4 range (default: the first free 10.89.N.0/24)" },
    { names: ["gateway"], value: true, help: "IP  the bridge's address (default: the subnet's first)" },
    { names: ["internal"], help: "no way out: the containers reach only each other" },
    { names: ["label"], value: true, multi: true, help: "K=V  a label" },
    { names: ["opt", "o"], value: true, multi: true, help: "host_loopback=true  the gateway address (host.containers.internal) reaches the host's 127.0.0.1" },
    { names: ["driver", "d"], value: true, help: "DRIVER  bridge (the only one)" },
  ], "network create", false);
  const driver = flag(p, "driver");
  if (driver !== undefined && driver !== "bridge") throw new BunkerError(`network create: driver "${driver}" is not supported`, { errno: "EINVAL", fix: "use --driver bridge (or leave it out)" });
  if (p.rest.length !== 1) throw new BunkerError("network create: exactly one NAME is needed", { errno: "EINVAL", fix: "bunker network create [--subnet CIDR] NAME" });
  const ctx = runtimeContext(g);
  const c = await createNetwork(ctx, { name: p.rest[0]!, subnet: flag(p, "subnet"), gateway: flag(p, "gateway"), internal: flagBool(p, "internal"), labels: parseLabels(flagList(p, "label")), options: parseNetworkOptions(flagList(p, "opt")) }, networkMaps(ctx));
  console.log(c.Id);
  return 0;
}

function ls(argv: string[], g: GlobalOptions): number {
  const p = parseFlags(argv, [{ names: ["quiet", "q"], help: "only the ids" }], "network ls", false);
  const all = listNetworks(runtimeContext(g));
  if (flagBool(p, "quiet")) {
    for (const n of all) console.log(n.Id.slice(0, 12));
    return 0;
  }
  const rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"], ...all.map((n) => [n.Id.slice(0, 12), n.Name, "bridge", "local"])];
  const width = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  for (const r of rows) console.log(r.map((c, k) => (k < r.length - 1 ? c.padEnd(width[k]! + 3) : c)).join(""));
  return 0;
}

async function inspect(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "network inspect", false);
  if (!p.rest.length) throw new BunkerError("network inspect: a NAME is needed", { errno: "EINVAL", fix: "bunker network inspect NAME..." });
  const ctx = runtimeContext(g);
  const out = [];
  for (const name of p.rest) out.push(await inspectNetworkByName(ctx, name));
  console.log(JSON.stringify(out, null, 4));
  return 0;
}

async function rm(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "no error for a network that does not exist" }], "network rm", false);
  if (!p.rest.length) throw new BunkerError("network rm: a NAME is needed", { errno: "EINVAL", fix: "bunker network rm NAME..." });
  const ctx = runtimeContext(g);
  for (const name of p.rest) {
    try {
      readNetwork(ctx, name);
    } catch (e) {
      if (flagBool(p, "force") && e instanceof BunkerError && e.errnoName === "ENOENT") continue;
      throw e;
    }
    await removeNetwork(ctx, name);
    console.log(name);
  }
  return 0;
}

async function prune(argv: string[], g: GlobalOptions): Promise<number> {
  parseFlags(argv, [{ names: ["force", "f"], help: "do not ask (accepted: prune never asks)" }], "network prune", false);
  const removed = await pruneNetworks(runtimeContext(g));
  if (removed.length) console.log(`Deleted Networks:\n${removed.join("\n")}`);
  return 0;
}

const SUB: Record<string, (argv: string[], g: GlobalOptions) => number | Promise<number>> = { create, ls, list: ls, inspect, rm, remove: rm, prune };

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") throw new HelpRequest("network", []);
  const fn = sub ? SUB[sub] : undefined;
  if (!fn) throw new BunkerError(`network: unknown subcommand "${sub ?? ""}"`, { errno: "EINVAL", fix: "one of: create, ls, inspect, rm, prune" });
  return fn(rest, g);
}
