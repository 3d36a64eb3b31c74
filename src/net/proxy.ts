// The port proxy of a container on a user network (c/proxy.c, the monitor
// program in --proxy mode, as podman's rootlessport): the container's address
// is on the network's bridge, inside a namespace of bunker's own that no host
// socket reaches, so each published port is a socket the proxy listens on in
// the host's namespace and whose connections it relays to the container's
// address from inside the network's namespace.  It is started once the
// container has joined the network and before its command runs, watches the
// container's process by pidfd and exits with it (also after a SIGKILL of
// bunker or of the container); its pid and start time are in the state.
import { BunkerError } from "../errors.ts";
import { pidStartTime } from "../sys/proc.ts";
import { awaitReady, helperErrors, spawnLogged, type ProcessRef } from "./helper.ts";
import { formatPort, type PublishedPort } from "./ports.ts";

/** -p's on a user network: TCP only (one clear line for a /udp, before the container starts) */
export function checkProxyPorts(ports: PublishedPort[], network: string): void {
  const udp = ports.find((p) => p.proto === "udp");
  if (udp) throw new BunkerError(`-p ${udp.hostIp}:${udp.hostPort || ""}:${udp.containerPort}/udp: UDP ports are not published on a user network yet (--network ${network})`, { errno: "EOPNOTSUPP", fix: "publish TCP ports only here, or use --network pasta or slirp4netns for UDP" });
}

/**
 * Starts the proxy of PORTS for the container's process PID at address IP on
 * the network whose namespaces process HOLDER holds; returns once every port
 * is bound and the network joined.  Its stderr goes to DIR/network.log.
 */
export async function startProxy(pid: number, holder: number, ip: string, ports: PublishedPort[], dir: string, debug?: (m: string) => void): Promise<ProcessRef> {
  const args = ["bunker-proxy", `--proxy=${pid}`, `--netns-of=${holder}`, `--to=${ip}`, ...ports.map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}`)];
  debug?.(`network: ${args.join(" ")}`);
  const log = `${dir}/network.log`;
  const proxy = spawnLogged(args, log, "the port proxy");
  const ref: ProcessRef = { pid: proxy.pid, start: pidStartTime(proxy.pid) ?? "" };
  const ready = await awaitReady(proxy, 10_000);
  if (!ready) {
    const why = helperErrors(log);
    throw new BunkerError(`-p ${ports.map(formatPort).join(", ")}: the port proxy did not start${ready === undefined ? " within 10 s" : ""}${why ? `: ${why.replace(/^bunker: /, "")}` : ""}`, { errno: ready === undefined ? "ETIMEDOUT" : "EIO", fix: "bunker check; report it" });
  }
  return ref;
}
