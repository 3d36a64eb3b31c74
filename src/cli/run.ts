// bunker run [OPTIONS] --rootfs DIR|host [--] CMD [ARG...]
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { BunkerError } from "../errors.ts";
import { flag, flagBool, flagInt, flagList, parseFlags, parseId, type FlagSpec } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { autoMaps, rootAutoMaps, needsHelper, singleMaps, subRange, userName, SUB_ID_FILES, type IdMaps } from "../container/idmap.ts";
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
import { type ImageUser, userFromFiles } from "../image/image-user.ts";
import type { DriverChoice } from "../image/driver.ts";
import { closeFd, forwardSignals, supervise } from "../sys/shim.ts";
import { createCgroup, oomMessage, RESOURCE_FLAGS, resourcesFromParsed } from "../cgroup/index.ts";
import { saveCgroupPath } from "../cgroup/state.ts";
import { mark, timingLine } from "../timing.ts";
import { normalJit } from "../jit.ts";

export const FLAGS: FlagSpec[] = [
  { names: ["rootfs"], value: true },
  { names: ["env", "e"], value: true, multi: true },
  { names: ["env-file"], value: true, multi: true },
  { names: ["workdir", "w"], value: true },
  { names: ["user", "u"], value: true },
  { names: ["hostname", "h"], value: true },
  { names: ["tty", "t"] },
  { names: ["interactive", "i"] },
  { names: ["init"] },
  { names: ["volume", "v"], value: true, multi: true },
  { names: ["mount"], value: true, multi: true },
  { names: ["tmpfs"], value: true, multi: true },
  { names: ["read-only"] },
  { names: ["network", "net"], value: true },
  { names: ["userns"], value: true },
  { names: ["preserve-fds"], value: true },
  { names: ["no-pivot"] },
  { names: ["rm"] },
  { names: ["name"], value: true },
  { names: ["entrypoint"], value: true },
  { names: ["detach", "d"] },
  { names: ["log-opt"], value: true, multi: true },
  { names: ["pull"], value: true },
  { names: ["cgroup-parent"], value: true },
  { names: ["cap-add"], value: true, multi: true },
  { names: ["cap-drop"], value: true, multi: true },
  { names: ["privileged"] },
  { names: ["security-opt"], value: true, multi: true },
  ...RESOURCE_FLAGS,
  { names: ["help"] },
];

