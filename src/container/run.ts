// The engine's `run` (docker's form): a container from an image, a root
// directory or the host's own (--rootfs host), in the foreground (the
// monitor takes over this process) or detached (-d).  The CLI (src/cli/run.ts)
// parses the flags into a RunRequest; everything from the image to the exit
// status is here.
import { chmodSync, chownSync, existsSync, openSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from "../sys/fs-sync.ts";
import { basename, resolve } from "../sys/path.ts";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { autoMaps, deniesSetgroups, rootAutoMaps, needsHelper, singleMaps, subRange, userName, SUB_ID_FILES, type IdMaps } from "../sys/idmap.ts";
import { idOfName, NAMES_DIR, namesOf, RUN_REQUEST_FILE, UPPER_DIR, writeState } from "./state.ts";
import { pidStartTime } from "../sys/proc.ts";
import { realLauncher } from "../sys/launcher.ts";
import type { LogWriter } from "./log-writer.ts";
import { errnoName } from "../sys/errno.ts";
import { runSpec, type RunOptions } from "../oci/run-spec.ts";
import { mergeRequests, type MountRequest } from "../volume/spec.ts";
import type { AttachedMounts, VolumeUse } from "../volume/attach.ts";
import { buildPlan } from "../plan/build.ts";
import { resolveConfinement, wantsProfileFile, type SecurityFlags } from "../oci/confine.ts";
import { capsContext } from "./caps-context.ts";
import type { ImageConfig } from "../image/types.ts";
import type { Resources } from "../oci/spec.ts";
import type { RootMount, Stdio } from "../plan/types.ts";
import { tmpfsHasUserXattrs } from "../sys/kernel.ts";
import { resolveUser, type ResolvedUser } from "../oci/user.ts";
import type { DriverChoice } from "../image/driver.ts";
import { closeFd, exitCode, mkfifo } from "../sys/shim.ts";
import { createCgroup, oomMessage } from "../cgroup/index.ts";
import { saveCgroupPath } from "../cgroup/state.ts";
import { mark, timingLine } from "../timing.ts";
import { normalJit } from "../jit.ts";
import type { RuntimeContext } from "./context.ts";
import type { ConnectRequest } from "./network.ts";
import type { AttachedNetwork } from "./state.ts";
import { withSpecJoins } from "../plan/join.ts";
import { parseNetwork, helperNameserver, PASTA_DNS } from "../net/mode.ts";
import { exposedPorts, helperForwards, reservePorts, type PublishedPort } from "../net/ports.ts";
import { hostsFile, resolvConf, type HostEntry } from "../net/etc.ts";
import type { HelperRecord, ProcessRef } from "../net/helper.ts";
import { containerEventArgs, containerEventAttributes, recordEvent } from "../events.ts";
import type { RestartPolicy } from "./restart-policy.ts";
import { writeHandOver } from "./hand-over.ts";
import { randomHex } from "../sys/random-hex.ts";
import { findOf, mapOf, someOf } from "../loops.ts";

/** `run`'s flags as values: what a CLI or an API request asks for */
export interface RunRequest {
  /** --rootfs DIR (relative to ctx.cwd) or "host"; without it, IMAGE */
  rootfs?: string;
  image?: string;
  /** --pull missing|never|always (IMAGE) */
  pull?: string;
  /** --tls-verify=false (IMAGE): a pull may use plain HTTP or an untrusted certificate */
  insecure?: boolean;
  /** CMD [ARG...] (IMAGE: replaces the image's Cmd) */
  command: string[];
  /** --entrypoint ("" clears the image's) */
  entrypoint?: string;
  /** K=V entries over the image's Env, in order (--env-file's, then -e's; K alone already taken from the caller's environment) */
  env: string[];
  workdir?: string;
  /** -u USER[:GROUP]: ids, or names from the root's /etc/passwd and /etc/group */
  user?: string;
  hostname?: string;
  tty: boolean;
  interactive: boolean;
  /**
   * -d with -t or -i: `bunker attach` and an API server's attach reach the
   * container through the log writer that holds the terminal or the stdin
   * pipe (src/container/attach.ts); a caller without an attach refuses them
   */
  attachable?: boolean;
  /** -i: the first attached client's end of input closes the container's stdin (Docker's StdinOnce) */
  stdinOnce?: boolean;
  /** the caller's terminal size, for -t */
  consoleSize?: { height: number; width: number };
  init: boolean;
  /** -v, --mount, --tmpfs (src/volume/spec.ts); the image's VOLUME paths are added here */
  mounts: MountRequest[];
  readOnly: boolean;
  /** --network none|host|pasta[:OPTS]|slirp4netns[:OPTS]|container:ID|NAME (default: slirp4netns or pasta for an IMAGE or -p, else none) */
  network?: string;
  /** on a user network: --network-alias names and --ip */
  networkAliases?: string[];
  ip?: string;
  /** user networks beyond --network's (`network connect`, kept for the next start): joined in order after it, each as the next ethN */
  connect?: ({ name: string } & ConnectRequest)[];
  /** -p */
  publish: PublishedPort[];
  /** -P: the image's ExposedPorts too */
  publishAll: boolean;
  /** --add-host */
  addHosts: HostEntry[];
  /** --dns, --dns-search, --dns-option */
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  userns?: string;
  preserveFds: number;
  noPivot: boolean;
  /** -d --rm: removed when it exits (a foreground run always is) */
  rm: boolean;
  name?: string;
  detach: boolean;
  /** --log-opt K=V entries (-d) */
  logOptions: string[];
  cgroupParent?: string;
  resources?: Resources;
  oomKillGroup: boolean;
  security: SecurityFlags;
  /** --label K=V (docker's container labels: ps --filter label=, inspect, the events) */
  labels?: Record<string, string>;
  /** --restart (-d or create): kept by the container's log writer (src/container/restart.ts) */
  restart?: RestartPolicy;
  /**
   * an IMAGE's overlay upper (and work) dir in this directory of the caller's, kept after the container
   * (a build's RUN turns upper/ into a layer); needs the overlay driver
   */
  writableLayer?: string;
  /** the caller goes on after a foreground container (a build): bunker waits for it instead of becoming the monitor */
  inProcess?: boolean;
  /** a foreground container's stdout and stderr go to /dev/null (`build -q`'s RUN steps) */
  discardOutput?: boolean;
}

export interface RunResult {
  id: string;
  /** the container's exit status as a shell gives it (128+N: killed by signal N); 0 for a detached run */
  exitCode: number;
  /** the kernel OOM-killed the container: the line to tell the user */
  oomKilled?: string;
}

/** a file's text, "" when it cannot be read */
function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

const HOST_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];

