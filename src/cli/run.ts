// bunker run [OPTIONS] --rootfs DIR|host [--] CMD [ARG...]
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";
import { flag, flagBool, flagInt, flagList, parseFlags, type FlagSpec } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { autoMaps, deniesSetgroups, rootAutoMaps, needsHelper, singleMaps, subRange, userName, SUB_ID_FILES, type IdMaps } from "../container/idmap.ts";
import { sharedUserns, sharedUsernsEnabled } from "../container/userns.ts";
import { pidStartTime, writeState } from "../container/state.ts";
import { launch } from "../container/launch.ts";
import { seccompAgent } from "../container/seccomp-agent.ts";
import { stateRoot } from "../container/paths.ts";
import { recordImageUse } from "../container/image-use.ts";
import { removeOwnedTree } from "../container/cleanup.ts";
import { becomeMonitor } from "../container/monitor.ts";
import { endLogWriter, parseLogOptions, startLogWriter, type LogWriter } from "../container/log-writer.ts";
import { errnoName } from "../sys/errno.ts";
import { runSpec, type RunOptions } from "../oci/run-spec.ts";
import { mergeRequests, parseMountFlag, parseVolumeFlag, type MountRequest } from "../volume/spec.ts";
import { attachMounts, recordVolumeUse, removeAnonymousVolumes, type VolumeUse } from "../volume/attach.ts";
import { buildPlan } from "../plan/build.ts";
import { resolveConfinement } from "../oci/confine.ts";
import { processContext } from "../container/process.ts";
import type { ImageConfig } from "../image/types.ts";
import type { RootMount } from "../plan/types.ts";
import { tmpfsHasUserXattrs } from "../sys/kernel.ts";
import { defaultDataRoot } from "../image/data-root.ts";
import { readLaunchRecord, writeLaunchRecord } from "../image/launch-cache.ts";
import { resolveUser, type ResolvedUser } from "../oci/user.ts";
import type { DriverChoice } from "../image/driver.ts";
import { closeFd, forwardSignals, exitCode, supervise } from "../sys/shim.ts";
import { createCgroup, oomMessage, RESOURCE_FLAGS, resourcesFromParsed } from "../cgroup/index.ts";
import { saveCgroupPath } from "../cgroup/state.ts";
import { mark, timingLine } from "../timing.ts";
import { normalJit } from "../jit.ts";
import { withSpecJoins } from "../plan/join.ts";
import { parseNetwork, helperNameserver } from "../net/mode.ts";
import { exposedPorts, parsePublish, reservePorts } from "../net/ports.ts";
import { hostsFile, parseAddHost, resolvConf } from "../net/etc.ts";
import { findProgram, startHelper, type HelperRecord } from "../net/helper.ts";
import { joinedContainer } from "../net/join.ts";