const HELP = `usage: bunker run [OPTIONS] --rootfs DIR|host [--] CMD [ARG...]
       bunker run [OPTIONS] IMAGE [CMD [ARG...]]
       bunker run -b BUNDLE [-d] [--pid-file F] [--console-socket S] [--keep] ID   (runc's run)

runc's form is chosen when -b/--bundle, --console-socket, --pid-file, --keep,
--no-new-keyring or --no-subreaper comes before the first argument; anything
else is the docker form, wherever it runs (in a bundle directory: -b . ID).

  --rootfs DIR|host     the container's root directory; "host" = sandbox of the host's
                        /usr, /bin, /lib*, /etc (read-only), private /tmp, cwd read-write
  -e, --env K=V         set an environment variable (K alone: take it from bunker's env)
  --env-file FILE       read K=V lines
  -w, --workdir DIR     working directory inside the container
  -u, --user UID[:GID]  user (numbers, or names from the rootfs's /etc/passwd)
  -h, --hostname NAME   hostname (default: the container id)
  -t, --tty             allocate a pseudo-terminal
  -i, --interactive     keep stdin open (without it stdin is /dev/null)
  --init                run a tiny init as PID 1 that reaps zombies and forwards signals
  -v, --volume H:C[:ro] bind mount host path H (absolute) at C; NAME:C[:ro] mounts the
                        named volume NAME (made when missing, filled from the image's C
                        the first time); -v C alone: an anonymous volume (also for each
                        of the image's VOLUME paths), removed with the container (rm -v)
  --mount type=bind,src=H,dst=C[,readonly][,bind-propagation=P]
  --mount type=volume[,src=NAME],dst=C[,readonly][,volume-nocopy]
  --mount type=tmpfs,dst=C[,tmpfs-size=64m][,tmpfs-mode=1777]
  --tmpfs PATH[:OPTS]   mount a tmpfs (OPTS like size=64m,mode=1777)
  --read-only           mount the root read-only
  --net, --network none|host   default none: a new network namespace with only lo
  --userns single|auto  single (default): your uid is root, nothing else is mapped;
                        auto: 0 -> you, 1..65536 -> your /etc/subuid range (newuidmap);
                        as root with --rootfs, auto maps 0..65535 to root's /etc/subuid
                        range (or the "containers" user's): the container's root is not
                        host root; as root with an IMAGE, 0..65536 map to themselves
  --preserve-fds N      pass file descriptors 3..3+N-1 to the command
  --no-pivot            use MS_MOVE + chroot instead of pivot_root
  -d, --detach          run in the background: prints the id; output goes to
                        'bunker logs ID'; 'bunker ps', 'stop', 'rm' manage it
  --rm                  (-d) remove the container when it exits (a foreground run always is)
  --name NAME           the container's id (default: 12 random hex digits)
  --log-opt max-size=SIZE   (-d) rotate the log when it would pass SIZE (default 10m; -1: never)
  --log-opt max-file=N      (-d) keep N files: log, log.1 .. log.N-1 (default 3)
  --entrypoint CMD      (IMAGE) replace the image's Entrypoint ("" clears it)
  --pull missing|never|always   (IMAGE) when to pull (default missing)

confinement.  By default, as Docker: 14 capabilities (CHOWN DAC_OVERRIDE FOWNER
FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
AUDIT_WRITE SETFCAP) in the bounding, permitted and effective sets, none
inheritable or ambient, none at all for a non-root -u; no_new_privs; Docker's
seccomp profile (EPERM, clone3 ENOSYS); /proc/kcore, /proc/keys, … /sys/firmware
masked.  /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus, /proc/fs are
read-only in every case.  'bunker state ID' shows what a container got.
  --cap-add CAP         add a capability (NET_ADMIN or CAP_NET_ADMIN; ALL = every one)
  --cap-drop CAP        drop a capability (ALL = start from none, then --cap-add)
  --privileged          every capability, no seccomp filter, nothing masked; still in
                        the container's user namespace (capabilities over its own
                        namespaces, none over the host's); with CAP_SYS_ADMIN every
                        mount is locked: read-only stays read-only
  --security-opt no-new-privileges[=true|false]   (default true)
  --security-opt seccomp=unconfined|FILE   no filter, or a Docker or OCI JSON profile;
                        SCMP_ACT_NOTIFY rules send the listener to its listenerPath agent
  --security-opt systempaths=unconfined    do not mask /proc/kcore, /sys/firmware, …

With an IMAGE the root is an overlay of its layers (nothing is copied) with a
private writable layer on a tmpfs of its own (memory, counted in the container's
cgroup; on disk in the state dir before Linux 6.6), gone at exit, or a private copy where overlay cannot
be mounted in a user namespace (bunker --storage-driver overlay|copy forces
one; bunker check says which is used); Env, WorkingDir, User, Entrypoint and
Cmd come from the image; the user namespace defaults to --userns=auto when you
have a /etc/subuid range, and the image's files then belong to their image
owners.  With --userns=single such files of non-root owners show as nobody
(65534) and only their read/execute permissions for others apply.

resources (cgroup v2; an error, never silence, when they cannot be applied):
  -m, --memory SIZE     memory.max (512m, 1g, …)
  --memory-reservation SIZE    memory.low
  --memory-swap SIZE    memory + swap (-1: unlimited swap; default: twice --memory)
  --cpus N              cpu.max quota, e.g. 1.5
  --cpu-shares N        relative weight, v1 scale (2..262144, default 1024)
  --cpu-weight N        cpu.weight (1..10000, default 100)
  --cpuset-cpus LIST    cpuset.cpus, e.g. 0-1
  --pids-limit N        pids.max (-1: unlimited)
  --io-weight N         io.weight (1..10000)
  --oom-kill-group=false  on OOM kill only the chosen process, not the whole container
  --cgroup-parent PATH  create the container's cgroup below PATH (absolute: from the
                        cgroup2 mount; relative: from bunker's own cgroup)`;

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
    throw new BunkerError("run: cannot read --env-file", { errno: (e as { code?: string }).code ?? "EIO", path: file });
  }
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map(expandEnv);
}

