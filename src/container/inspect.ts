// A container in docker inspect's and docker ps's shapes: `bunker inspect ID`
// and the Engine API's /containers/json and /containers/{id}/json say the same.
import type { PublishedPort } from "../net/ports.ts";
import { dirname } from "node:path";
import { attachedNetworks, containerName, containerStatus, listIds, type ContainerState } from "./state.ts";
import { BunkerError } from "../errors.ts";
import { exitRecord } from "./exit-record.ts";
import { readRestartCount } from "./restart-policy.ts";
import { existsSync, statSync } from "node:fs";


/** Docker's State.Status for bunker's status */
const dockerStatus = (status: string) => (status === "stopped" ? "exited" : status);

/** NetworkSettings.Ports: "80/tcp" -> [{HostIp, HostPort}] */
function portMap(ports: PublishedPort[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return out;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * NetworkSettings.Networks: each user network the container is on, with
 * Docker's aliases (its short id first: docker-compose checks for it before
 * it would connect the container again)
 */
function networksOf(s: ContainerState): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    attachedNetworks(s).map((n) => [
      n.name,
      { IPAMConfig: null, Links: null, Aliases: [s.id.slice(0, 12), ...(n.aliases ?? [])], NetworkID: n.id ?? "", EndpointID: "", Gateway: n.gateway ?? "", IPAddress: n.ip, IPPrefixLen: n.prefix ?? 0, IPv6Gateway: "", GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0, MacAddress: "" },
    ]),
  );
}

/** docker inspect's container fields bunker knows, and what the container's process was given */
export function containerDetails(s: ContainerState, status: string, dir: string): Record<string, unknown> {
  const proc = s.process;
  const c = s.run?.confinement;
  const exit = status === "stopped" ? exitRecord(dir) : undefined;
  return {
    Id: s.id,
    Name: `/${containerName(dirname(dir), s.id)}`,
    Created: s.created,
    Path: proc?.args?.[0] ?? "",
    Args: proc?.args?.slice(1) ?? [],
    State: {
      Status: dockerStatus(status),
      Running: status === "running",
      Paused: status === "paused",
      Pid: status === "stopped" ? 0 : s.pid,
      ExitCode: exit?.code ?? 0,
      StartedAt: s.created,
      FinishedAt: exit ? exit.at.toISOString() : ZERO_TIME,
    },
    Image: s.run?.image ?? "",
    RestartCount: readRestartCount(dir).count,
    Config: { Image: s.run?.image ?? "", Tty: proc?.terminal ?? false, OpenStdin: !!s.run?.stdin, StdinOnce: s.run?.stdin?.once ?? false, AttachStdin: false, AttachStdout: false, AttachStderr: false, User: proc ? `${proc.user.uid}:${proc.user.gid}` : "", Env: proc?.env ?? [], WorkingDir: proc?.cwd ?? "/", Cmd: s.run?.command ?? proc?.args ?? [], Labels: s.run?.labels ?? {} },
    HostConfig: {
      NetworkMode: s.run?.network?.mode ?? "none",
      RestartPolicy: { Name: s.run?.restart?.name ?? "no", MaximumRetryCount: s.run?.restart?.maximumRetryCount ?? 0 },
      // a detached container's log is json-file-like (rotated, read by logs); a foreground one's goes to its terminal
      LogConfig: { Type: existsSync(`${dir}/log`) ? "json-file" : "none", Config: {} },
      ...(c ? { Privileged: c.privileged, CapAdd: null, CapDrop: null, SecurityOpt: [...(c.noNewPrivileges ? ["no-new-privileges"] : []), `seccomp=${c.seccomp}`], MaskedPaths: c.maskedPaths, ReadonlyPaths: c.readonlyPaths } : {}),
    },
    NetworkSettings: { Ports: portMap(s.run?.network?.ports ?? []), IPAddress: s.run?.network?.userNetwork?.ip ?? "", Networks: networksOf(s) },
    // what bunker gave it: the bounding set, no_new_privs, the filter, locked mounts
    Confinement: c ?? null,
    Bundle: s.bundle,
    Cgroup: s.cgroup ?? null,
  };
}

