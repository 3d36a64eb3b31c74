// bunker port ID [CTRPORT[/PROTO]]: the container's published ports, as docker port prints them
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { notFound, readState } from "../container/state.ts";
import { BunkerError } from "../errors.ts";

export default async function port(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "port");
  const id = containerArg(g, p.rest[0], "port");
  const state = readState(runtimeContext(g).stateRoot, id);
  if (!state) throw notFound(id);
  const ports = state.run?.network?.ports ?? [];
  const want = p.rest[1];
  if (want === undefined) {
    for (const x of ports) console.log(`${x.containerPort}/${x.proto} -> ${x.hostIp}:${x.hostPort}`);
    return 0;
  }
  const [num, proto = "tcp"] = want.split("/");
  const found = ports.filter((x) => String(x.containerPort) === num && x.proto === proto);
  if (!found.length) throw new BunkerError(`port: container ${id} does not publish ${num}/${proto}`, { errno: "ENOENT", fix: `bunker port ${id} lists what it publishes` });
  for (const x of found) console.log(`${x.hostIp}:${x.hostPort}`);
  return 0;
}
