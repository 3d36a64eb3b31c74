// User networks: `bunker network create|ls|inspect|rm|prune` and a container
// joining one (`run --network NAME`).
//
// A network is one network namespace of bunker's own, held by a small process
// (the monitor in --hold-netns mode, named bunker-netns), with a bridge
// (bunker0) carrying the gateway address and, unless --internal, one pasta
// against that namespace for the way out (the containers' traffic is routed
// to it and masqueraded).  A container gets a veth pair: eth0 in its own
// network namespace with an address of the network, the other end on the
// bridge.  Rootless, the network's namespace and the containers' are owned by
// bunker's shared user namespace (src/container/userns.ts): only a process
// with CAP_NET_ADMIN over both can make a veth pair between them.
//
// The netlink work is iproute2's `ip -batch`, run in the namespaces by
// util-linux's `nsenter` (both Debian, both single-threaded C programs that
// may setns into a user namespace, which Bun cannot): well-kept tools rather
// than a netlink encoder of our own in the child.
//
// Names: every container's /etc/hosts (its own file in its state dir, bind-
// mounted) lists the network's other containers by name and --network-alias;
// bunker rewrites the files' contents in place (the bind mount keeps the
// inode) whenever a container joins or leaves.  One that ends without a
// bunker command (a foreground run's container, a SIGKILLed detached one, a
// crash) is dropped by the next operation on the network that finds it gone
// (liveEndpoints).  Not by a watcher: a crash or a SIGKILL leaves none, so the
// sweep is needed anyway; handing a foreground run's end to `bunker __finish`
// cost ~70 ms a run; and a stale line is harmless until its address is given
// to another container, which only a join does — and a join rewrites every
// file.
//
// Configuration (network.json) is kept under the data root and survives a
// reboot; the holder's record is checked by pid, start time and name, and a
// network whose holder is gone gets a new one on its next use.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { netnsHolderPlan } from "../plan/join.ts";
import { flock, LOCK_EX } from "../sys/fs-core.ts";
import { pidStartTime } from "../sys/proc.ts";
import { autoMaps, needsHelper, singleMaps, type IdMaps } from "../sys/idmap.ts";
import { findProgram, startHelper, type ProcessRef } from "../net/helper.ts";
import { allocateIp, checkNetworkName, formatCidr, hostLoopback, inspectNetwork, networkHosts, parseCidr, planSubnet, type Endpoint, type NetworkConfig } from "../net/usernet.ts";
import { sharedUserns, sharedUsernsEnabled, spawnHolder } from "./userns.ts";
import type { RuntimeContext } from "./context.ts";
import { attachedNetworks, containerDir, isAlive, readState, writeState, type AttachedNetwork } from "./state.ts";
import { lockContainer } from "./lock.ts";
import { recordEvent } from "../events.ts";

const BRIDGE = "bunker0";

export interface CreateNetworkRequest {
  name: string;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  labels: Record<string, string>;
  /** --opt K=V (parseNetworkOptions): host_loopback */
  options?: Record<string, string>;
}

interface HolderRecord {
  holder: ProcessRef;
  /** the way out (not for --internal): pasta and its keeper */
  keeper?: ProcessRef;
  helper?: ProcessRef;
}

