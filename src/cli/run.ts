// bunker run [OPTIONS] --rootfs DIR|host [--] CMD [ARG...], bunker run [OPTIONS] IMAGE [CMD...]:
// the flags as a RunRequest for the engine (src/container/run.ts), its result as the exit status
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BunkerError } from "../errors.ts";
import { flag, flagBool, flagInt, flagList, parseFlags, type FlagSpec } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import type { Volume } from "../oci/run-spec.ts";
import { RESOURCE_FLAGS, resourcesFromParsed } from "./resource-flags.ts";
import { runtimeContext } from "./context.ts";
import { mark } from "../timing.ts";

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
  -v, --volume H:C[:ro] bind mount host path H at C
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

function parseVolume(spec: string): Volume {
  const parts = spec.split(":");
  const readonly = parts.length === 3 && parts[2] === "ro";
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !["ro", "rw"].includes(parts[2]!)))
    throw new BunkerError(`run: invalid volume "${spec}"`, { errno: "EINVAL", fix: "use -v HOST:CONTAINER[:ro]" });
  const source = resolve(parts[0]!);
  if (!parts[1]!.startsWith("/")) throw new BunkerError(`run: volume destination must be absolute`, { errno: "EINVAL", path: parts[1] });
  if (!existsSync(source)) throw new BunkerError("run: volume source does not exist", { errno: "ENOENT", path: source, fix: "create it first (mkdir -p)" });
  return { source, destination: parts[1]!, readonly };
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
  const rootfs = flag(p, "rootfs");
  const env: string[] = [];
  for (const f of flagList(p, "env-file")) env.push(...readEnvFile(f));
  env.push(...flagList(p, "env").map(expandEnv));
  const { resources, oomKillGroup } = resourcesFromParsed(p);
  const tty = flagBool(p, "tty");
  mark("flags parsed");
  const { runContainer } = await import("../container/run.ts");
  const r = await runContainer(runtimeContext(g), {
    rootfs,
    image: rootfs ? undefined : p.rest[0],
    pull: flag(p, "pull"),
    command: rootfs ? p.rest : p.rest.slice(1),
    entrypoint: flag(p, "entrypoint"),
    env,
    workdir: flag(p, "workdir"),
    user: flag(p, "user"),
    hostname: flag(p, "hostname"),
    tty,
    interactive: flagBool(p, "interactive"),
    consoleSize: tty && process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined,
    init: flagBool(p, "init"),
    volumes: flagList(p, "volume").map(parseVolume),
    tmpfs: flagList(p, "tmpfs").map((t) => {
      const [dest, opts] = [t.split(":")[0]!, t.split(":").slice(1).join(":")];
      if (!dest.startsWith("/")) throw new BunkerError("run: --tmpfs path must be absolute", { errno: "EINVAL", path: dest });
      return { destination: dest, options: opts ? opts.split(",") : [] };
    }),
    readOnly: flagBool(p, "read-only"),
    network: flag(p, "network"),
    userns: flag(p, "userns"),
    preserveFds: flagInt(p, "preserve-fds", "run") ?? 0,
    noPivot: flagBool(p, "no-pivot"),
    rm: flagBool(p, "rm"),
    name: flag(p, "name"),
    detach: flagBool(p, "detach"),
    logOptions: flagList(p, "log-opt"),
    cgroupParent: flag(p, "cgroup-parent"),
    resources,
    oomKillGroup,
    security: { capAdd: flagList(p, "cap-add"), capDrop: flagList(p, "cap-drop"), privileged: flagBool(p, "privileged"), securityOpts: flagList(p, "security-opt") },
  });
  if (flagBool(p, "detach")) console.log(r.id);
  if (r.oomKilled) process.stderr.write(`bunker: ${r.oomKilled}\n`);
  return r.exitCode;
}