export const FLAGS: FlagSpec[] = [
  { names: ["rootfs"], value: true, help: "DIR|host  the container's root directory; \"host\" = sandbox of the host's\n/usr, /bin, /lib*, /etc (read-only), private /tmp, cwd read-write" },
  { names: ["env", "e"], value: true, multi: true, help: "K=V  set an environment variable (K alone: take it from bunker's env)" },
  { names: ["env-file"], value: true, multi: true, help: "FILE  read K=V lines" },
  { names: ["workdir", "w"], value: true, help: "DIR  working directory inside the container" },
  { names: ["user", "u"], value: true, help: "UID[:GID]  user (numbers, or names from the rootfs's /etc/passwd)" },
  { names: ["hostname", "h"], value: true, help: "NAME  hostname (default: the container id)" },
  { names: ["tty", "t"], help: "allocate a pseudo-terminal" },
  { names: ["interactive", "i"], help: "keep stdin open (without it stdin is /dev/null)" },
  { names: ["init"], help: "run a tiny init as PID 1 that reaps zombies and forwards signals" },
  { names: ["volume", "v"], value: true, multi: true, help: "H:C[:ro]|NAME:C[:ro]|C  bind mount host path H (absolute) at C; or the\nnamed volume NAME (made when missing, filled from the image's C the\nfirst time); C alone: an anonymous volume (also each of the image's\nVOLUME paths), removed with the container (rm -v, --rm)" },
  { names: ["mount"], value: true, multi: true, help: "type=volume[,src=NAME],dst=C[,readonly][,volume-nocopy]\ntype=bind,src=H,dst=C[,readonly][,bind-propagation=P]\ntype=tmpfs,dst=C[,tmpfs-size=64m][,tmpfs-mode=1777]  (Docker's syntax)" },
  { names: ["tmpfs"], value: true, multi: true, help: "PATH[:OPTS]  mount a tmpfs (OPTS like size=64m,mode=1777)" },
  { names: ["read-only"], help: "mount the root read-only" },
  { names: ["network", "net"], value: true, help: "MODE  none|host|pasta[:OPTS]|slirp4netns[:OPTS]|container:ID (default: pasta\nfor an IMAGE or with -p, else none; see \"networks\" below)" },
  { names: ["publish", "p"], value: true, multi: true, help: "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]  publish a port (HOSTIP: 0.0.0.0\nby default, or 127.0.0.1); -p CTRPORT: a free host port\n('bunker port ID' shows it); a port in use fails before start" },
  { names: ["publish-all", "P"], help: "publish the image's EXPOSE ports on free host ports" },
  { names: ["dns"], value: true, multi: true, help: "IP  nameserver of /etc/resolv.conf (replaces the helper's or host's)" },
  { names: ["dns-search"], value: true, multi: true, help: "DOMAIN  search domain (\".\" for none)" },
  { names: ["dns-option"], value: true, multi: true, help: "OPT  an options entry of /etc/resolv.conf" },
  { names: ["add-host"], value: true, multi: true, help: "NAME:IP  a line of /etc/hosts" },
  { names: ["userns"], value: true, help: "single|auto  single (default): your uid is root, nothing else is mapped;\nauto: 0 -> you, 1..65536 -> your /etc/subuid range (newuidmap);\nas root with --rootfs, auto maps 0..65535 to root's /etc/subuid\nrange (or the \"containers\" user's): the container's root is not\nhost root; as root with an IMAGE, 0..65536 map to themselves" },
  { names: ["preserve-fds"], value: true, help: "N  pass file descriptors 3..3+N-1 to the command" },
  { names: ["no-pivot"], help: "use MS_MOVE + chroot instead of pivot_root" },
  { names: ["rm"], help: "(-d) remove the container when it exits (a foreground run always is)" },
  { names: ["name"], value: true, help: "NAME  the container's id (default: 12 random hex digits)" },
  { names: ["entrypoint"], value: true, help: "CMD  (IMAGE) replace the image's Entrypoint (\"\" clears it)" },
  { names: ["detach", "d"], help: "run in the background: prints the id; output goes to\n'bunker logs ID'; 'bunker ps', 'stop', 'rm' manage it" },
  { names: ["log-opt"], value: true, multi: true, help: "max-size=SIZE|max-file=N  (-d) rotate the log when it would pass SIZE\n(default 10m; -1: never); keep N files: log, log.1 .. log.N-1 (default 3)" },
  { names: ["pull"], value: true, help: "missing|never|always  (IMAGE) when to pull (default missing)" },
  { names: ["cgroup-parent"], value: true, help: "PATH  create the container's cgroup below PATH (absolute: from the\ncgroup2 mount; relative: from bunker's own cgroup)" },
  { names: ["cap-add"], value: true, multi: true, help: "CAP  add a capability (NET_ADMIN or CAP_NET_ADMIN; ALL = every one)" },
  { names: ["cap-drop"], value: true, multi: true, help: "CAP  drop a capability (ALL = start from none, then --cap-add)" },
  { names: ["privileged"], help: "every capability, no seccomp filter, nothing masked; still in\nthe container's user namespace (capabilities over its own\nnamespaces, none over the host's); with CAP_SYS_ADMIN every\nmount is locked: read-only stays read-only" },
  { names: ["security-opt"], value: true, multi: true, help: "OPT  no-new-privileges[=true|false] (default true);\nseccomp=unconfined|FILE: no filter, or a Docker or OCI JSON profile\n(SCMP_ACT_NOTIFY rules send the listener to its listenerPath agent);\nsystempaths=unconfined: do not mask /proc/kcore, /sys/firmware, …" },
  ...RESOURCE_FLAGS,
];

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** a file's text, "" when it cannot be read */
function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw fromSysError("run: cannot read --env-file", e, { path: file });
  }
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map(expandEnv);
}