/** `bunker create`'s extras over run: the container is set up and waits before its program until `start` */
interface CreateOptions {
  /** a stopped container started again: its earlier log files, moved into the new state dir */
  previousLogs?: string[];
  /** started again by its restart policy: how often so far (inspect's RestartCount) and the back-off it waited */
  restarted?: { count: number; delayMs: number };
  /** ... its writable layer (an overlay upper dir), moved in as the new one */
  previousUpper?: string;
  /** ... the image it was made from (its ID: a tag may have moved since) */
  imageId?: string;
}

/** `bunker run`: the container's id and exit status (detached: its id, once it runs) */
export function runContainer(ctx: RuntimeContext, req: RunRequest): Promise<RunResult> {
  return launchContainer(ctx, req);
}

/**
 * `bunker create` (docker's): the container set up as `run -d` sets it up, its
 * program waiting on exec.fifo (as OCI create's) until `start`; its id
 */
export async function createContainer(ctx: RuntimeContext, req: RunRequest, opts: CreateOptions = {}): Promise<string> {
  if ((req.tty || req.interactive) && !req.attachable) throw new BunkerError("create: -t and -i need an attached client, which create has not", { errno: "EINVAL", fix: "drop -t/-i; read the output with bunker logs ID" });
  return (await launchContainer(ctx, { ...req, detach: true }, opts)).id;
}