const root = (ctx: RuntimeContext) => `${ctx.dataRoot}/networks`;
const dirOf = (ctx: RuntimeContext, name: string) => `${root(ctx)}/${name}`;

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function writeJson(file: string, value: unknown) {
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

const alive = (r: ProcessRef, comm?: string): boolean => {
  if (pidStartTime(r.pid) !== r.start) return false;
  try {
    return comm === undefined || readFileSync(`/proc/${r.pid}/comm`, "utf8").trim() === comm;
  } catch {
    return false;
  }
};

function notFound(name: string): BunkerError {
  return new BunkerError(`network ${name}: no such network`, { errno: "ENOENT", fix: "bunker network ls lists the networks; bunker network create NAME makes one" });
}

export function readNetwork(ctx: RuntimeContext, name: string): NetworkConfig {
  const c = readJson<NetworkConfig>(`${dirOf(ctx, checkNetworkName(name))}/network.json`);
  if (!c) throw notFound(name);
  return c;
}

export function listNetworks(ctx: RuntimeContext): NetworkConfig[] {
  let names: string[];
  try {
    names = readdirSync(root(ctx));
  } catch {
    return [];
  }
  return names.sort().flatMap((n) => readJson<NetworkConfig>(`${dirOf(ctx, n)}/network.json`) ?? []);
}

/** NAME's lock held while FN runs: one join, leave or removal at a time */
async function locked<T>(ctx: RuntimeContext, name: string, fn: () => T | Promise<T>): Promise<T> {
  const file = `${dirOf(ctx, name)}/lock`;
  let fd: number;
  try {
    fd = openSync(file, "a", 0o600);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") throw notFound(name);
    throw fromSysError(`network ${name}: cannot open its lock`, e, { path: file });
  }
  try {
    const r = flock(fd, LOCK_EX);
    if (r < 0) throw new BunkerError(`network ${name}: cannot lock it`, { errno: -r, path: file });
    return await fn();
  } finally {
    closeSync(fd);
  }
}

function rewriteHosts(c: NetworkConfig, endpoints: Endpoint[]) {
  for (const e of endpoints) {
    // in place: the container's bind mount of the file keeps seeing this inode
    if (existsSync(e.hostsFile)) writeFileSync(e.hostsFile, networkHosts(c, e, endpoints));
  }
}

/**
 * The endpoints of network C whose container is still running.  Those of
 * containers that ended unseen (a SIGKILL of a detached one, of a foreground
 * run's bunker, a crash), and LEAVING's, are removed, and when any was, the
 * others' /etc/hosts are rewritten without them: every network operation
 * (join, leave, inspect, rm) cleans up what it finds.
 */
function liveEndpoints(ctx: RuntimeContext, c: NetworkConfig, leaving?: string): Endpoint[] {
  const dir = `${dirOf(ctx, c.Name)}/endpoints`;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  let removed = false;
  const live = files.sort().flatMap((f) => {
    const e = readJson<Endpoint>(`${dir}/${f}`);
    if (e && e.id !== leaving && alive({ pid: e.pid, start: e.start })) return [e];
    rmSync(`${dir}/${f}`, { force: true });
    removed = true;
    return [];
  });
  if (removed) rewriteHosts(c, live);
  return live;
}

/** the endpoints of NAME's running containers (network inspect) */
export function networkEndpoints(ctx: RuntimeContext, name: string): Promise<Endpoint[]> {
  const c = readNetwork(ctx, name);
  return locked(ctx, name, () => liveEndpoints(ctx, c));
}

export async function inspectNetworkByName(ctx: RuntimeContext, name: string) {
  const c = readNetwork(ctx, name);
  return inspectNetwork(c, await networkEndpoints(ctx, name));
}

/** a program of Debian's iproute2 or util-linux, through PATH and the sbin dirs */
function tool(ctx: RuntimeContext, name: string, pkg: string): string {
  const exe = findProgram(name, `${ctx.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"}:/usr/sbin:/sbin`);
  if (!exe) throw new BunkerError(`network: ${name} is not installed`, { errno: "ENOENT", fix: `apt-get install ${pkg}` });
  return exe;
}

/**
 * nsenter's command line into the network namespace of process PID: rootless
 * through its user namespace (bunker's shared one, which owns every network
 * namespace involved); root from the initial one, which owns them all
 */
function enter(ctx: RuntimeContext, pid: number): string[] {
  const nsenter = tool(ctx, "nsenter", "util-linux");
  return [nsenter, ...(ctx.ids.uid !== 0 ? [`--user=/proc/${pid}/ns/user`, "--preserve-credentials"] : []), `--net=/proc/${pid}/ns/net`, "--"];
}

/** ARGS run in PID's network namespace; WHAT failed says the error; their stdout */
function runIn(ctx: RuntimeContext, pid: number, args: string[], what: string, stdin?: string): string {
  const argv = [...enter(ctx, pid), ...args];
  ctx.log.debug?.(`network: ${argv.join(" ")}${stdin ? ` <<< ${stdin.trim().replace(/\n/g, "; ")}` : ""}`);
  const r = Bun.spawnSync(argv, { stdin: stdin === undefined ? "ignore" : Buffer.from(stdin), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    const why = r.stderr.toString().trim().split("\n").filter(Boolean).slice(-2).join("; ").replace(/[\x00-\x1f\x7f]/g, " ");
    throw new BunkerError(`network: ${what}: ${basename(args[0]!)} failed${why ? `: ${why}` : ""}`, { errno: "EIO", path: args[0] });
  }
  return r.stdout.toString();
}

/** COMMANDS (`ip -batch` lines) run in PID's network namespace */
function ipIn(ctx: RuntimeContext, pid: number, commands: string[], what: string) {
  runIn(ctx, pid, [tool(ctx, "ip", "iproute2"), "-batch", "-"], what, commands.join("\n") + "\n");
}

/** the netns holder's user namespace: rootless, bunker's shared one (its fd stays open while FN runs) */
function withUserns<T>(ctx: RuntimeContext, maps: IdMaps | undefined, fn: (userns: string | undefined) => T): T {
  if (!maps) return fn(undefined);
  const shared = sharedUserns(ctx, maps);
  try {
    return fn(shared.path);
  } finally {
    closeSync(shared.fd);
  }
}

/**
 * the maps of the user namespace rootless networks and their containers share
 * (bunker's shared one, as --userns=auto makes it); undefined for root
 */
export function networkMaps(ctx: RuntimeContext): IdMaps | undefined {
  if (ctx.ids.uid === 0) return undefined;
  const fix = "add a range for this user to /etc/subuid and /etc/subgid (usermod --add-subuids/--add-subgids), and do not set BUNKER_SHARED_USERNS=0";
  if (!sharedUsernsEnabled(ctx)) throw new BunkerError("network: rootless user networks need bunker's shared user namespace (BUNKER_SHARED_USERNS=0 is set)", { errno: "EPERM", fix });
  const maps = autoMaps(ctx.ids.uid, ctx.ids.gid);
  if (!needsHelper(maps, ctx.ids.uid, ctx.ids.gid)) throw new BunkerError("network: rootless user networks need a subordinate id range", { errno: "EPERM", fix });
  return maps;
}

/** NAME's holder (and pasta): running, or started now; the caller holds NAME's lock */
async function ensureHolder(ctx: RuntimeContext, c: NetworkConfig, maps: IdMaps | undefined): Promise<HolderRecord> {
  const dir = dirOf(ctx, c.Name);
  const file = `${dir}/holder.json`;
  const rec = readJson<HolderRecord>(file);
  if (rec && alive(rec.holder, "bunker-netns")) {
    // rootless: bunker's shared user namespace is made anew when its holder was killed, and no new
    // container could join a network owned by the old one; a network nobody is on moves to the new one
    const current = !maps || withUserns(ctx, maps, (userns) => statSync(userns!).ino === statSync(`/proc/${rec.holder.pid}/ns/user`).ino);
    if (current || liveEndpoints(ctx, c).length) return rec;
    ctx.log.debug?.(`network ${c.Name}: its user namespace is no longer bunker's shared one: a new namespace`);
    stopHolder(ctx, c.Name);
  }
  // a new namespace: endpoints of the old one (if any) are gone with it
  rmSync(`${dir}/endpoints`, { recursive: true, force: true });
  mkdirSync(`${dir}/endpoints`, { mode: 0o700 });
  // root: a user namespace of its own, root mapped onto root
  const pid = withUserns(ctx, maps, (userns) =>
    spawnHolder((exe) => netnsHolderPlan(exe, userns), userns ? undefined : singleMaps(0, 0), `network ${c.Name}'s holder`, "bunker check; report it"));
  const holder: HolderRecord = { holder: { pid, start: pidStartTime(pid) ?? "" } };
  try {
    const prefix = c.Subnet.split("/")[1];
    ipIn(ctx, pid, ["link set lo up", `link add ${BRIDGE} type bridge`, `addr add ${c.Gateway}/${prefix} dev ${BRIDGE}`, `link set ${BRIDGE} up`], `cannot make the bridge of network ${c.Name}`);
    if (!c.Internal) Object.assign(holder, await wayOut(ctx, c, pid, dir));
  } catch (e) {
    process.kill(pid, "SIGKILL"); // the holder just started (its pid checked above)
    throw e;
  }
  writeJson(file, holder);
  return holder;
}

/**
 * The way out of a network that is not --internal: pasta against the holder
 * (its tap gets the host's address and default route; a keeper ends it when
 * the holder exits), forwarding on, and the containers' addresses
 * masqueraded behind the tap's.
 *
 * host_loopback=true: pasta with --map-gw (Debian 12's pasta maps its
 * gateway's address, the host's default gateway, to the host's 127.0.0.1;
 * it has no --map-host-loopback yet), and TCP and UDP to the network's own
 * gateway address DNATed to pasta's gateway: the containers reach the host's
 * loopback at 10.89.N.1 (host.containers.internal).  Without it that address
 * is the bridge's and answers nothing but what the namespace serves, and
 * pasta gets --no-map-gw.
 */
async function wayOut(ctx: RuntimeContext, c: NetworkConfig, pid: number, dir: string): Promise<{ keeper: ProcessRef; helper: ProcessRef }> {
  const refs = await startHelper({ kind: "pasta", args: [], mapGw: hostLoopback(c) }, pid, dir, [], ctx.env.PATH, ctx.log.debug);
  try {
    runIn(ctx, pid, [tool(ctx, "sysctl", "procps"), "-q", "-w", "net.ipv4.ip_forward=1"], `network ${c.Name}'s forwarding`);
    const iptables = tool(ctx, "iptables", "iptables");
    runIn(ctx, pid, [iptables, "-t", "nat", "-A", "POSTROUTING", "-s", c.Subnet, "!", "-o", BRIDGE, "-j", "MASQUERADE"], `network ${c.Name}'s masquerading`);
    if (hostLoopback(c)) {
      const route = runIn(ctx, pid, [tool(ctx, "ip", "iproute2"), "-4", "route", "show", "default"], `network ${c.Name}'s default route`);
      const gw = /^default via (\d+\.\d+\.\d+\.\d+) /m.exec(route)?.[1];
      if (!gw) throw new BunkerError(`network ${c.Name}: host_loopback: pasta gave the network no IPv4 default route (ip route: "${route.trim()}")`, { errno: "ENETUNREACH", fix: "the host needs an IPv4 default route for pasta to copy; or create the network without --opt host_loopback" });
      for (const proto of ["tcp", "udp"])
        runIn(ctx, pid, [iptables, "-t", "nat", "-A", "PREROUTING", "-i", BRIDGE, "-d", c.Gateway, "-p", proto, "-j", "DNAT", "--to-destination", gw], `network ${c.Name}'s host_loopback`);
    }
  } catch (e) {
    process.kill(refs.keeper.pid, "SIGKILL"); // the keeper startHelper just started (its PDEATHSIG ends pasta)
    throw e;
  }
  return refs;
}

/** `network create`: the configuration written, the namespace made (its holder and pasta started) */
export async function createNetwork(ctx: RuntimeContext, req: CreateNetworkRequest, maps: IdMaps | undefined): Promise<NetworkConfig> {
  checkNetworkName(req.name);
  const all = listNetworks(ctx);
  if (all.some((n) => n.Name === req.name)) throw new BunkerError(`network create: network "${req.name}" already exists`, { errno: "EEXIST", fix: "choose another name, or bunker network rm it" });
  const { subnet, gateway } = planSubnet(req.subnet, req.gateway, all.map((n) => ({ name: n.Name, cidr: parseCidr(n.Subnet) })));
  if (req.internal && req.options?.host_loopback === "true") throw new BunkerError("network create: --opt host_loopback=true needs a way out, which an --internal network has not", { errno: "EINVAL", fix: "drop --internal or the option" });
  const config: NetworkConfig = { Name: req.name, Id: randomBytes(32).toString("hex"), Created: new Date().toISOString(), Subnet: formatCidr(subnet), Gateway: gateway, Internal: req.internal, Labels: req.labels, ...(req.options && Object.keys(req.options).length ? { Options: req.options } : {}) };
  const dir = dirOf(ctx, req.name);
  try {
    mkdirSync(root(ctx), { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    throw fromSysError("network create: cannot make the network's directory", e, { path: dir });
  }
  try {
    writeJson(`${dir}/network.json`, config);
    await locked(ctx, req.name, () => ensureHolder(ctx, config, maps));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  networkEvent(ctx, config, "create");
  return config;
}

function stopHolder(ctx: RuntimeContext, name: string) {
  const rec = readJson<HolderRecord>(`${dirOf(ctx, name)}/holder.json`);
  // the holder's exit ends pasta (its keeper waits for the holder); each is checked by its start time
  for (const [r, comm] of [[rec?.holder, "bunker-netns"], [rec?.helper, undefined]] as const) {
    if (r && alive(r, comm)) {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}

/** `network rm`: refused while a running container is on it */
export async function removeNetwork(ctx: RuntimeContext, name: string): Promise<void> {
  const c = readNetwork(ctx, name);
  await locked(ctx, name, () => {
    const users = liveEndpoints(ctx, c);
    if (users.length) throw new BunkerError(`network rm: network "${name}" is in use by container${users.length > 1 ? "s" : ""} ${users.map((u) => u.id).join(", ")}`, { errno: "EBUSY", fix: "stop or remove those containers first (bunker rm -f ID)" });
    stopHolder(ctx, name);
    rmSync(dirOf(ctx, name), { recursive: true, force: true });
  });
  networkEvent(ctx, c, "destroy");
}

/** ACTION of network C in the event log (src/events.ts); CONTAINER: the one that joined or left */
function networkEvent(ctx: RuntimeContext, c: NetworkConfig, action: string, container?: string): void {
  recordEvent(ctx.dataRoot, "network", action, c.Id, { name: c.Name, type: "bridge", ...(container ? { container } : {}) });
}

/** `network prune`: every network no running container is on; their names */
export async function pruneNetworks(ctx: RuntimeContext): Promise<string[]> {
  const removed: string[] = [];
  for (const n of listNetworks(ctx)) {
    try {
      await removeNetwork(ctx, n.Name);
      removed.push(n.Name);
    } catch (e) {
      if (!(e instanceof BunkerError) || e.errnoName !== "EBUSY") throw e;
    }
  }
  return removed;
}


export interface JoinRequest {
  id: string;
  /** its name, when rename gave it one */
  name?: string;
  /** the container's process, not yet released */
  pid: number;
  aliases: string[];
  ip?: string;
  hostsFile: string;
  hostsBase: string;
  /** the container's interface (default eth0) and whether its default route goes through the network (default yes) */
  ifname?: string;
  defaultRoute?: boolean;
}

/**
 * Container JOIN.pid on network NAME: a veth pair (eth0 inside, its peer on
 * the bridge), the address, the default route via the gateway; every
 * container's /etc/hosts on the network rewritten.  Returns the address and
 * the pid of the process that holds the network's namespaces (a port proxy joins them).
 */
export async function joinNetwork(ctx: RuntimeContext, name: string, join: JoinRequest, maps: IdMaps | undefined): Promise<{ ip: string; holder: number }> {
  const c = readNetwork(ctx, name);
  return locked(ctx, name, async () => {
    const { holder } = await ensureHolder(ctx, c, maps);
    if (maps && statSync(`/proc/${holder.pid}/ns/user`).ino !== statSync(`/proc/${join.pid}/ns/user`).ino)
      throw new BunkerError(`--network ${name}: the container's user namespace is not the network's`, { errno: "EPERM", fix: "drop --userns=single: a container on a user network joins bunker's shared user namespace" });
    const others = liveEndpoints(ctx, c);
    const ip = allocateIp(parseCidr(c.Subnet), c.Gateway, others.map((e) => e.ip), join.ip);
    // the host end's name: random, as the end of a container that just ended may linger on the
    // bridge for a moment (a network namespace is dismantled asynchronously) with its address's name
    const veth = `bk${randomBytes(6).toString("hex")}`;
    const prefix = c.Subnet.split("/")[1];
    const ifname = join.ifname ?? "eth0";
    ipIn(ctx, holder.pid, [`link add ${veth} type veth peer name ${ifname} netns ${join.pid}`, `link set ${veth} master ${BRIDGE}`, `link set ${veth} up`], `cannot connect container ${join.id} to network ${name}`);
    ipIn(ctx, join.pid, [`addr add ${ip}/${prefix} dev ${ifname}`, `link set ${ifname} up`, ...(join.defaultRoute === false ? [] : [`route add default via ${c.Gateway}`])], `cannot configure ${ifname} of container ${join.id}`);
    const me: Endpoint = { id: join.id, ...(join.name && join.name !== join.id ? { name: join.name } : {}), ip, aliases: join.aliases, pid: join.pid, start: pidStartTime(join.pid) ?? "", hostsFile: join.hostsFile, hostsBase: join.hostsBase };
    writeJson(`${dirOf(ctx, name)}/endpoints/${join.id}.json`, me);
    rewriteHosts(c, [...others, me]);
    networkEvent(ctx, c, "connect", join.id);
    return { ip, holder: holder.pid };
  });
}

/** container ID on network NAME was renamed NEWNAME: the others' /etc/hosts list it by that */
export async function renameEndpoint(ctx: RuntimeContext, name: string, id: string, newName: string): Promise<void> {
  const file = `${dirOf(ctx, name)}/endpoints/${id}.json`;
  const c = readJson<NetworkConfig>(`${dirOf(ctx, name)}/network.json`);
  if (!c || !existsSync(file)) return;
  await locked(ctx, name, () => {
    const e = readJson<Endpoint>(file);
    if (e) writeJson(file, { ...e, name: newName });
    rewriteHosts(c, liveEndpoints(ctx, c));
  });
}

/** container ID has left network NAME (it ended or was removed): the others' /etc/hosts rewritten */
export async function leaveNetwork(ctx: RuntimeContext, name: string, id: string): Promise<void> {
  const c = readJson<NetworkConfig>(`${dirOf(ctx, name)}/network.json`);
  if (!c) return;
  await locked(ctx, name, () => void liveEndpoints(ctx, c, id));
  networkEvent(ctx, c, "disconnect", id);
}

/** what `network connect` asks for */
export interface ConnectRequest {
  aliases: string[];
  ip?: string;
}

/** the first ethN that none of NETS uses */
function freeInterface(nets: AttachedNetwork[]): string {
  for (let n = 0; ; n++) if (!nets.some((a) => (a.ifname ?? "eth0") === `eth${n}`)) return `eth${n}`;
}

/**
 * `network connect NAME ID`: a running (or created) container on one more
 * user network — a veth pair ethN in its network namespace, its name and
 * aliases in the network's /etc/hosts files, recorded in its state.  Its
 * default route stays where it is, unless it had no network at all.
 */
export async function connectContainer(ctx: RuntimeContext, name: string, id: string, req: ConnectRequest): Promise<AttachedNetwork> {
  const c = readNetwork(ctx, name);
  const dir = containerDir(ctx.stateRoot, id);
  const release = lockContainer(dir, id);
  try {
    const state = readState(ctx.stateRoot, id);
    if (!state?.run) throw new BunkerError(`network connect: container "${id}" is not a docker-style container (bunker run or create made none)`, { errno: "EINVAL" });
    if (!isAlive(state)) throw new BunkerError(`network connect: container "${id}" is not running`, { errno: "EBUSY", fix: `bunker start ${id}, then connect it` });
    const nets = attachedNetworks(state);
    if (nets.some((n) => n.name === name)) throw new BunkerError(`network connect: container "${id}" is already on network "${name}"`, { errno: "EEXIST" });
    const mode = state.run.network?.mode ?? "none";
    if (mode === "host" || mode.startsWith("container:")) throw new BunkerError(`network connect: container "${id}" shares the network of ${mode === "host" ? "the host" : mode.slice(10)}`, { errno: "EINVAL", fix: "connect a container that has its own network" });
    const ifname = freeInterface(nets);
    const hostsFile = `${dir}/hosts`;
    // what its /etc/hosts lists now (its first network's containers too) stays; this network's are added
    // (a limit: a later change on that first network rewrites the file without this one's)
    let hostsBase = "";
    try {
      hostsBase = readFileSync(hostsFile, "utf8");
    } catch {
      /* no /etc/hosts of bunker's: nothing to list the others in */
    }
    const joined = await joinNetwork(ctx, name, { id, pid: state.pid, aliases: req.aliases, ip: req.ip, hostsFile, hostsBase, ifname, defaultRoute: mode === "none" && !nets.length }, networkMaps(ctx));
    const att: AttachedNetwork = { name, ip: joined.ip, aliases: req.aliases, id: c.Id, gateway: c.Gateway, prefix: Number(c.Subnet.split("/")[1]), ifname, dataRoot: ctx.dataRoot };
    state.run.network = { mode, ports: [], ...state.run.network, connected: [...(state.run.network?.connected ?? []), att] };
    writeState(dir, state);
    return att;
  } finally {
    release();
  }
}

/** `network disconnect NAME ID`: its interface on the network deleted, the others' /etc/hosts rewritten, its state updated */
export async function disconnectContainer(ctx: RuntimeContext, name: string, id: string): Promise<void> {
  readNetwork(ctx, name);
  const dir = containerDir(ctx.stateRoot, id);
  const release = lockContainer(dir, id);
  try {
    const state = readState(ctx.stateRoot, id);
    const att = attachedNetworks(state).find((n) => n.name === name);
    if (!state?.run?.network || !att) throw new BunkerError(`network disconnect: container "${id}" is not on network "${name}"`, { errno: "ENOENT" });
    if (isAlive(state)) ipIn(ctx, state.pid, [`link del ${att.ifname ?? "eth0"}`], `cannot remove ${att.ifname ?? "eth0"} of container ${id}`);
    const net = state.run.network;
    if (net.userNetwork?.name === name) delete net.userNetwork;
    net.connected = (net.connected ?? []).filter((n) => n.name !== name);
    writeState(dir, state);
  } finally {
    release();
  }
  await leaveNetwork(ctx, name, id);
}
