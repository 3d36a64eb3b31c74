// POST /containers/create: Docker's body (its Config, HostConfig and
// NetworkingConfig) as the engine's RunRequest.  A field bunker reads is
// translated; any other field left at its default (null, "", 0, false, [],
// {}) is what every client sends and means nothing; any other value of
// another field is a 400 naming it: a container is never made half as asked.
import type { RunRequest } from "../container/run.ts";
import { parseVolumeFlag, type MountRequest } from "../volume/spec.ts";
import { parseAddHost } from "../net/etc.ts";
import { parsePublish, type PublishedPort } from "../net/ports.ts";
import { ApiError } from "./errors.ts";
import { restartPolicy } from "../container/restart-policy.ts";

type Obj = Record<string, unknown>;

function isDefault(v: unknown): boolean {
  if (v === null || v === undefined || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.every(isDefault);
  if (typeof v === "object") return Object.values(v as Obj).every(isDefault);
  return false;
}

/** fields whose default, as the docker CLI sends it, is not a zero value */
const DOCKER_DEFAULTS: Record<string, unknown> = { MemorySwappiness: -1 };

/** the fields of one object of the body, each read at most once; what is left is checked by rest() */
class Fields {
  private readonly seen = new Set<string>();
  constructor(private readonly o: Obj, private readonly where: string) {}
  private get(k: string): unknown {
    this.seen.add(k);
    return this.o[k];
  }
  private bad(k: string, want: string): never {
    throw new ApiError(400, `create: ${this.where}${k} must be ${want}`);
  }
  str(k: string): string | undefined {
    const v = this.get(k);
    if (v === undefined || v === null || v === "") return undefined;
    return typeof v === "string" ? v : this.bad(k, "a string");
  }
  bool(k: string): boolean {
    const v = this.get(k);
    if (v === undefined || v === null) return false;
    return typeof v === "boolean" ? v : this.bad(k, "true or false");
  }
  /** a list of strings (null: none; a string alone: a list of one, as Docker's StrSlice) */
  list(k: string, single = false): string[] | undefined {
    const v = this.get(k);
    if (v === undefined || v === null) return undefined;
    if (single && typeof v === "string") return [v];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return this.bad(k, "a list of strings");
    return v as string[];
  }
  /** a list of non-negative integers */
  numbers(k: string): number[] | undefined {
    const v = this.get(k);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 0)) return this.bad(k, "a list of non-negative integers");
    return v as number[];
  }
  obj(k: string): Obj | undefined {
    const v = this.get(k);
    if (v === undefined || v === null) return undefined;
    return typeof v === "object" && !Array.isArray(v) ? (v as Obj) : this.bad(k, "an object");
  }
  /** fields whose value does not change the container made */
  ignore(...keys: string[]): void {
    for (const k of keys) this.seen.add(k);
  }
  /** every other field must be left at its default */
  rest(): void {
    for (const [k, v] of Object.entries(this.o)) {
      if (this.seen.has(k) || isDefault(v) || DOCKER_DEFAULTS[k] === v) continue;
      throw new ApiError(400, `create: ${this.where}${k} is not supported by bunker serve yet (got ${JSON.stringify(v).slice(0, 80)}); leave it out`);
    }
  }
}

/** HostConfig.PortBindings {"80/tcp": [{HostIp, HostPort}]} as -p entries */
function portBindings(b: Obj | undefined): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [port, list] of Object.entries(b ?? {})) {
    for (const bind of (Array.isArray(list) ? list : []) as Obj[]) {
      const ip = typeof bind?.HostIp === "string" ? bind.HostIp : "";
      const hostPort = typeof bind?.HostPort === "string" ? bind.HostPort : "";
      out.push(parsePublish(ip ? `${ip}:${hostPort}:${port}` : hostPort ? `${hostPort}:${port}` : port));
    }
  }
  return out;
}