async function launchContainer(ctx: RuntimeContext, req: RunRequest, later?: CreateOptions): Promise<RunResult> {
  mark("engine loaded");
  const verb = later ? "create" : "run";
  if (!req.rootfs && !req.image) throw new BunkerError(`${verb}: no image and no --rootfs given`, { errno: "EINVAL", fix: `bunker ${verb} IMAGE [CMD], bunker ${verb} --rootfs DIR -- CMD, or --rootfs host for a sandbox of the host` });
  let image: OpenedImage | undefined;
  try {
    image = req.image ? await openImage(ctx, later?.imageId ?? req.image, later?.imageId ? "never" : req.pull, req.insecure) : undefined;
  } catch (e) {
    // runc's habit, `run ID` in a bundle directory: say how to ask for it
    if (e instanceof BunkerError && !req.command.length && !req.rootfs && existsSync(`${ctx.cwd}/config.json`))
      throw new BunkerError(e.message, { ...e.detail, fix: `${e.detail.fix ? `${e.detail.fix}; or ` : ""}to run the OCI bundle in this directory: bunker run -b . ${req.image}` });
    throw e;
  }
  const args = image ? imageArgs(image.config, req.command, req.entrypoint) : req.command;
  if (args.length === 0) throw new BunkerError("run: no command given", { errno: "EINVAL", fix: image ? `the image has no Cmd or Entrypoint: bunker run ${req.image} CMD` : "bunker run --rootfs DIR -- CMD [ARG...]" });

  const host = req.rootfs === "host";
  const rootfs = host || image ? undefined : resolve(ctx.cwd, req.rootfs!);
  if (rootfs) {
    let st;
    try {
      st = statSync(rootfs);
    } catch (e) {
      throw fromSysError("run: rootfs does not exist", e, { path: rootfs, fix: "pass --rootfs an extracted root filesystem, or --rootfs host" });
    }
    if (!st.isDirectory()) throw new BunkerError("run: rootfs is not a directory", { errno: "ENOTDIR", path: rootfs });
  }

  const { uid, gid } = ctx.ids;
  // an image's files and users need more than one id: auto when this user has a range (as podman)
  const publish = [...req.publish, ...(req.publishAll ? exposedPorts(image?.config.ExposedPorts) : [])];
  const net = parseNetwork(req.network ?? (await defaultNetwork(!!image || publish.length > 0, ctx.env.PATH)));
  // a user network: its configuration now (a clear error for a name that is none), and rootless
  // the shared user namespace its own network namespace is owned by (auto's maps)
  // user networks' code (and node:crypto) is loaded only for a run on one
  const connect = req.connect ?? [];
  if (connect.length && (net.kind === "host" || net.kind === "container")) throw new BunkerError(`${verb}: --network ${req.network} shares another's network: it cannot be on ${connect[0]!.name} too`, { errno: "EINVAL", fix: `bunker network disconnect ${connect[0]!.name} ${req.name ?? "ID"}` });
  const userNetworks = net.kind === "user" || connect.length ? await import("./network.ts") : undefined;
  const userNet = net.kind === "user" ? userNetworks!.readNetwork(ctx, net.name) : undefined;
  // the networks `network connect` added, after --network's (a stopped container's, kept for this start)
  const moreNets = mapOf(connect, (x) => ({ ...x, config: userNetworks!.readNetwork(ctx, x.name) }));
  const firstNet = userNet ?? moreNets[0]?.config;
  const netMaps = firstNet ? userNetworks!.networkMaps(ctx) : undefined;
  if (firstNet && uid !== 0 && req.userns !== undefined && req.userns !== "auto")
    throw new BunkerError(`run: --network ${firstNet.Name} needs bunker's shared user namespace, not --userns=${req.userns}`, { errno: "EINVAL", fix: "drop --userns (a container on a user network runs with --userns=auto's maps)" });
  if (!userNet && (req.ip !== undefined || req.networkAliases?.length)) throw new BunkerError("run: --ip and --network-alias are for a user network", { errno: "EINVAL", fix: "add --network NAME (bunker network create NAME)" });
  const userns = req.userns ?? (netMaps || (image && uid !== 0 && subRange("/etc/subuid", uid)) ? "auto" : "single");
  let maps: IdMaps;
  // root's IMAGE keeps autoMaps' identity map: the store's layer files carry the image's own ids on the host
  if (userns === "auto") maps = uid === 0 && !image ? rootAutoMaps(readText("/etc/subuid"), readText("/etc/subgid")) : autoMaps(uid, gid);
  else if (userns === "single" || userns === "") maps = singleMaps(uid, gid);
  else throw new BunkerError(`run: unknown --userns "${userns}"`, { errno: "EINVAL", fix: "use --userns=single or --userns=auto" });

  if (publish.length && net.kind !== "pasta" && net.kind !== "slirp4netns" && net.kind !== "user")
    throw new BunkerError(`run: -p publishes ports through a network helper or a user network's proxy, not with --network ${net.kind}`, { errno: "EINVAL", fix: "add --network pasta, --network slirp4netns or --network NAME (bunker network create NAME)" });
  // the ports the helper does not forward itself go through a proxy (src/net/proxy.ts)
  const proxy = someOf(publish, (p) => !helperForwards(net.kind, p)) ? await import("../net/proxy.ts") : undefined;
  // the code of what a plain run does not use is loaded only when used: a pod's, the log writer's, restart policies'
  const joined = net.kind === "container" ? (await import("./pod.ts")).joinedContainer(ctx.stateRoot, net.id) : undefined;
  if (joined) maps = joined.maps;
  const network = net.kind === "host" ? "host" : joined ? "joined" : "none";
  const { addHosts } = req;

  const env: string[] = [...(image?.config.Env ?? [])];
  setEnv(env, req.env);
  const mountRequests = mergeRequests(req.mounts, Object.keys(image?.config.Volumes ?? {}));
  const user = image
    ? image.resolveUser(req.user ?? image.config.User)
    : req.user ? await rootfsUser(req.user, host ? "/" : rootfs!) : { uid: 0, gid: 0, additionalGids: [] };
  // a one-id map denies setgroups: the process keeps no supplementary groups there (the kernel refuses them)
  if (deniesSetgroups(maps)) user.additionalGids = [];
  if (wantsProfileFile(req.security)) await import("../oci/seccomp-file.ts"); // its reader (and the profile checks) only then
  const confinement = resolveConfinement(req.security, user.uid);
  const { tty, detach, interactive } = req;
  if (detach && (tty || interactive) && !req.attachable) throw new BunkerError("run: -d cannot be combined with -t or -i", { errno: "EINVAL", fix: "drop -t/-i; read the output with bunker logs ID" });
  if (!detach && req.logOptions.length) throw new BunkerError("run: --log-opt is for a detached container's log", { errno: "EINVAL", fix: "add -d, or drop --log-opt" });
  const logs = detach ? await import("./log-writer.ts") : undefined;
  const logOptions = logs?.parseLogOptions(req.logOptions);
  const restartPolicy = req.restart && (await import("./restart-policy.ts")).restarts(req.restart) ? req.restart : undefined;
  if (restartPolicy && !detach) throw new BunkerError(`run: --restart ${restartPolicy.name} is kept for a detached container`, { errno: "EINVAL", fix: "add -d (or bunker create), or drop --restart" });
  if (restartPolicy && req.rm) throw new BunkerError(`${verb}: --restart ${restartPolicy.name} and --rm conflict: a removed container cannot be restarted`, { errno: "EINVAL", fix: "drop one of them" });
  const { preserveFds, resources, oomKillGroup } = req;

  mark("request checked");
  const id = req.name ?? randomHex(6);
  const hostname = req.hostname ?? id;
  const dir = `${ctx.stateRoot}/${id}`;
  if (req.name && idOfName(ctx.stateRoot, req.name)) throw new BunkerError(`${verb}: a container named "${id}" already exists (renamed from ${idOfName(ctx.stateRoot, req.name)})`, { errno: "EEXIST", fix: `choose another --name, or remove it: bunker rm -f ${id}` });
  // names left by removed containers' renames are no one's: none may come back with a new container of this id
  // (a stopped container started again keeps its names: start.ts links them again)
  if (!later?.previousLogs) {
    if (req.name) rmSync(`${ctx.stateRoot}/${NAMES_DIR}/${req.name}`, { force: true });
    // (a new random id is no removed container's: its names@ is not read)
    if (req.name || later) for (const n of namesOf(ctx.stateRoot, id)) rmSync(`${ctx.stateRoot}/${NAMES_DIR}/${n}`, { force: true });
  }
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (errnoCode(e) === "EEXIST") throw new BunkerError(`${verb}: a container named "${id}" already exists`, { errno: "EEXIST", path: dir, fix: `choose another --name, or remove it: bunker rm -f ${id}` });
    throw fromSysError(`${verb}: cannot create the container's state directory`, e, { path: dir });
  }
  for (const f of later?.previousLogs ?? []) renameSync(f, `${dir}/${basename(f)}`);
  // a container that outlives its process can be started again from it (by start, or its restart policy)
  if (later || (req.detach && !req.rm)) writeFileSync(`${dir}/${RUN_REQUEST_FILE}`, JSON.stringify(req), { mode: 0o600 });
  if (later?.restarted) writeFileSync(`${dir}/${(await import("./restart-policy.ts")).RESTART_COUNT_FILE}`, `${later.restarted.count} ${later.restarted.delayMs}\n`, { mode: 0o600 });
  writeHandOver(dir, ctx);
  const eventAttrs = containerEventAttributes(id, req.image ?? (host ? "host" : rootfs), req.labels);
  const eventArgs = containerEventArgs(ctx.dataRoot, id, eventAttrs);
  // root with a subordinate map: the container's root (not host root) binds /etc files from here
  const hostRootOfContainer = findOf(maps.uid, (m) => m.containerID === 0)?.hostID;
  const subordinateRoot = uid === 0 && hostRootOfContainer !== undefined && hostRootOfContainer !== 0;
  if (subordinateRoot) chmodSync(dir, 0o711);
  let keep = false; // a detached container keeps its state dir until `bunker rm`
  let announced = false; // its create event is in the log: a destroy goes with it
  let logWriter: LogWriter | undefined;
  /** the container's ends of its stdio, closed here once it has them */
  const ourEnds: number[] = [];
  let volumeUse: VolumeUse | undefined;
  let releaseVolumes = () => {};
  try {
    // volumes made (and recorded as this container's) before anything can fail and leave them unrecorded
    // the volume code is loaded only for a run that mounts something
    const attach = mountRequests.length ? await import("../volume/attach.ts") : undefined;
    const mounts: AttachedMounts = attach
      ? attach.attachMounts(mountRequests, ctx.dataRoot, !!image, (use) => attach.recordVolumeUse(dir, (volumeUse = use)))
      : { binds: [], tmpfs: [], use: { dirs: [], anonymous: [] }, release: () => {} };
    releaseVolumes = mounts.release;
    const hostResolv = readText("/etc/resolv.conf") || "nameserver 127.0.0.1\n";
    const hostsBase = hostsFile(hostname, id, addHosts);
    const etcFiles = writeEtcFiles(dir, {
      hostname: `${hostname}\n`,
      hosts: hostsBase,
      "resolv.conf": resolvConf({
        host: joined?.resolv ?? hostResolv,
        // a user network's way out is pasta too (in the network's namespace; an --internal one has none)
        helper: net.kind === "pasta" || net.kind === "slirp4netns" ? helperNameserver(net) : firstNet && !firstNet.Internal ? PASTA_DNS : undefined,
        dns: req.dns,
        dnsSearch: req.dnsSearch,
        dnsOptions: req.dnsOptions,
      }),
    }, host ? "/etc" : image ? undefined : `${rootfs}/etc`);
    const ports = await reservePorts(publish);
    const cwd = req.workdir ?? (host ? ctx.cwd : image?.config.WorkingDir || "/");
    if (!cwd.startsWith("/")) throw new BunkerError("run: --workdir must be absolute", { errno: "EINVAL", path: cwd });
    let rootPath = rootfs!;
    const symlinks: Record<string, string> = {};
    let hostSandbox: RunOptions["hostSandbox"];
    let rootMount: RootMount | undefined;
    if (image) {
      (await import("./image-use.ts")).recordImageUse(dir, image.id);
      rootPath = `${dir}/rootfs`;
      ctx.log.debug?.(`storage driver ${image.storage.driver} (${image.storage.why})`);
      if (req.writableLayer && image.storage.driver === "copy") throw new BunkerError("build: a RUN step needs the overlay storage driver (its changes are the overlay's upper dir)", { errno: "EOPNOTSUPP", fix: `drop --storage-driver copy (${image.storage.why})` });
      if (image.storage.driver === "copy") {
        // a private copy, owned as this container's map needs; removed with the state dir
        await image.flatten(rootPath, maps);
      } else {
        // the layers as overlay lowers, a private upper: starting a container copies nothing.
        // A container that outlives its process (-d or create without --rm, as Docker's) keeps
        // its upper in its state dir: `start` again sees what it wrote, commit and diff read it,
        // rm removes it; a build's RUN has it in the caller's writableLayer dir.  Any other (--rm,
        // a foreground run) has it on a tmpfs of its mount namespace where tmpfs has user xattrs
        // (overlay's whiteouts and opaque dirs need them): nothing to make or remove on the host;
        // volatile: that upper dies with the container, so its unmount need not sync it
        const kept = (detach && !req.rm) || !!req.writableLayer;
        const tmpfsUpper = !kept && tmpfsHasUserXattrs();
        const rw = req.writableLayer ?? (tmpfsUpper ? `${dir}/rootfs` : dir);
        mkdirSync(`${dir}/rootfs`);
        if (!tmpfsUpper) for (const d of later?.previousUpper ? ["work"] : [UPPER_DIR, "work"]) mkdirSync(`${rw}/${d}`);
        if (later?.previousUpper) renameSync(later.previousUpper, `${dir}/${UPPER_DIR}`);
        rootMount = { fstype: "overlay", data: `lowerdir=${image.lowerDirs.join(":")},upperdir=${rw}/${UPPER_DIR},workdir=${rw}/work,userxattr${kept && !req.writableLayer ? "" : ",volatile"}`, tmpfsUpper };
        if (rootMount.data.length > 4000) throw new BunkerError(`run: the image has too many layers for one overlay mount (${image.lowerDirs.length})`, { errno: "E2BIG", fix: "flatten the image (bunker save/load) or use fewer layers" });
      }
    } else if (host) {
      rootMount = { fstype: "tmpfs", data: "mode=0755" };
      rootPath = `${dir}/root`;
      mkdirSync(rootPath);
      const binds: string[] = [];
      for (const d of HOST_DIRS) {
        let st;
        try {
          st = lstatSync(d);
        } catch {
          continue;
        }
        if (st.isSymbolicLink()) symlinks[d] = readlinkSync(d);
        else if (st.isDirectory()) binds.push(d);
      }
      hostSandbox = { binds, cwd: ctx.cwd };
    }
    mark("state dir, etc files");
    const debug = ctx.log.debug;
    const spec = runSpec({
      rootPath,
      hostSandbox,
      args,
      env,
      cwd,
      user,
      hostname,
      tty,
      consoleSize: tty ? req.consoleSize : undefined,
      volumes: mounts.binds,
      tmpfs: mounts.tmpfs,
      readOnly: req.readOnly,
      network,
      maps,
      etcFiles,
      confinement,
    });
    // created: its program waits until `start` reads this fifo (0622 as OCI create's: whoever the program runs as opens it)
    const execFifo = later ? `${dir}/exec.fifo` : undefined;
    if (execFifo) {
      mkfifo(execFifo, 0o622);
      chmodSync(execFifo, 0o622);
    }
    // the container's root opens the exit file and exec.fifo: made here, theirs
    if (detach && subordinateRoot) {
      writeFileSync(`${dir}/exit`, "", { flag: "a", mode: 0o600 });
      for (const f of ["exit", ...(execFifo ? ["exec.fifo"] : [])]) chownSync(`${dir}/${f}`, hostRootOfContainer, maps.gid.find((m) => m.containerID === 0)?.hostID ?? hostRootOfContainer);
    }
    // detached: the output goes through pipes to a rotating log writer outside the container
    // (with -t it reads the terminal instead: started below, once the terminal exists)
    const streams = { stdin: interactive, stdinOnce: !!req.stdinOnce, removeWith: req.rm ? ctx.execPath : undefined, restartWith: restartPolicy ? ctx.execPath : undefined, events: eventArgs };
    let stdio: Stdio | undefined;
    if (logOptions && !tty) {
      try {
        logWriter = logs!.startLogWriter(dir, logOptions, streams);
        stdio = logWriter.stdio;
      } catch (e) {
        if (!(e instanceof BunkerError) || interactive) throw e;
        ctx.log.note(`${e.message} (${e.errnoName}): the log is written unbounded, without rotation`);
        const fd = openSync(`${dir}/log`, "a", 0o600);
        stdio = { stdin: -1, stdout: fd, stderr: fd };
      }
      ourEnds.push(...new Set([stdio.stdin, stdio.stdout, stdio.stderr].filter((fd) => fd >= 0)));
    }
    if (!detach && req.discardOutput) {
      const fd = openSync("/dev/null", "w");
      stdio = { stdin: -1, stdout: fd, stderr: fd };
      ourEnds.push(fd);
    }
    let plan = buildPlan(spec, {
      rootMount,
      symlinks,
      stdinNull: !interactive,
      preserveFds,
      // detached: an init is PID 1 and records the command's exit status; the container outlives bunker
      init: req.init || detach,
      dieWithParent: !detach,
      stdio,
      exitFile: detach ? `${dir}/exit` : undefined,
      execFifo,
      noPivot: req.noPivot,
      // the default profile's filter was compiled when bunker was built: the compiler is loaded only for another profile
      ...(confinement.compiledSeccomp || !spec.linux?.seccomp
        ? { ...capsContext(spec.process!), ...(confinement.compiledSeccomp ? { seccomp: confinement.compiledSeccomp, seccompFlags: 0 } : {}) }
        : (await import("./process.ts")).processContext(spec.process!, spec.linux, debug)),
      lockMounts: confinement.lockMounts,
      keepNetns: net.kind === "pasta" || net.kind === "slirp4netns" || !!firstNet,
      // the helper starts with the child and must be ready before its program runs, not before its mounts
      holdBeforeProcess: net.kind === "pasta" || net.kind === "slirp4netns",
    });
    mark("plan built");
    if (debug) {
      for (const op of plan.ops) debug(`plan: ${JSON.stringify(op, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
      mark("plan printed (--debug)");
    }
    checkUserMapped(user, maps, uid);
    // subordinate ids: join bunker's shared user namespace rather than run newuidmap/newgidmap again
    const sharedCode = !joined && needsHelper(maps, uid, gid) ? await import("./userns.ts") : undefined;
    const shared = sharedCode?.sharedUsernsEnabled(ctx) ? sharedCode.sharedUserns(ctx, maps) : undefined;
    if (joined) {
      // a pod: the other container's user namespace (which owns its network namespace), then that network namespace
      plan = withSpecJoins(plan, { ociVersion: spec.ociVersion, linux: { namespaces: [{ type: "user", path: `/proc/self/fd/${joined.userFd}` }, { type: "network", path: `/proc/self/fd/${joined.netFd}` }] } });
      debug?.(`network: container ${net.kind === "container" ? net.id : ""}'s (pid ${joined.pid})`);
    }
    if (shared) {
      plan.joinUserns = shared.path;
      debug?.(`user namespace: bunker's shared one (held by pid ${shared.pid})`);
    }
    const cg = await createCgroup({ id, resources, parent: req.cgroupParent, manager: ctx.cgroupManager, oomKillGroup, onNote: debug, env: ctx.env });
    if (cg) {
      saveCgroupPath(dir, cg.path);
      debug?.(`cgroup: ${cg.path}`);
    }
    mark("cgroup");
    let keepCgroup = false;
    try {
      const launcher = ctx.launcher ?? realLauncher;
      if (!detach) launcher.forwardSignals(); // from now on a signal to bunker is queued for the container, not lost
      mark("signals forwarded (the shim loaded)");
      // registered like an OCI container (exec, ps, kill, pause, stats and state find it by id)
      // before its process may run: a bunker killed after this leaves a container rm -f finds
      const record = (pid: number) =>
        writeState(dir, {
          ociVersion: spec.ociVersion,
          id,
          pid,
          pidStart: pidStartTime(pid) ?? "",
          bundle: dir,
          rootfs: rootPath,
          created: new Date().toISOString(),
          owner: userName(uid) ?? String(uid),
          userns: true,
          process: spec.process,
          seccomp: spec.linux?.seccomp,
          ...(confinement.compiledSeccomp ? { defaultSeccomp: true } : {}),
          cgroup: cg?.path,
          run: { image: req.image ?? (host ? "host" : rootfs), command: args, maps, mountPoints: mapOf(spec.mounts ?? [], (m) => m.destination), ...(req.labels && Object.keys(req.labels).length ? { labels: req.labels } : {}), ...(restartPolicy ? { restart: restartPolicy } : {}), stopSignal: image?.config.StopSignal, confinement: confinement.summary, network: { mode: req.network ?? net.kind, ports, ...helper, ...(proxyRef ? { proxy: proxyRef } : {}), ...(userNet && joinedIp ? { userNetwork: { name: userNet.Name, ip: joinedIp, aliases: req.networkAliases ?? [], id: userNet.Id, gateway: userNet.Gateway, prefix: Number(userNet.Subnet.split("/")[1]), ifname: "eth0", dataRoot: ctx.dataRoot } } : {}), ...(connected.length ? { connected } : {}) }, ...(detach && interactive ? { stdin: { once: !!req.stdinOnce } } : {}) },
        });
      let c;
      let helper: HelperRecord | undefined;
      let joinedIp: string | undefined;
      let proxyRef: ProcessRef | undefined;
      const connected: AttachedNetwork[] = [];
      try {
        // the agent's code only for a profile with a listener (seccompAgent gives none without one)
        const seccompListener = spec.linux?.seccomp?.listenerPath ? (await import("./seccomp-agent.ts")).seccompAgent(spec.linux.seccomp, (pid) => ({ ociVersion: spec.ociVersion, id, status: "creating", pid, bundle: dir, annotations: spec.annotations ?? {} }), debug) : undefined;
        const startHelpers =
          net.kind === "pasta" || net.kind === "slirp4netns"
            ? async (pid: number) => {
                helper = await (await import("../net/helper.ts")).startHelper(net, pid, dir, ports, ctx.env.PATH, debug);
                // the rest through the proxy, in the container's namespace to its 127.0.0.1
                const proxied = ports.filter((p) => !helperForwards(net.kind, p));
                if (proxied.length) proxyRef = await proxy!.startProxy(pid, pid, "127.0.0.1", proxied, dir, debug);
              }
            : undefined;
        const joinNetworks = firstNet
          ? async (pid: number) => {
              const name = namesOf(ctx.stateRoot, id)[0];
              if (userNet) {
                const joinedNet = await userNetworks!.joinNetwork(ctx, userNet.Name, { id, name, pid, aliases: req.networkAliases ?? [], ip: req.ip, hostsFile: `${dir}/hosts`, hostsBase }, netMaps);
                joinedIp = joinedNet.ip;
                if (proxy) proxyRef = await proxy.startProxy(pid, joinedNet.holder, joinedNet.ip, ports, dir, debug);
              }
              for (const x of moreNets) {
                // as network connect of a running container: the next ethN; the default route only for a container on no other network
                const ifname = userNetworks!.freeInterface(ctx, [...(userNet ? [{ name: userNet.Name, ip: "", ifname: "eth0" }] : []), ...connected], pid);
                const j = await userNetworks!.joinNetwork(ctx, x.name, { id, name, pid, aliases: x.aliases, ip: x.ip, hostsFile: `${dir}/hosts`, hostsBase, ifname, defaultRoute: net.kind === "none" && !userNet && !connected.length }, netMaps);
                connected.push({ name: x.name, ip: j.ip, aliases: x.aliases, id: x.config.Id, gateway: x.config.Gateway, prefix: Number(x.config.Subnet.split("/")[1]), ifname, dataRoot: ctx.dataRoot });
              }
            }
          : undefined;
        const beforeRecord =
          startHelpers || joinNetworks
            ? async (pid: number) => {
                await startHelpers?.(pid);
                await joinNetworks?.(pid);
              }
            : undefined;
        // said before the program can run: its die (the monitor's or the log writer's) comes after them
        // (a container started again, by start or its restart policy, was created long before)
        // one write: a run's create and start (one stat and one append fewer)
        const actions: string[] = [];
        if (!later?.previousLogs) actions.push("create");
        if (!later) actions.push("start");
        recordEvent(ctx.dataRoot, "container", actions, id, eventAttrs);
        mark("events recorded");
        announced = true;
        c = await launcher.launch(plan, { maps, debug, cgroup: cg ?? undefined, record, seccompListener, beforeRecord, untilReady: !!execFifo });
      } finally {
        if (shared) closeFd(shared.fd);
        releaseVolumes(); // set up: a new volume is filled, the next container sees it so
        if (joined) for (const fd of [joined.userFd, joined.netFd]) closeFd(fd);
      }
      if (detach && tty) {
        try {
          logWriter = logs!.startLogWriter(dir, logOptions!, { ...streams, tty: c.pty });
        } catch (e) {
          launcher.kill(c.pid);
          throw e;
        } finally {
          closeFd(c.pty); // the writer holds the terminal now
        }
      }
      if (detach) {
        keep = keepCgroup = true;
        return { id, exitCode: 0 };
      }
      // from here on a small C program waits for the container, not this Bun process
      debug?.(`timing: ${timingLine()}`);
      if (!req.inProcess) {
        const err = launcher.becomeMonitor({ pid: c.pid, pty: c.pty, stdin: interactive, dir, cgroup: cg?.path, finishAlways: !!volumeUse?.anonymous.length, events: eventArgs }, ctx.execPath);
        debug?.(`cannot exec the monitor (${errnoName(-err)}): bunker supervises the container itself`);
      }
      const st = launcher.wait(c.pid, c.pty, interactive);
      recordEvent(ctx.dataRoot, "container", "die", id, { exitCode: String(exitCode(st)), ...eventAttrs });
      if (st.signal === 9 && cg?.oomKilled()) {
        return { id, exitCode: 137, oomKilled: oomMessage(cg) };
      }
      return { id, exitCode: exitCode(st) };
    } finally {
      if (!keepCgroup) cg?.remove();
    }
  } finally {
    releaseVolumes();
    for (const fd of ourEnds) closeFd(fd); // the container holds the pipes now (if it started): the writer ends with it
    if (!keep) {
      if (logWriter) logs!.endLogWriter(dir);
      await (await import("./state-dir.ts")).removeStateDir(ctx, dir, maps);
      if (announced) recordEvent(ctx.dataRoot, "container", "destroy", id, eventAttrs);
      if (volumeUse) await (await import("../volume/attach.ts")).removeAnonymousVolumes(volumeUse, maps, ctx.log.warn);
    }
  }
}

