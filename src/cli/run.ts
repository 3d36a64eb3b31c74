// bunker run [OPTIONS] --rootfs DIR|host [--] CMD [ARG...], bunker run [OPTIONS] IMAGE [CMD...]:
// the flags as a RunRequest for the engine (src/container/run.ts), its result as the exit status
import { readFileSync } from "../sys/fs-sync.ts";
import { BunkerError, fromSysError } from "../errors.ts";
import { flag, flagBool, flagInt, flagList, flagMap, parseFlags, parseLabels, type FlagSpec, type Parsed } from "./args.ts";
import { parseRestartFlag } from "../container/restart-policy.ts";
import { tlsVerifyOff } from "./registry-flags.ts";
// the engine statically: a second import() would be a second pass of the module
// loader over its ~25 chunks (~0.3 ms of a run; an OCI `run -b` loads most of it too)
import { runContainer, type RunRequest } from "../container/run.ts";
import type { GlobalOptions } from "./global.ts";
import { parseMountFlag, parseVolumeFlag, type MountRequest } from "../volume/spec.ts";
import { RESOURCE_FLAGS, resourcesFromParsed } from "./resource-flags.ts";
import { parsePublish } from "../net/ports.ts";
import { parseAddHost, parseDns } from "../net/etc.ts";
import { runtimeContext } from "./context.ts";
import { mark } from "../timing.ts";

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
  { names: ["network", "net"], value: true, help: "MODE  none|host|pasta[:OPTS]|slirp4netns[:OPTS]|container:ID|NAME (a user network; default: slirp4netns\n(else pasta) for an IMAGE or with -p, else none; see \"networks\" below)" },
  { names: ["network-alias"], value: true, multi: true, help: "NAME  another name of the container on its user network" },
  { names: ["ip"], value: true, help: "IP  the container's address on its user network (default: the first free one)" },
  { names: ["publish", "p"], value: true, multi: true, help: "[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]  publish a port (HOSTIP: 0.0.0.0\nby default, or 127.0.0.1); -p CTRPORT: a free host port\n('bunker port ID' shows it); a port in use fails before start;\non a user network TCP only, through bunker's port proxy" },
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
  { names: ["restart"], value: true, help: "no|on-failure[:N]|always|unless-stopped  (-d, create) start it again when it\nexits (on-failure: with a status other than 0, at most N times), after\nDocker's back-off (100 ms doubling to 1 min); stop, kill and rm end it;\nkept by the container's log writer, no server needed; a starting\n`bunker serve` starts always ones again, stopped by hand or not" },
  { names: ["label", "l"], value: true, multi: true, help: "K=V  a label of the container (ps --filter label=K=V, inspect)" },
  { names: ["entrypoint"], value: true, help: "CMD  (IMAGE) replace the image's Entrypoint (\"\" clears it)" },
  { names: ["detach", "d"], help: "run in the background: prints the id; output goes to\n'bunker logs ID'; 'bunker ps', 'stop', 'rm' manage it" },
  { names: ["log-opt"], value: true, multi: true, help: "max-size=SIZE|max-file=N  (-d) rotate the log when it would pass SIZE\n(default 10m; -1: never); keep N files: log, log.1 .. log.N-1 (default 3)" },
  { names: ["pull"], value: true, help: "missing|never|always  (IMAGE) when to pull (default missing)" },
  { names: ["tls-verify"], value: true, help: "=false  (IMAGE) pull over plain HTTP or from an untrusted certificate" },
  { names: ["cgroup-parent"], value: true, help: "PATH  create the container's cgroup below PATH (absolute: from the\ncgroup2 mount; relative: from bunker's own cgroup)" },
  { names: ["cap-add"], value: true, multi: true, help: "CAP  add a capability (NET_ADMIN or CAP_NET_ADMIN; ALL = every one)" },
  { names: ["cap-drop"], value: true, multi: true, help: "CAP  drop a capability (ALL = start from none, then --cap-add)" },
  { names: ["privileged"], help: "every capability, no seccomp filter, nothing masked; still in\nthe container's user namespace (capabilities over its own\nnamespaces, none over the host's); with CAP_SYS_ADMIN every\nmount is locked: read-only stays read-only" },
  { names: ["security-opt"], value: true, multi: true, help: "OPT  no-new-privileges[=true|false] (default true);\nseccomp=unconfined|FILE: no filter, or a Docker or OCI JSON profile\n(SCMP_ACT_NOTIFY rules send the listener to its listenerPath agent);\nsystempaths=unconfined: do not mask /proc/kcore, /sys/firmware, …" },
  ...RESOURCE_FLAGS,
];

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
  // plain loops: filter, flatMap and map are builtins written in JavaScript, each one's first call costs (run's
  // path); the flags given are looked up in FLAGS, no set of all their names is built (~0.1 ms of a run)
  const takesValue = (arg: string) => {
    const long = arg.startsWith("--"), bare = arg.slice(long ? 2 : 1);
    for (const f of FLAGS) if (f.value) for (const n of f.names) if (n === bare && (n.length === 1) !== long) return true;
    return false;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--" || !a.startsWith("-") || a === "-") return false;
    const name = a.startsWith("--") && a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (OCI_RUN_FLAGS.has(name)) return true;
    if (!a.includes("=") && takesValue(name)) i++;
  }
  return false;
}

