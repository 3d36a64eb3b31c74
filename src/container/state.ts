// Per-container state under the state root: state.json (written atomically),
// exec.fifo; the lock file that serializes commands on one container is lock.ts's.
import type { PublishedPort } from "../net/ports.ts";
import type { ProcessRef } from "../net/helper.ts";
import type { RestartPolicy } from "./restart-policy.ts";
import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, writeFileSync } from "../sys/fs-sync.ts";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import type { Hooks, Process, Seccomp } from "../oci/spec.ts";
import type { IdMaps } from "../sys/idmap.ts";
import type { ConfinementSummary } from "../oci/confine.ts";
import { containerDir, ID_RE, idOfName, NAMES_DIR, readState, status } from "./state-read.ts";
import { filterOf } from "../loops.ts";

// the read side lives in state-read.ts (no node:fs: OCI start, delete and state load none)
export { checkId, containerDir, containerId, idOfName, isAlive, loadExisting, notFound, readState, status, statePayload } from "./state-read.ts";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface ContainerState {
  ociVersion: string;
  id: string;
  /** host pid of the container's first process */
  pid: number;
  /** its start time (/proc/PID/stat field 22): a reused pid is not ours */
  pidStart: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** the container's cgroup (absolute path), when it has one */
  cgroup?: string;
  /** config.process, for exec defaults */
  process?: Process;
  /** linux.seccomp: exec'd processes get the container's filter */
  seccomp?: Seccomp;
  /** instead of seccomp: the default profile's filter compiled when bunker was built (src/oci/default-filter.ts) */
  defaultSeccomp?: boolean;
  /** the hooks that run after create: startContainer and poststart (start), poststop (delete) */
  hooks?: Pick<Hooks, "startContainer" | "poststart" | "poststop">;
  /** the config had its own user namespace (exec joins it) */
  userns: boolean;
  /** a detached `bunker run -d`: what `ps`, `logs`, `stop` and `rm` need */
  run?: {
    image?: string;
    command: string[];
    /** the id maps, to remove a writable layer owned by subordinate ids */
    maps: IdMaps;
    /** where its mounts are: what was made in its writable layer for them is not its change (commit, diff) */
    mountPoints?: string[];
    stopSignal?: string;
    /** what the container got: capabilities, no_new_privs, seccomp, masked and read-only paths */
    confinement?: ConfinementSummary;
    /** --label K=V */
    labels?: Record<string, string>;
    /** --restart (not "no") */
    restart?: RestartPolicy;
    /** --network as given (or the default), published ports, the helper and its keeper (src/net), a user network's port proxy (src/net/proxy.ts) */
    network?: { mode: string; ports: PublishedPort[]; keeper?: ProcessRef; helper?: ProcessRef; proxy?: ProcessRef; userNetwork?: AttachedNetwork; connected?: AttachedNetwork[] };
    /** -d with -i: its stdin is a pipe its log writer holds (attach writes to it); once: Docker's StdinOnce */
    stdin?: { once: boolean };
  };
}

/** a user network a container is on: the one it was made on (userNetwork), or one `network connect` added */
export interface AttachedNetwork {
  name: string;
  ip: string;
  /** its --network-alias names */
  aliases?: string[];
  /** the network's id, gateway and prefix length (inspect's NetworkSettings.Networks) */
  id?: string;
  gateway?: string;
  prefix?: number;
  /** the container's interface on it (eth0 for the one it was made on) */
  ifname?: string;
  /** where the network lives: bunker __finish runs without --data-root */
  dataRoot?: string;
}

/** the user networks container S is on, the one it was made on first */
export function attachedNetworks(s: ContainerState | undefined): AttachedNetwork[] {
  const n = s?.run?.network;
  return [...(n?.userNetwork ? [n.userNetwork] : []), ...(n?.connected ?? [])];
}

/** a kept container's writable layer (the overlay upper dir) in its state dir */
export const UPPER_DIR = "upper";