const IMAGE_FILES = "the image";

/** -u USER of a --rootfs (ROOT "/" for the host sandbox) through its /etc/passwd and /etc/group, read inside it */
async function rootfsUser(user: string, root: string): Promise<ResolvedUser> {
  const { readInRoot } = await import("./home.ts"); // the openat2 bindings: only for -u
  return resolveUser(user, { passwd: readInRoot(root, "/etc/passwd"), group: readInRoot(root, "/etc/group"), of: "the rootfs", etc: `${root === "/" ? "" : root}/etc` });
}

interface OpenedImage {
  id: string;
  lowerDirs: string[];
  config: ImageConfig;
  /** overlay of lowerDirs, or a copy made by flatten */
  storage: DriverChoice;
  /** the copy driver: the image applied into DEST, its files owned as a container with MAPS sees them */
  flatten(dest: string, maps: IdMaps): Promise<unknown>;
  /** the image's USER (or -u) through its /etc/passwd and /etc/group */
  resolveUser(user: string | undefined): ResolvedUser;
}

async function openImage(ctx: RuntimeContext, ref: string, pull: string | undefined, insecure: boolean | undefined): Promise<OpenedImage> {
  if (pull !== undefined && !["missing", "never", "always"].includes(pull)) throw new BunkerError(`run: --pull must be missing, never or always (got "${pull}")`, { errno: "EINVAL" });
  const dataRoot = ctx.dataRoot;
  const flatten = async (id: string, dest: string, maps: IdMaps) => (await import("../image/rootfs.ts")).flattenImageRootfs(id, dest, { dataRoot, pull: "never", maps, env: ctx.env });
  // the overlay driver, when nothing forces one, for a reference run before: one small file
  const forced = ctx.storageDriver !== undefined || !!ctx.env.BUNKER_STORAGE_DRIVER;
  const launchCache = await import("../image/launch-cache.ts");
  const cached = forced || pull === "always" ? undefined : launchCache.readLaunchRecord(dataRoot, ref);
  if (cached) {
    return {
      ...cached,
      storage: { driver: "overlay", why: "kernel overlayfs works in a user namespace (remembered)" },
      flatten: (dest, maps) => flatten(cached.id, dest, maps),
      resolveUser: (u) => (u === cached.config.User && cached.user ? { ...cached.user } : resolveUser(u, { passwd: cached.passwd, group: cached.group, of: IMAGE_FILES })),
    };
  }
  // imported here: a run of a rootfs, or of an image run before, does not load the store's code
  normalJit(); // pulling and unpacking loop long
  const { prepareImageRootfs, readImageFile } = await import("../image/rootfs.ts");
  const { layerLimitsOf } = await import("../image/limits.ts");
  const { chooseStorageDriver } = await import("../image/driver.ts");
  const storage = await chooseStorageDriver({ flag: ctx.storageDriver, env: ctx.env.BUNKER_STORAGE_DRIVER, dataRoot });
  const limits = layerLimitsOf({ value: ctx.env.BUNKER_MAX_LAYER_SIZE, what: "$BUNKER_MAX_LAYER_SIZE" }, { value: ctx.env.BUNKER_STORAGE_RESERVE, what: "$BUNKER_STORAGE_RESERVE" });
  const img = await prepareImageRootfs(ref, { dataRoot, env: ctx.env, pull: pull as "missing" | "never" | "always" | undefined, limits, insecure });
  // what the unpacker could not represent, said once: when this run pulled (and so unpacked) the image
  for (const n of img.notes) ctx.log.note(n);
  const passwd = readImageFile(img.lowerDirs, "/etc/passwd") ?? "", group = readImageFile(img.lowerDirs, "/etc/group") ?? "";
  if (!forced && storage.driver === "overlay") {
    let user: ResolvedUser | undefined;
    try {
      user = resolveUser(img.config.User, { passwd, group, of: IMAGE_FILES });
    } catch {
      /* a User the image does not define: each run reports it */
    }
    launchCache.writeLaunchRecord(dataRoot, { ref, id: img.id, lowerDirs: img.lowerDirs, config: img.config, passwd, group, user });
  }
  return {
    ...img,
    storage,
    flatten: (dest, maps) => flatten(img.id, dest, maps),
    resolveUser: (u) => resolveUser(u, { passwd, group, of: IMAGE_FILES }),
  };
}

