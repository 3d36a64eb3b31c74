// Published ports: -p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp], -p CTRPORT, -P.
import { BunkerError } from "../errors.ts";

export interface PublishedPort {
  /** the host address bound: 0.0.0.0 (all) or one address such as 127.0.0.1 */
  hostIp: string;
  /** 0 until a free one is chosen (-p CTRPORT, -P) */
  hostPort: number;
  containerPort: number;
  proto: "tcp" | "udp";
}

const FIX = "use -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] or -p CONTAINERPORT";

function port(text: string, spec: string, zeroOk: boolean): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535 || (!zeroOk && Number(text) === 0))
    throw new BunkerError(`-p ${spec}: "${text}" is not a port number (1-65535)`, { errno: "EINVAL", fix: FIX });
  return Number(text);
}

function ipv4(text: string, spec: string): string {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new BunkerError(`-p ${spec}: "${text}" is not an IPv4 address`, { errno: "EINVAL", fix: FIX });
  return text;
}

export function parsePublish(spec: string): PublishedPort {
  const slash = spec.lastIndexOf("/");
  const proto = slash < 0 ? "tcp" : spec.slice(slash + 1);
  if (proto !== "tcp" && proto !== "udp") throw new BunkerError(`-p ${spec}: unknown protocol "${proto}"`, { errno: "EINVAL", fix: FIX });
  const parts = (slash < 0 ? spec : spec.slice(0, slash)).split(":");
  if (parts.length > 3 || parts.some((p, k) => p === "" && !(parts.length === 3 && k === 1)))
    throw new BunkerError(`-p ${spec}: not [HOSTIP:]HOSTPORT:CONTAINERPORT`, { errno: "EINVAL", fix: FIX });
  const containerPort = port(parts[parts.length - 1]!, spec, false);
  const hostPort = parts.length >= 2 && parts[parts.length - 2] !== "" ? port(parts[parts.length - 2]!, spec, true) : 0;
  const hostIp = parts.length === 3 ? ipv4(parts[0]!, spec) : "0.0.0.0";
  return { hostIp, hostPort, containerPort, proto };
}

/** -P: the image's ExposedPorts ("80/tcp": {}), each on a free host port of every address */
export function exposedPorts(exposed: Record<string, unknown> | undefined): PublishedPort[] {
  return Object.keys(exposed ?? {}).map((k) => parsePublish(k.includes("/") ? k : `${k}/tcp`));
}

/**
 * binds HOSTIP:PORT (0: any free one) as the helper will, and gives the port back: the one bound.
 * node:net and node:dgram are imported here, on a -p's path only: loading them costs every run ~3 ms
 */
async function tryBind(p: PublishedPort): Promise<number> {
  const [{ createServer }, { createSocket }] = await Promise.all([import("node:net"), import("node:dgram")]);
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException) =>
      reject(new BunkerError(`-p ${p.hostIp}:${p.hostPort || ""}:${p.containerPort}/${p.proto}: cannot bind the host port`, {
        errno: e.code ?? "EADDRINUSE",
        fix: e.code === "EADDRINUSE" ? `port ${p.hostPort} is in use on ${p.hostIp}: choose another host port, or -p ${p.containerPort} for a free one` : e.code === "EACCES" ? "ports below 1024 need root (or sysctl net.ipv4.ip_unprivileged_port_start)" : undefined,
      }));
    if (p.proto === "udp") {
      const s = createSocket("udp4");
      s.once("error", fail);
      s.bind(p.hostPort, p.hostIp, () => {
        const got = s.address().port;
        s.close(() => resolve(got));
      });
      return;
    }
    const s = createServer();
    s.once("error", fail);
    s.listen({ host: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}

/**
 * Every port checked free before the container starts (one clear line for one
 * in use), and free ones chosen for HOSTPORT 0.  The helper binds them a few
 * milliseconds later; a program that takes one in between makes the helper fail.
 */
export async function reservePorts(ports: PublishedPort[]): Promise<PublishedPort[]> {
  const out: PublishedPort[] = [];
  for (const p of ports) {
    if (p.hostPort !== 0 && out.some((q) => q.hostPort === p.hostPort && q.proto === p.proto && (q.hostIp === p.hostIp || q.hostIp === "0.0.0.0" || p.hostIp === "0.0.0.0")))
      throw new BunkerError(`-p ${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}: host port ${p.hostPort} is published twice`, { errno: "EADDRINUSE", fix: "give each -p its own host port" });
    out.push({ ...p, hostPort: await tryBind(p) });
  }
  return out;
}

/**
 * P is forwarded by the --network KIND helper itself: pasta's TCP ports.  The
 * others (pasta's UDP ones, all of slirp4netns's, a user network's) go through
 * bunker-proxy (src/net/proxy.ts says why).
 */
export function helperForwards(kind: string, p: PublishedPort): boolean {
  return kind === "pasta" && p.proto === "tcp";
}

/** "0.0.0.0:8080->80/tcp", as docker ps shows it */
export function formatPort(p: PublishedPort): string {
  return `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`;
}