/** the request a docker-style container was made from (`start` of a stopped one makes it again; `network connect` adds to it) */
export const RUN_REQUEST_FILE = "run-request.json";

/**
 * Names: a container's id is its state dir's name (what helpers hold paths
 * in, so it never changes); `rename` gives it another name, a symlink
 * NAMES_DIR/NAME -> ID that every lookup by name goes through here (and
 * state-read.ts's, for `state`).  An id always finds its container; a link
 * whose container is gone names none.
 */
export { NAMES_DIR };

/** every renamed container's id -> its name */
export function containerNames(root: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync(`${root}/${NAMES_DIR}`);
  } catch {
    return out;
  }
  for (const n of names) {
    const id = idOfName(root, n);
    if (id) out.set(id, n);
  }
  return out;
}

/** the container ID's name (docker's Names): the one rename gave it, else its id */
export const containerName = (root: string, id: string) => containerNames(root).get(id) ?? id;

/** the names that lead to container ID (rm: it goes; start of a stopped one: made again) */
export function namesOf(root: string, id: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(`${root}/${NAMES_DIR}`);
  } catch {
    return [];
  }
  return filterOf(names, (n) => {
    try {
      return readlinkSync(`${root}/${NAMES_DIR}/${n}`) === id;
    } catch {
      return false;
    }
  });
}




/** NAME is free for a new container or a rename: no container has it as its id or its name */
export function checkNameFree(root: string, name: string, verb: string): void {
  const holder = existsSync(`${root}/${name}`) ? name : idOfName(root, name);
  if (holder) throw new BunkerError(`${verb}: the name "${name}" is in use by container ${holder}`, { errno: "EEXIST", fix: `choose another name, or remove that container: bunker rm -f ${name}` });
}

/** creates the container's directory: the one atomic step two concurrent `create`s race on */
export function claimContainer(root: string, id: string): string {
  const dir = containerDir(root, id);
  try {
    // 0711: the container's own root (another host uid with a mapped root) reaches exec.fifo
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if (errnoCode(e) === "EEXIST") throw new BunkerError(`container "${id}" already exists`, { errno: "EEXIST", path: dir, fix: `bunker delete --force ${id}` });
    throw fromSysError("cannot create the container's state directory", e, { path: dir });
  }
  return dir;
}

export function writeState(dir: string, s: ContainerState): void {
  // the dir may be traversable (root's --userns=auto): the state, with the process's env, is not readable
  writeFileSync(`${dir}/state.json.tmp`, JSON.stringify(s), { mode: 0o600 });
  renameSync(`${dir}/state.json.tmp`, `${dir}/state.json`);
}


export function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && ID_RE.test(d.name)).map((d) => d.name).sort();
  } catch {
    return [];
  }
}



/** --pid-file: written whole (a temp file renamed over it, as runc), or one clear error */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, String(pid));
    renameSync(tmp, path);
  } catch (e) {
    throw fromSysError("cannot write --pid-file", e, { path, fix: errnoCode(e) === "ENOENT" ? "create its directory first" : undefined });
  }
}

// what `list`, `ps` and `inspect` read: here, not in lifecycle.ts, so that
// they load this small module and not the whole engine (~7 ms of start-up);
// `state` reads with state-read.ts, without node:fs


/** ID's state and status as a wait sees them: "removed" once its state dir is gone */
export function watchStatus(root: string, id: string): { state: ContainerState | undefined; status: string } {
  if (!existsSync(containerDir(root, id))) return { state: undefined, status: "removed" };
  try {
    return containerStatus(root, id);
  } catch (e) {
    if (e instanceof BunkerError && e.errnoName === "ENOENT") return { state: undefined, status: "removed" };
    throw e;
  }
}

export function containerStatus(root: string, id: string): { state: ContainerState | undefined; status: string; dir: string } {
  const dir = containerDir(root, id);
  const state = readState(root, id);
  return { state, status: state ? status(dir, state) : "creating", dir };
}