/** "K" alone takes K from bunker's own environment, as docker does */
function expandEnv(e: string): string {
  return e.includes("=") ? e : `${e}=${process.env[e] ?? ""}`;
}

const HOST_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"];

/** the flags only runc's `run` has: any of them makes `bunker run` the OCI form */
const OCI_RUN_FLAGS = new Set(["-b", "--bundle", "--console-socket", "--pid-file", "--keep", "--no-new-keyring", "--no-subreaper"]);

/**
 * runc's `run [OPTIONS] ID` or docker's `run [OPTIONS] IMAGE|--rootfs DIR [CMD]`:
 * the OCI form when one of OCI_RUN_FLAGS comes before the first positional
 * argument, the docker form otherwise — the same wherever it runs (a
 * config.json in the directory does not change it: runc's form there is
 * `bunker run -b . ID`).
 */
export function isOciRun(argv: string[]): boolean {
  const takesValue = new Set(FLAGS.filter((f) => f.value).flatMap((f) => f.names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`))));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--" || !a.startsWith("-") || a === "-") return false;
    const name = a.startsWith("--") && a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (OCI_RUN_FLAGS.has(name)) return true;
    if (takesValue.has(name) && !a.includes("=")) i++;
  }
  return false;
}

export default async function run(argv: string[], g: GlobalOptions): Promise<number> {
  mark("run loaded");
  if (isOciRun(argv)) return (await import("./oci-run.ts")).default(argv, g);
  const p = parseFlags(argv, FLAGS, "run");
  const rootfsFlag = flag(p, "rootfs");
  const imageRef = rootfsFlag ? undefined : p.rest[0];
  if (!rootfsFlag && !imageRef) throw new BunkerError("run: no image and no --rootfs given", { errno: "EINVAL", fix: "bunker run IMAGE [CMD], bunker run --rootfs DIR -- CMD, or --rootfs host for a sandbox of the host" });
  let image: OpenedImage | undefined;
  try {
    image = imageRef ? await openImage(imageRef, g, flag(p, "pull")) : undefined;
  } catch (e) {
    // runc's habit, `run ID` in a bundle directory: say how to ask for it
    if (e instanceof BunkerError && p.rest.length === 1 && existsSync("config.json"))
      throw new BunkerError(e.message, { ...e.detail, fix: `${e.detail.fix ? `${e.detail.fix}; or ` : ""}to run the OCI bundle in this directory: bunker run -b . ${imageRef}` });
    throw e;
  }
  let args = image ? imageArgs(image.config, p.rest.slice(1), flag(p, "entrypoint")) : p.rest;
  if (args.length === 0) throw new BunkerError("run: no command given", { errno: "EINVAL", fix: image ? `the image has no Cmd or Entrypoint: bunker run ${imageRef} CMD` : "bunker run --rootfs DIR -- CMD [ARG...]" });

  const host = rootfsFlag === "host";
  const rootfs = host || image ? undefined : resolve(rootfsFlag!);
  if (rootfs) {
    let st;
    try {
      st = statSync(rootfs);
    } catch (e) {
      throw fromSysError("run: rootfs does not exist", e, { path: rootfs, fix: "pass --rootfs an extracted root filesystem, or --rootfs host" });
    }
    if (!st.isDirectory()) throw new BunkerError("run: rootfs is not a directory", { errno: "ENOTDIR", path: rootfs });
  }

  const uid = process.getuid!(), gid = process.getgid!();
  const sr = stateRoot(g);
  // an image's files and users need more than one id: auto when this user has a range (as podman)
  const userns = flag(p, "userns") ?? (image && uid !== 0 && subRange("/etc/subuid", uid) ? "auto" : "single");
  let maps: IdMaps;
  // root's IMAGE keeps autoMaps' identity map: the store's layer files carry the image's own ids on the host
  if (userns === "auto") maps = uid === 0 && !image ? rootAutoMaps(readText("/etc/subuid"), readText("/etc/subgid")) : autoMaps(uid, gid);
  else if (userns === "single" || userns === "") maps = singleMaps(uid, gid);
  else throw new BunkerError(`run: unknown --userns "${userns}"`, { errno: "EINVAL", fix: "use --userns=single or --userns=auto" });

  const publishAll = flagBool(p, "publish-all");
  const publish = [...flagList(p, "publish").map(parsePublish), ...(publishAll ? exposedPorts(image?.config.ExposedPorts) : [])];
  const net = parseNetwork(flag(p, "network") ?? defaultNetwork(!!image || publish.length > 0));
  if (publish.length && net.kind !== "pasta" && net.kind !== "slirp4netns")
    throw new BunkerError(`run: -p publishes ports through a network helper, not with --network ${net.kind}`, { errno: "EINVAL", fix: "add --network pasta or --network slirp4netns" });
  const joined = net.kind === "container" ? joinedContainer(sr.dir, net.id) : undefined;
  if (joined) maps = joined.maps;
  const network = net.kind === "host" ? "host" : joined ? "joined" : "none";
  const addHosts = flagList(p, "add-host").map(parseAddHost);

  const env: string[] = [...(image?.config.Env ?? [])];
  for (const f of flagList(p, "env-file")) setEnv(env, readEnvFile(f));
  setEnv(env, flagList(p, "env").map(expandEnv));
  const tmpfs = flagList(p, "tmpfs").map((t): MountRequest => {
    const [dest, opts] = [t.split(":")[0]!, t.split(":").slice(1).join(":")];
    if (!dest.startsWith("/")) throw new BunkerError("run: --tmpfs path must be absolute", { errno: "EINVAL", path: dest });
    return { type: "tmpfs", destination: dest, options: opts ? opts.split(",") : [] };
  });
  const mountRequests = mergeRequests([...flagList(p, "volume").map(parseVolumeFlag), ...flagList(p, "mount").map(parseMountFlag), ...tmpfs], Object.keys(image?.config.Volumes ?? {}));
  const user = image
    ? image.resolveUser(flag(p, "user") ?? image.config.User)
    : flag(p, "user") ? await rootfsUser(flag(p, "user")!, host ? "/" : rootfs!) : { uid: 0, gid: 0, additionalGids: [] };
  // a one-id map denies setgroups: the process keeps no supplementary groups there (the kernel refuses them)
  if (deniesSetgroups(maps)) user.additionalGids = [];
  const confinement = resolveConfinement({ capAdd: flagList(p, "cap-add"), capDrop: flagList(p, "cap-drop"), privileged: flagBool(p, "privileged"), securityOpts: flagList(p, "security-opt") }, user.uid);
  const tty = flagBool(p, "tty");
  const detach = flagBool(p, "detach");
  if (detach && (tty || flagBool(p, "interactive"))) throw new BunkerError("run: -d cannot be combined with -t or -i", { errno: "EINVAL", fix: "drop -t/-i; read the output with bunker logs ID" });
  const interactive = flagBool(p, "interactive");
  if (!detach && flagList(p, "log-opt").length) throw new BunkerError("run: --log-opt is for a detached container's log", { errno: "EINVAL", fix: "add -d, or drop --log-opt" });
  const logOptions = detach ? parseLogOptions(flagList(p, "log-opt")) : undefined;
  const preserveFds = flagInt(p, "preserve-fds", "run") ?? 0;
  const { resources, oomKillGroup } = resourcesFromParsed(p);

  mark("flags parsed");
  const id = flag(p, "name") ?? randomId();
  const hostname = flag(p, "hostname") ?? id;
  if (sr.note && g.debug) console.error(`bunker: debug: ${sr.note}`);
  const dir = `${sr.dir}/${id}`;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (errnoCode(e) === "EEXIST") throw new BunkerError(`run: a container named "${id}" already exists`, { errno: "EEXIST", path: dir, fix: "choose another --name, or 'bunker delete --force' it" });
    throw fromSysError("run: cannot create the container's state directory", e, { path: dir });
  }
  // root with a subordinate map: the container's root (not host root) binds /etc files from here
  const hostRootOfContainer = maps.uid.find((m) => m.containerID === 0)?.hostID;
  const subordinateRoot = uid === 0 && hostRootOfContainer !== undefined && hostRootOfContainer !== 0;
  if (subordinateRoot) chmodSync(dir, 0o711);
  let keep = false; // a detached container keeps its state dir until `bunker rm`
  let logWriter: LogWriter | undefined;
  let volumeUse: VolumeUse | undefined;
  let releaseVolumes = () => {};
  try {
    // volumes made (and recorded as this container's) before anything can fail and leave them unrecorded
    const mounts = attachMounts(mountRequests, g.dataRoot ?? defaultDataRoot(), !!image, (use) => recordVolumeUse(dir, (volumeUse = use)));
    releaseVolumes = mounts.release;
    const hostResolv = readText("/etc/resolv.conf") || "nameserver 127.0.0.1\n";
    const etcFiles = writeEtcFiles(dir, {
      hostname: `${hostname}\n`,
      hosts: hostsFile(hostname, id, addHosts),
      "resolv.conf": resolvConf({
        host: joined?.resolv ?? hostResolv,
        helper: net.kind === "pasta" || net.kind === "slirp4netns" ? helperNameserver(net) : undefined,
        dns: flagList(p, "dns"),
        dnsSearch: flagList(p, "dns-search"),
        dnsOptions: flagList(p, "dns-option"),
      }),
    }, host ? "/etc" : image ? undefined : `${rootfs}/etc`);
    const ports = await reservePorts(publish);
    const cwd = flag(p, "workdir") ?? (host ? process.cwd() : image?.config.WorkingDir || "/");
    if (!cwd.startsWith("/")) throw new BunkerError("run: --workdir must be absolute", { errno: "EINVAL", path: cwd });
    let rootPath = rootfs!;
    const symlinks: Record<string, string> = {};
    let hostSandbox: RunOptions["hostSandbox"];
    let rootMount: RootMount | undefined;
    if (image) {
      recordImageUse(dir, image.id);
      rootPath = `${dir}/rootfs`;
      if (g.debug) console.error(`bunker: debug: storage driver ${image.storage.driver} (${image.storage.why})`);
      if (image.storage.driver === "copy") {
        // a private copy, owned as this container's map needs; removed with the state dir
        await image.flatten(rootPath, maps);
      } else {
        // the layers as overlay lowers, a private upper: starting a container copies nothing;
        // volatile: the upper dies with the container, so its unmount need not sync it.  The
        // upper is on a tmpfs of the container's mount namespace where tmpfs has user xattrs
        // (overlay's whiteouts and opaque dirs need them): nothing to make or remove on the host
        const tmpfsUpper = tmpfsHasUserXattrs();
        const rw = tmpfsUpper ? `${dir}/rootfs` : dir;
        for (const d of tmpfsUpper ? ["rootfs"] : ["rootfs", "upper", "work"]) mkdirSync(`${dir}/${d}`);
        rootMount = { fstype: "overlay", data: `lowerdir=${image.lowerDirs.join(":")},upperdir=${rw}/upper,workdir=${rw}/work,userxattr,volatile`, tmpfsUpper };
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
      hostSandbox = { binds, cwd: process.cwd() };
    }
    mark("state dir, etc files");
    const debug = g.debug ? (m: string) => console.error(`bunker: debug: ${m}`) : undefined;
    const spec = runSpec({
      rootPath,
      hostSandbox,
      args,
      env,
      cwd,
      user,
      hostname,
      tty,
      consoleSize: tty && process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined,
      volumes: mounts.binds,
      tmpfs: mounts.tmpfs,
      readOnly: flagBool(p, "read-only"),
      network,
      maps,
      etcFiles,
      confinement,
    });
    // the container's root opens the log and the exit file: made here, theirs
    if (detach && subordinateRoot) {
      for (const f of ["log", "exit"]) {
        writeFileSync(`${dir}/${f}`, "", { mode: 0o600 });
        chownSync(`${dir}/${f}`, hostRootOfContainer, maps.gid.find((m) => m.containerID === 0)?.hostID ?? hostRootOfContainer);
      }
    }
    // detached: the output goes through a pipe to a rotating log writer outside the container
    if (logOptions) {
      try {
        logWriter = startLogWriter(dir, logOptions, flagBool(p, "rm") ? process.execPath : undefined);
      } catch (e) {
        if (!(e instanceof BunkerError)) throw e;
        process.stderr.write(`bunker: note: ${e.message} (${e.errnoName}): the log is written unbounded, without rotation\n`);
      }
    }
    let plan = buildPlan(spec, {
      rootMount,
      symlinks,
      stdinNull: !interactive,
      preserveFds,
      // detached: an init is PID 1 and records the command's exit status; the container outlives bunker
      init: flagBool(p, "init") || detach,
      dieWithParent: !detach,
      log: detach ? (logWriter?.path ?? `${dir}/log`) : undefined,
      exitFile: detach ? `${dir}/exit` : undefined,
      noPivot: flagBool(p, "no-pivot"),
      ...processContext(spec.process!, spec.linux, debug, confinement.compiledSeccomp),
      lockMounts: confinement.lockMounts,
      keepNetns: net.kind === "pasta" || net.kind === "slirp4netns",
    });
    mark("plan built");
    if (g.debug) {
      for (const op of plan.ops) console.error(`bunker: debug: plan: ${JSON.stringify(op, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
      mark("plan printed (--debug)");
    }
    checkUserMapped(user, maps);
    // subordinate ids: join bunker's shared user namespace rather than run newuidmap/newgidmap again
    const shared = !joined && needsHelper(maps, uid, gid) && sharedUsernsEnabled() ? sharedUserns(maps, debug) : undefined;
    if (joined) {
      // a pod: the other container's user namespace (which owns its network namespace), then that network namespace
      plan = withSpecJoins(plan, { ociVersion: spec.ociVersion, linux: { namespaces: [{ type: "user", path: `/proc/self/fd/${joined.userFd}` }, { type: "network", path: `/proc/self/fd/${joined.netFd}` }] } });
      debug?.(`network: container ${net.kind === "container" ? net.id : ""}'s (pid ${joined.pid})`);
    }
    if (shared) {
      plan.joinUserns = shared.path;
      debug?.(`user namespace: bunker's shared one (held by pid ${shared.pid})`);
    }
    const cg = await createCgroup({ id, resources, parent: flag(p, "cgroup-parent"), manager: g.cgroupManager, oomKillGroup, onNote: debug });
    if (cg) {
      saveCgroupPath(dir, cg.path);
      debug?.(`cgroup: ${cg.path}`);
    }
    mark("cgroup");
    let keepCgroup = false;
    try {
      if (!detach) forwardSignals(); // from now on a signal to bunker is queued for the container, not lost
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
          cgroup: cg?.path,
          run: { image: imageRef ?? (host ? "host" : rootfs), command: args, maps, stopSignal: image?.config.StopSignal, confinement: confinement.summary, network: { mode: flag(p, "network") ?? net.kind, ports, ...helper } },
        });
      let c;
      let helper: HelperRecord | undefined;
      try {
        const seccompListener = seccompAgent(spec.linux?.seccomp, (pid) => ({ ociVersion: spec.ociVersion, id, status: "creating", pid, bundle: dir, annotations: spec.annotations ?? {} }), debug);
        const beforeRecord = net.kind === "pasta" || net.kind === "slirp4netns" ? async (pid: number) => void (helper = await startHelper(net, pid, dir, ports, debug)) : undefined;
        c = await launch(plan, { maps, debug, cgroup: cg ?? undefined, record, seccompListener, beforeRecord });
      } finally {
        if (shared) closeFd(shared.fd);
        releaseVolumes(); // set up: a new volume is filled, the next container sees it so
        if (joined) for (const fd of [joined.userFd, joined.netFd]) closeFd(fd);
      }
      if (detach) {
        keep = keepCgroup = true;
        console.log(id);
        return 0;
      }
      // from here on a small C program waits for the container, not this Bun process
      debug?.(`timing: ${timingLine()}`);
      const err = becomeMonitor({ pid: c.pid, pty: c.pty, stdin: interactive, dir, cgroup: cg?.path, finishAlways: !!volumeUse?.anonymous.length });
      debug?.(`cannot exec the monitor (${errnoName(-err)}): bunker supervises the container itself`);
      const st = supervise(c.pid, c.pty, interactive);
      if (st.signal === 9 && cg?.oomKilled()) {
        process.stderr.write(`bunker: ${oomMessage(cg)}\n`);
        return 137;
      }
      return exitCode(st);
    } finally {
      if (!keepCgroup) cg?.remove();
    }
  } finally {
    releaseVolumes();
    if (logWriter) closeFd(logWriter.fd); // the container holds the pipe now (if it started): the writer ends with it
    if (!keep) {
      if (logWriter) endLogWriter(dir);
      await removeOwnedTree(dir, maps);
      if (volumeUse) await removeAnonymousVolumes(volumeUse, maps, (m) => process.stderr.write(`${m}\n`));
    }
  }
}

