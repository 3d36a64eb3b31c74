// The port proxy of a container on a user network (c/proxy.c, the monitor
// program in --proxy mode, as podman's rootlessport): the container's address
// is on the network's bridge, inside a namespace of bunker's own that no host
// socket reaches, so each published port is a socket the proxy binds in the
// host's namespace and whose connections (TCP) or datagrams (UDP: a flow per
// client address, closed after 90 s idle, as Docker's docker-proxy) it relays
// to the container's address from inside the network's namespace.
//
// With --network pasta, pasta forwards TCP ports itself; its /udp ones and
// every port of slirp4netns go through this proxy, joined to the container's
// own namespace and sending to its 127.0.0.1 (podman relays slirp4netns's
// ports through its rootlessport alike).  Neither helper of Debian 12 relays
// UDP answers back — slirp4netns drops every datagram to its host address
// 10.0.2.2 under --disable-host-loopback, answers included (podman#4586), and
// pasta 0.0~git20230309 sends a spliced answer to the wrong port when
// HOSTPORT is not CTRPORT — and slirp4netns's own add_hostfwd moves TCP at
// less than half the proxy's rate (make bench).  It is started once the
// container has joined the network and before its command runs, watches the
// container's process by pidfd and exits with it (also after a SIGKILL of
// bunker or of the container); its pid and start time are in the state.
import { BunkerError } from "../errors.ts";
import { pidStartTime } from "../sys/proc.ts";
import { awaitReady, helperErrors, spawnLogged, type ProcessRef } from "./helper.ts";
import { formatPort, type PublishedPort } from "./ports.ts";

/**
 * Starts the proxy of PORTS for the container's process PID at address IP in
 * the network namespace of process NETNS (a user network's holder, or PID
 * itself); returns once every port is bound and the namespace joined.  Its
 * stderr goes to DIR/network.log.
 */
export async function startProxy(pid: number, netns: number, ip: string, ports: PublishedPort[], dir: string, debug?: (m: string) => void): Promise<ProcessRef> {
  const args = ["bunker-proxy", `--proxy=${pid}`, `--netns-of=${netns}`, `--to=${ip}`, ...ports.map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}`)];
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