/** "K" alone takes K from bunker's own environment, as docker does */
function expandEnv(e: string): string {
  return e.includes("=") ? e : `${e}=${process.env[e] ?? ""}`;
}

/** UID[:GID] with numbers, or names looked up in the rootfs's /etc/passwd and /etc/group */
export function parseUser(spec: string, etc: string | undefined): { uid: number; gid: number } {
  const [u, g] = spec.split(":");
  const lookup = (file: string, name: string, col: number) => {
    if (/^\d+$/.test(name)) return { id: parseId(name, "run: --user"), gid: undefined as number | undefined };
    try {
      for (const line of readFileSync(`${etc}/${file}`, "utf8").split("\n")) {
        const f = line.split(":");
        // the rootfs's own /etc files: a malformed line is its error, not a NaN id
        if (f[0] === name) return { id: parseId(f[col] ?? "", `run: ${etc}/${file}: ${name}`), gid: file === "passwd" ? parseId(f[3] ?? "", `run: ${etc}/${file}: ${name}`) : undefined };
      }
    } catch (e) {
      if (e instanceof BunkerError) throw e; // else no such file: fall through
    }
    throw new BunkerError(`run: unknown ${file === "passwd" ? "user" : "group"} "${name}"`, { errno: "ENOENT", path: etc ? `${etc}/${file}` : undefined, fix: "use a numeric id" });
  };
  const user = lookup("passwd", u!, 2);
  const gid = g !== undefined ? lookup("group", g, 2).id : (user.gid ?? user.id);
  return { uid: user.id, gid };
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
  if (flagBool(p, "help")) {
    console.log(HELP);
    return 0;
  }
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
      throw new BunkerError("run: rootfs does not exist", { errno: (e as { code?: string }).code ?? "ENOENT", path: rootfs, fix: "pass --rootfs an extracted root filesystem, or --rootfs host" });
    }
    if (!st.isDirectory()) throw new BunkerError("run: rootfs is not a directory", { errno: "ENOTDIR", path: rootfs });
  }

  const uid = process.getuid!(), gid = process.getgid!();
  // an image's files and users need more than one id: auto when this user has a range (as podman)
  const userns = flag(p, "userns") ?? (image && uid !== 0 && subRange("/etc/subuid", uid) ? "auto" : "single");
  let maps: IdMaps;
  // root's IMAGE keeps autoMaps' identity map: the store's layer files carry the image's own ids on the host
  if (userns === "auto") maps = uid === 0 && !image ? rootAutoMaps(readText("/etc/subuid"), readText("/etc/subgid")) : autoMaps(uid, gid);
  else if (userns === "single" || userns === "") maps = singleMaps(uid, gid);
  else throw new BunkerError(`run: unknown --userns "${userns}"`, { errno: "EINVAL", fix: "use --userns=single or --userns=auto" });

  const network = flag(p, "network") ?? "none";
  if (network !== "none" && network !== "host") throw new BunkerError(`run: unsupported --network "${network}"`, { errno: "EINVAL", fix: "use --network none or --network host" });

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
    : flag(p, "user") ? parseUser(flag(p, "user")!, host ? "/etc" : `${rootfs}/etc`) : { uid: 0, gid: 0 };
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
  const sr = stateRoot(g);
  if (sr.note && g.debug) console.error(`bunker: debug: ${sr.note}`);
  const dir = `${sr.dir}/${id}`;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") throw new BunkerError(`run: a container named "${id}" already exists`, { errno: "EEXIST", path: dir, fix: "choose another --name, or 'bunker delete --force' it" });
    throw new BunkerError("run: cannot create the container's state directory", { errno: (e as { code?: string }).code, path: dir });
  }
  // root with a subordinate map: the container's root (not host root) binds /etc files from here
  const hostRootOfContainer = maps.uid.find((m) => m.containerID === 0)?.hostID;
  const subordinateRoot = uid === 0 && hostRootOfContainer !== undefined && hostRootOfContainer !== 0;
  if (subordinateRoot) chmodSync(dir, 0o711);
  let keep = false; // a detached container keeps its state dir until `bunker rm`
  let logWriter: LogWriter | undefined;
  let volumeUse: VolumeUse | undefined;
  try {
    // volumes made (and recorded as this container's) before anything can fail and leave them unrecorded
    const mounts = attachMounts(mountRequests, g.dataRoot ?? defaultDataRoot(), !!image, (use) => recordVolumeUse(dir, (volumeUse = use)));
    const etcFiles = writeEtcFiles(dir, hostname, host ? "/etc" : image ? undefined : `${rootfs}/etc`);
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
    const plan = buildPlan(spec, {
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
    });
    mark("plan built");
    if (g.debug) {
      for (const op of plan.ops) console.error(`bunker: debug: plan: ${JSON.stringify(op, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
      mark("plan printed (--debug)");
    }
    checkUserMapped(user, maps);
    // subordinate ids: join bunker's shared user namespace rather than run newuidmap/newgidmap again
    const shared = needsHelper(maps, uid, gid) && sharedUsernsEnabled() ? sharedUserns(maps, debug) : undefined;
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
          run: { image: imageRef ?? (host ? "host" : rootfs), command: args, maps, stopSignal: image?.config.StopSignal, confinement: confinement.summary },
        });
      let c;
      try {
        const seccompListener = seccompAgent(spec.linux?.seccomp, (pid) => ({ ociVersion: spec.ociVersion, id, status: "creating", pid, bundle: dir, annotations: spec.annotations ?? {} }), debug);
        c = await launch(plan, { maps, debug, cgroup: cg ?? undefined, record, seccompListener });
      } finally {
        if (shared) closeFd(shared.fd);
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
      return st.signal ? 128 + st.signal : st.code;
    } finally {
      if (!keepCgroup) cg?.remove();
    }
  } finally {
    if (logWriter) closeFd(logWriter.fd); // the container holds the pipe now (if it started): the writer ends with it
    if (!keep) {
      if (logWriter) endLogWriter(dir);
      await removeOwnedTree(dir, maps);
      if (volumeUse) await removeAnonymousVolumes(volumeUse, maps, (m) => process.stderr.write(`${m}\n`));
    }
  }
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
  resolveUser(user: string | undefined): { uid: number; gid: number; additionalGids: number[] };
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
      resolveUser: (u) => (u === cached.config.User && cached.user ? cached.user : userFromFiles(cached.passwd, cached.group, u)),
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
    let user: ImageUser | undefined;
    try {
      user = userFromFiles(passwd, group, img.config.User);
    } catch {
      /* a User the image does not define: each run reports it */
    }
    writeLaunchRecord(dataRoot, { ref, id: img.id, lowerDirs: img.lowerDirs, config: img.config, notes: img.notes, passwd, group, user });
  }
  return {
    ...img,
    storage,
    flatten: (dest, maps) => flatten(img.id, dest, maps),
    resolveUser: (u) => userFromFiles(passwd, group, u),
  };
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
export function checkUserMapped(user: { uid: number; gid: number }, maps: IdMaps, uid = process.getuid!(), subuid = SUB_ID_FILES.subuid): void {
  const inside = (m: IdMaps["uid"], id: number) => m.some((x) => id >= x.containerID && id < x.containerID + x.size);
  if (!inside(maps.uid, user.uid) || !inside(maps.gid, user.gid)) {
    const name = userName(uid) ?? String(uid);
    const hint = subRange(subuid, uid)
      ? "add --userns=auto"
      : `your user has no subordinate ids for it: as root, usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}, then add --userns=auto; or run as the container's root: -u 0`;
    throw new BunkerError(`run: user ${user.uid}:${user.gid} is not mapped in the container's user namespace`, { errno: "EINVAL", fix: hint });
  }
}

/**
 * /etc/hostname, /etc/hosts, /etc/resolv.conf for the container, written to its
 * state dir and bound over the rootfs's files so the rootfs is never modified.
 * A file the rootfs has as a symlink is left alone; a missing one gets an empty
 * mount point (as runc does) when /etc exists.
 */
function writeEtcFiles(dir: string, hostname: string, etc: string | undefined): Record<string, string> {
  let resolv = "nameserver 127.0.0.1\n";
  try {
    resolv = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    /* keep the default */
  }
  const files: Record<string, string> = {
    hostname: `${hostname}\n`,
    hosts: `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    "resolv.conf": resolv,
  };
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