/** Docker's create body and ?name= as a RunRequest (detached: the program runs at start, its output to the log) */
export function createRequest(body: Obj, name: string | undefined): RunRequest {
  const c = new Fields(body, "");
  const image = c.str("Image");
  if (!image) throw new ApiError(400, "create: the body names no Image");
  // a terminal and stdin are held by the container's log writer, which attach talks to
  const tty = c.bool("Tty"), interactive = c.bool("OpenStdin"), stdinOnce = c.bool("StdinOnce");
  // which streams a client attaches to (it attaches or not: the container is the same); the ports its image or -p expose
  c.ignore("AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts");
  const entry = c.list("Entrypoint", true);
  const cmd = c.list("Cmd", true) ?? [];
  const volumes = Object.keys(c.obj("Volumes") ?? {});
  const labels = c.obj("Labels") ?? {};
  for (const [k, v] of Object.entries(labels)) if (typeof v !== "string") throw new ApiError(400, `create: Labels.${k} must be a string`);
  const env = c.list("Env") ?? [];
  const req: RunRequest = {
    image,
    pull: "never", // a missing image is a 404: the client pulls it (with its progress) and asks again
    command: entry && entry.length > 1 ? [...entry.slice(1), ...cmd] : cmd,
    entrypoint: entry ? (entry[0] ?? "") : undefined,
    env,
    workdir: c.str("WorkingDir"),
    user: c.str("User"),
    hostname: c.str("Hostname"),
    tty,
    interactive,
    attachable: true,
    stdinOnce,
    init: false,
    mounts: volumes.map((v): MountRequest => ({ type: "volume", destination: v, readonly: false, nocopy: false })),
    readOnly: false,
    publish: [],
    publishAll: false,
    addHosts: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    preserveFds: 0,
    noPivot: false,
    rm: false,
    name,
    detach: true,
    logOptions: [],
    oomKillGroup: false,
    security: { capAdd: [], capDrop: [], privileged: false, securityOpts: [] },
    labels: labels as Record<string, string>,
  };
  const h = new Fields(c.obj("HostConfig") ?? {}, "HostConfig.");
  req.mounts.push(...(h.list("Binds") ?? []).map(parseVolumeFlag));
  for (const [dst, opts] of Object.entries(h.obj("Tmpfs") ?? {})) req.mounts.push({ type: "tmpfs", destination: dst, options: typeof opts === "string" && opts ? opts.split(",") : [] });
  req.rm = h.bool("AutoRemove");
  req.readOnly = h.bool("ReadonlyRootfs");
  req.init = h.bool("Init");
  req.publishAll = h.bool("PublishAllPorts");
  req.publish = portBindings(h.obj("PortBindings"));
  req.dns = h.list("Dns") ?? [];
  req.dnsSearch = h.list("DnsSearch") ?? [];
  req.dnsOptions = h.list("DnsOptions") ?? [];
  req.addHosts = (h.list("ExtraHosts") ?? []).map(parseAddHost);
  req.cgroupParent = h.str("CgroupParent");
  req.security = { capAdd: h.list("CapAdd") ?? [], capDrop: h.list("CapDrop") ?? [], privileged: h.bool("Privileged"), securityOpts: h.list("SecurityOpt") ?? [] };
  // Docker's default network (bridge) is bunker's default (pasta or slirp4netns for an image)
  const dockerDefault = (n: string | undefined) => n === undefined || n === "default" || n === "bridge";
  const mode = h.str("NetworkMode");
  req.network = dockerDefault(mode) ? undefined : mode;
  const log = h.obj("LogConfig");
  if (log && !isDefault(log.Type) && log.Type !== "json-file") throw new ApiError(400, `create: HostConfig.LogConfig.Type ${JSON.stringify(log.Type)} is not supported (bunker writes json-file-like rotated logs)`);
  req.logOptions = Object.entries((log?.Config ?? {}) as Obj).map(([k, v]) => `${k}=${String(v)}`);
  const restart = h.obj("RestartPolicy");
  if (restart && (typeof (restart.Name ?? "") !== "string" || typeof (restart.MaximumRetryCount ?? 0) !== "number")) throw new ApiError(400, "create: HostConfig.RestartPolicy must be {Name: string, MaximumRetryCount: number}");
  if (restart) req.restart = restartPolicy((restart.Name as string | undefined) ?? "", (restart.MaximumRetryCount as number | undefined) ?? 0, "create: HostConfig.RestartPolicy");
  // the client's terminal size [rows, columns] (0, 0: none given)
  const size = h.numbers("ConsoleSize");
  if (tty && size?.length === 2 && size[0]! > 0 && size[1]! > 0) req.consoleSize = { height: size[0]!, width: size[1]! };
  h.rest();
  // Config.Volumes lists every volume path, those HostConfig binds too (docker-compose sends both): only the others are anonymous
  req.mounts = req.mounts.filter((m, i) => i >= volumes.length || !req.mounts.slice(volumes.length).some((o) => o.destination === m.destination));
  const net = new Fields(c.obj("NetworkingConfig") ?? {}, "NetworkingConfig.");
  const endpoints = net.obj("EndpointsConfig") ?? {};
  const names = Object.keys(endpoints);
  if (names.length > 1) throw new ApiError(400, `create: one network per container in bunker (got ${names.join(", ")})`);
  if (names[0]) {
    if (!dockerDefault(names[0]) && req.network !== undefined && req.network !== names[0]) throw new ApiError(400, `create: NetworkingConfig names ${names[0]}, HostConfig.NetworkMode ${req.network}`);
    if (!dockerDefault(names[0])) req.network = names[0];
    const ep = new Fields((endpoints[names[0]] ?? {}) as Obj, `NetworkingConfig.EndpointsConfig.${names[0]}.`);
    req.networkAliases = ep.list("Aliases");
    req.ip = ep.obj("IPAMConfig")?.IPv4Address as string | undefined || undefined;
    ep.rest();
  }
  net.rest();
  c.rest();
  return req;
}