/** Go's units.HumanDuration, as docker ps prints ages */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** when DIR was made (ms), 0 when it is gone */
function createdAt(dir: string): number {
  try {
    return statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

/** one line of docker ps (GET /containers/json's ContainerSummary); NOW in ms */
export function containerSummary(root: string, id: string, now = Date.now()): { summary: Record<string, unknown>; status: string } {
  const { state: s, status, dir } = containerStatus(root, id);
  // being created, or its create was killed first (a server SIGKILLed mid-request): listed, so rm -f finds it
  if (!s) return { status, summary: { Id: id, Names: [`/${id}`], Image: "", ImageID: "", Command: "", Created: Math.floor(createdAt(dir) / 1000), Ports: [], Labels: {}, State: "created", Status: "Creating (or its create was interrupted: rm -f it)", HostConfig: { NetworkMode: "none" }, NetworkSettings: { Networks: {} }, Mounts: [] } };
  const exit = status === "stopped" ? exitRecord(dir) : undefined;
  const since = (t: number) => humanDuration(Math.max(0, now - t));
  const text =
    status === "running" ? `Up ${since(Date.parse(s.created))}`
    : status === "paused" ? `Up ${since(Date.parse(s.created))} (Paused)`
    : status === "created" ? "Created"
    : exit ? `Exited (${exit.code}) ${since(exit.at.getTime())} ago` : "Exited";
  return {
    status,
    summary: {
      Id: s.id,
      Names: [`/${containerName(root, s.id)}`],
      Image: s.run?.image ?? s.bundle,
      ImageID: "",
      Command: (s.run?.command ?? s.process?.args ?? []).join(" "),
      Created: Math.floor(Date.parse(s.created) / 1000),
      Ports: (s.run?.network?.ports ?? []).map((p) => ({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto })),
      Labels: s.run?.labels ?? {},
      State: dockerStatus(status),
      Status: text,
      HostConfig: { NetworkMode: s.run?.network?.mode ?? "none" },
      NetworkSettings: { Networks: networksOf(s) },
      Mounts: [],
    },
  };
}

const LIST_FILTERS = new Set(["status", "name", "id", "label"]);

/**
 * docker ps's rows (GET /containers/json's summaries), newest first: the
 * running and paused ones, every one with ALL or a status filter; FILTERS as
 * Docker's (status, name as a regular expression, id prefix, label K or K=V).
 */
export function listContainers(root: string, all: boolean, filters: Record<string, string[]> = {}): { summary: Record<string, unknown>; status: string }[] {
  for (const k of Object.keys(filters)) if (!LIST_FILTERS.has(k)) throw new BunkerError(`invalid filter '${k}'`, { errno: "EINVAL", fix: "filter by status, name, id or label" });
  const rows: { summary: Record<string, unknown>; status: string }[] = [];
  for (const id of listIds(root)) {
    let found;
    try {
      found = containerSummary(root, id);
    } catch (e) {
      if (e instanceof BunkerError && e.errnoName === "ENOENT") continue; // removed meanwhile
      throw e;
    }
    const { summary, status } = found;
    if (!all && !filters.status && status !== "running" && status !== "paused") continue;
    if (filters.status && !filters.status.includes(summary.State as string)) continue;
    if (filters.id && !filters.id.some((p) => id.startsWith(p))) continue;
    if (filters.name && !filters.name.some((re) => new RegExp(re).test((summary.Names as string[])[0]!))) continue;
    const labels = (summary.Labels ?? {}) as Record<string, string>;
    if (filters.label && !filters.label.every((l) => (l.includes("=") ? labels[l.slice(0, l.indexOf("="))] === l.slice(l.indexOf("=") + 1) : l in labels))) continue;
    rows.push(found);
  }
  // newest first by the full time (Created is in seconds: containers made in one second keep their order otherwise)
  const ms = new Map(rows.map((r) => [r, Date.parse(containerStatus(root, r.summary.Id as string).state?.created ?? "") || (r.summary.Created as number) * 1000]));
  return rows.sort((a, b) => ms.get(b)! - ms.get(a)!);
}