export default async function run(argv: string[], g: GlobalOptions): Promise<number> {
  mark("run loaded");
  if (isOciRun(argv)) return (await import("./oci-run.ts")).default(argv, g);
  const p = parseFlags(argv, FLAGS, "run");
  const req = runRequest(p, "run");
  mark("flags parsed");
  const r = await runContainer(runtimeContext(g), req);
  if (r.exitCode === 0 && req.detach) console.log(r.id);
  if (r.oomKilled) console.error(`bunker: ${r.oomKilled}`);
  return r.exitCode;
}

/** run's (and docker-style create's) flags as the engine's request */
export function runRequest(p: Parsed, verb: string): RunRequest {
  const rootfs = flag(p, "rootfs");
  const env: string[] = [];
  for (const f of flagList(p, "env-file")) env.push(...readEnvFile(f));
  for (const e of flagList(p, "env")) env.push(expandEnv(e));
  const { resources, oomKillGroup } = resourcesFromParsed(p);
  const tty = flagBool(p, "tty");
  const restartFlag = flag(p, "restart");
  return {
    rootfs,
    image: rootfs ? undefined : p.rest[0],
    pull: flag(p, "pull"),
    insecure: tlsVerifyOff(p),
    command: rootfs ? p.rest : p.rest.slice(1),
    entrypoint: flag(p, "entrypoint"),
    env,
    workdir: flag(p, "workdir"),
    user: flag(p, "user"),
    hostname: flag(p, "hostname"),
    tty,
    interactive: flagBool(p, "interactive"),
    // -d with -t or -i: bunker attach talks to the log writer that holds them
    attachable: true,
    consoleSize: tty && process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined,
    init: flagBool(p, "init"),
    mounts: [
      ...flagMap(p, "volume", parseVolumeFlag),
      ...flagMap(p, "mount", parseMountFlag),
      ...flagMap(p, "tmpfs", (t): MountRequest => {
        const [dest, opts] = [t.split(":")[0]!, t.split(":").slice(1).join(":")];
        if (!dest.startsWith("/")) throw new BunkerError(`${verb}: --tmpfs path must be absolute`, { errno: "EINVAL", path: dest });
        return { type: "tmpfs", destination: dest, options: opts ? opts.split(",") : [] };
      }),
    ],
    readOnly: flagBool(p, "read-only"),
    network: flag(p, "network"),
    networkAliases: flagList(p, "network-alias"),
    ip: flag(p, "ip"),
    publish: flagMap(p, "publish", parsePublish),
    publishAll: flagBool(p, "publish-all"),
    addHosts: flagMap(p, "add-host", parseAddHost),
    dns: flagMap(p, "dns", parseDns),
    dnsSearch: flagList(p, "dns-search"),
    dnsOptions: flagList(p, "dns-option"),
    userns: flag(p, "userns"),
    preserveFds: flagInt(p, "preserve-fds", verb) ?? 0,
    noPivot: flagBool(p, "no-pivot"),
    rm: flagBool(p, "rm"),
    name: flag(p, "name"),
    detach: flagBool(p, "detach"),
    logOptions: flagList(p, "log-opt"),
    cgroupParent: flag(p, "cgroup-parent"),
    resources,
    oomKillGroup,
    security: { capAdd: flagList(p, "cap-add"), capDrop: flagList(p, "cap-drop"), privileged: flagBool(p, "privileged"), securityOpts: flagList(p, "security-opt") },
    labels: parseLabels(flagList(p, "label"), verb),
    restart: restartFlag === undefined ? undefined : parseRestartFlag(restartFlag),
  };
}