const IMAGE_FILES = "the image's";

/** -u USER of a --rootfs (ROOT "/" for the host sandbox) through its /etc/passwd and /etc/group, read inside it */
async function rootfsUser(user: string, root: string): Promise<ResolvedUser> {
  const { readInRoot } = await import("../container/home.ts"); // the openat2 bindings: only for -u
  return resolveUser(user, { passwd: readInRoot(root, "/etc/passwd"), group: readInRoot(root, "/etc/group"), owner: "the rootfs's", etc: `${root === "/" ? "" : root}/etc` });
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

async function openImage(ref: string, g: GlobalOptions, pull: string | undefined): Promise<OpenedImage> {
  if (pull !== undefined && !["missing", "never", "always"].includes(pull)) throw new BunkerError(`run: --pull must be missing, never or always (got "${pull}")`, { errno: "EINVAL" });
  const dataRoot = g.dataRoot ?? defaultDataRoot();
  const flatten = async (id: string, dest: string, maps: IdMaps) => (await import("../image/rootfs.ts")).flattenImageRootfs(id, dest, { dataRoot, pull: "never", maps });
  // the overlay driver, when nothing forces one, for a reference run before: one small file
  const forced = g.storageDriver !== undefined || !!process.env.BUNKER_STORAGE_DRIVER;
  const cached = forced || pull === "always" ? undefined : readLaunchRecord(dataRoot, ref);
  if (cached) {
    for (const n of cached.notes) process.stderr.write(`bunker: note: ${n}\n`);
    return {
      ...cached,
      storage: { driver: "overlay", why: "kernel overlayfs works in a user namespace (remembered)" },
      flatten: (dest, maps) => flatten(cached.id, dest, maps),
      resolveUser: (u) => (u === cached.config.User && cached.user ? { ...cached.user } : resolveUser(u, { passwd: cached.passwd, group: cached.group, owner: IMAGE_FILES })),
    };
  }
  // imported here: a run of a rootfs, or of an image run before, does not load the store's code
  normalJit(); // pulling and unpacking loop long
  const { prepareImageRootfs, readImageFile } = await import("../image/rootfs.ts");
  const { chooseStorageDriver } = await import("../image/driver.ts");
  const storage = await chooseStorageDriver({ flag: g.storageDriver, dataRoot });
  const { layerLimits } = await import("./pull.ts"); // $BUNKER_MAX_LAYER_SIZE, $BUNKER_STORAGE_RESERVE
  const img = await prepareImageRootfs(ref, { dataRoot, pull: pull as "missing" | "never" | "always" | undefined, limits: layerLimits() });
  for (const n of img.notes) process.stderr.write(`bunker: note: ${n}\n`);
  const passwd = readImageFile(img.lowerDirs, "/etc/passwd") ?? "", group = readImageFile(img.lowerDirs, "/etc/group") ?? "";
  if (!forced && storage.driver === "overlay") {
    let user: ResolvedUser | undefined;
    try {
      user = resolveUser(img.config.User, { passwd, group, owner: IMAGE_FILES });
    } catch {
      /* a User the image does not define: each run reports it */
    }
    writeLaunchRecord(dataRoot, { ref, id: img.id, lowerDirs: img.lowerDirs, config: img.config, notes: img.notes, passwd, group, user });
  }
  return {
    ...img,
    storage,
    flatten: (dest, maps) => flatten(img.id, dest, maps),
    resolveUser: (u) => resolveUser(u, { passwd, group, owner: IMAGE_FILES }),
  };
}

/** an IMAGE (or a run that publishes ports) gets pasta, else slirp4netns, when installed; anything else none */
function defaultNetwork(wantsOutbound: boolean): string {
  if (!wantsOutbound) return "none";
  return findProgram("pasta") ? "pasta" : findProgram("slirp4netns") ? "slirp4netns" : "none";
}

/** Entrypoint + Cmd as docker combines them: CMD replaces Cmd, --entrypoint replaces Entrypoint (and drops Cmd) */
export function imageArgs(config: ImageConfig, cmd: string[], entrypoint: string | undefined): string[] {
  const entry = entrypoint !== undefined ? (entrypoint ? [entrypoint] : []) : (config.Entrypoint ?? []);
  const rest = cmd.length ? cmd : entrypoint !== undefined ? [] : (config.Cmd ?? []);
  return [...entry, ...rest];
}

/** KEY=VALUE entries of ADD replace those of ENV with the same key */
function setEnv(env: string[], add: string[]) {
  for (const e of add) {
    const key = e.slice(0, e.indexOf("=") + 1);
    const i = env.findIndex((x) => x.startsWith(key));
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
}


/** USER must be an id of MAPS; the fix names what gives the container more ids (a range in SUBUID, or --userns=auto) */
export function checkUserMapped(user: { uid: number; gid: number; additionalGids?: number[] }, maps: IdMaps, uid = process.getuid!(), subuid = SUB_ID_FILES.subuid): void {
  const inside = (m: IdMaps["uid"], id: number) => m.some((x) => id >= x.containerID && id < x.containerID + x.size);
  const group = user.additionalGids?.find((g) => !inside(maps.gid, g));
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