/**
 * an IMAGE (or a run that publishes ports) gets slirp4netns, else pasta, when installed; anything else
 * none.  slirp4netns first: it is ready within a few ms, where Debian 12's pasta takes 30-100 ms
 * (its socket pools) on every run; pasta stays a --network away (faster transfers, IPv6)
 */
async function defaultNetwork(wantsOutbound: boolean, path: string | undefined): Promise<string> {
  if (!wantsOutbound) return "none";
  const { findProgram } = await import("../net/helper.ts");
  return findProgram("slirp4netns", path) ? "slirp4netns" : findProgram("pasta", path) ? "pasta" : "none";
}

/** Entrypoint + Cmd as docker combines them: CMD replaces Cmd, --entrypoint replaces Entrypoint (and drops Cmd) */
export function imageArgs(config: ImageConfig, cmd: string[], entrypoint: string | undefined): string[] {
  const entry = entrypoint !== undefined ? (entrypoint ? [entrypoint] : []) : (config.Entrypoint ?? []);
  const rest = cmd.length ? cmd : entrypoint !== undefined ? [] : (config.Cmd ?? []);
  return [...entry, ...rest];
}

/** KEY=VALUE entries of ADD replace those of ENV with the same key */
export function setEnv(env: string[], add: string[]): void {
  for (const e of add) {
    const key = e.slice(0, e.indexOf("=") + 1);
    const i = env.findIndex((x) => x.startsWith(key));
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
}


/** USER must be an id of MAPS; the fix names what gives the container more ids (a range in SUBUID, or --userns=auto) */
export function checkUserMapped(user: { uid: number; gid: number; additionalGids?: number[] }, maps: IdMaps, uid: number, subuid = SUB_ID_FILES.subuid): void {
  const inside = (m: IdMaps["uid"], id: number) => someOf(m, (x) => id >= x.containerID && id < x.containerID + x.size);
  const group = user.additionalGids ? findOf(user.additionalGids, (g) => !inside(maps.gid, g)) : undefined;
  if (!inside(maps.uid, user.uid) || !inside(maps.gid, user.gid) || group !== undefined) {
    const name = userName(uid) ?? String(uid);
    const hint = subRange(subuid, uid)
      ? "add --userns=auto"
      : `your user has no subordinate ids for it: as root, usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}, then add --userns=auto; or run as the container's root: -u 0`;
    const ids = `${user.uid}:${user.gid}`;
    const what = inside(maps.uid, user.uid) && inside(maps.gid, user.gid) ? `supplementary group ${group} of user ${ids}` : `user ${ids}`;
    throw new BunkerError(`run: ${what} is not mapped in the container's user namespace`, { errno: "EINVAL", fix: hint });
  }
}

/**
 * /etc/hostname, /etc/hosts, /etc/resolv.conf for the container, written to its
 * state dir and bound over the rootfs's files so the rootfs is never modified.
 * A file the rootfs has as a symlink is left alone; a missing one gets an empty
 * mount point (as runc does) when /etc exists.
 */
function writeEtcFiles(dir: string, files: Record<string, string>, etc: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  // an image: always (a missing file's mount point lands in the container's own upper layer)
  if (etc !== undefined) {
    let etcIsDir = false;
    try {
      etcIsDir = statSync(etc).isDirectory();
    } catch {
      etcIsDir = false;
    }
    if (!etcIsDir) return out;
  }
  for (const [name, content] of Object.entries(files)) {
    try {
      if (etc !== undefined && lstatSync(`${etc}/${name}`).isSymbolicLink()) continue;
    } catch {
      /* missing: a mount point will be created */
    }
    writeFileSync(`${dir}/${name}`, content);
    out[name] = `${dir}/${name}`;
  }
  return out;
}
