// bunker: argv -> command.  Commands are imported lazily so `bunker run`
// does not pay for parsing the image or OCI code.
import { BunkerError, fromSysError } from "./errors.ts";
import type { Command, GlobalOptions } from "./cli/global.ts";
import { commands, runCommand } from "./cli/commands.ts";
import { mark } from "./timing.ts";
import { normalJit } from "./jit.ts";
import { VERSION } from "./version.ts";

mark("main");


/** the image store's commands: long loops, the normal JIT (src/jit.ts) */
const LONG_WORK = new Set(["pull", "load", "save", "images", "rmi", "image", "serve"]);

const USAGE = `usage: bunker [--debug] [--root DIR] COMMAND [ARGS...]

commands:
  run       run a command in a new container (--rootfs DIR|host), or an OCI bundle (-b DIR ID)
  check     check what this machine and user can do
  create    create a container from an OCI bundle (runc-compatible), or from an IMAGE (run's flags)
  start     start a created container (docker-style: a stopped one again)
  state     print a container's state (JSON)
  kill      send a signal to a container
  delete    delete a container
  exec      run a process in a running container
  list      list containers
  ps        list containers (docker-style), or a container's processes (ps ID)
  port      a container's published ports (run -p)
  features  print the runtime's features (JSON)
  spec      write a default config.json (--rootless)
  pause, resume   freeze and thaw a container (cgroup.freeze)
  update    change a running container's limits
  stats, events   resource usage (cgroup v2)
  logs      output of a detached container (run -d)
  top       a container's processes (as ps ID)
  export    a running container's root as a tar on stdout
  commit    a new image of a container's changes (--change 'CMD …')
  diff      what a container added, changed and deleted (A, C, D)
  stop      stop a container (its stop signal, then SIGKILL)
  rm        remove detached containers (-v: and their anonymous volumes)
  volume    named volumes: create, ls, inspect, rm, prune, export
  network   user networks: create, ls, inspect, rm, prune (run --network NAME)
  unshare   run a command in a user namespace with your containers' id map (podman unshare)
  pull, push, load, save, images, rmi, tag, build, inspect, login, image   the image store
  pull      pull an image from a registry
  push      push an image to a registry
  load      load images from a docker save / OCI archive (-i FILE)
  save      save images to a docker-archive (-o FILE)
  images    list images
  rmi       remove images
  inspect   print a container's or an image's details (JSON, or --format TEMPLATE)
  tag       give an image another name
  build     build an image from a Dockerfile (rootless, no daemon; cached steps)
  login     store credentials for a registry
  image     image subcommands (ls, rm, inspect, tag, load, save, pull, push, prune)
  serve     the Docker Engine API on a unix socket (DOCKER_HOST=unix://…; root-equivalent for you)
  version   print the version

global options: --debug (notes; run ends them with the time of each start-up step),
  --root DIR (containers' state), --data-root DIR (image store),
  --storage-driver overlay|copy (how run IMAGE makes the root; default: overlay when the
  kernel allows it in a user namespace, else copy; also $BUNKER_STORAGE_DRIVER),
  --cgroup-manager cgroupfs|systemd|disabled

Errors are one line on stderr: exit 125 (126/127: the program cannot be run or is not found).
config.json, --process and --resources files, manifests, image configs and archive indexes
are read within size and nesting bounds (README: Untrusted input) and checked field by field.

Run 'bunker COMMAND --help' for a command's flags.`;

/** `bunker serve` as a command: src/cli/serve.ts given src/api's server */
async function serveCommand(): Promise<{ default: Command }> {
  const [{ serve }, { startApiServer }] = await Promise.all([import("./cli/serve.ts"), import("./api/index.ts")]);
  return { default: (argv, g) => serve(argv, g, startApiServer) };
}

const g: GlobalOptions = { debug: false, logFormat: "text" };

// node:fs and the error reporter (which loads it) are imported when needed:
// loading node:fs costs ~150 page faults, a third of --version's time above Bun's floor
async function createLog(path: string): Promise<void> {
  const { closeSync, openSync } = await import("node:fs");
  try {
    closeSync(openSync(path, "a", 0o600));
  } catch (e) {
    throw fromSysError("cannot open --log", e, { path, fix: "give a writable path (its directory must exist)" });
  }
}

async function main(argv: string[]): Promise<number> {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (name === "--debug") g.debug = true;
    else if (name === "--root") g.root = value();
    else if (name === "--log") g.log = value();
    else if (name === "--log-format") g.logFormat = value() === "json" ? "json" : "text";
    else if (name === "--data-root") g.dataRoot = value();
    else if (name === "--storage-driver") g.storageDriver = value() ?? "";
    else if (name === "--cgroup-manager") g.cgroupManager = value() as GlobalOptions["cgroupManager"];
    else if (name === "--systemd-cgroup") g.cgroupManager = "systemd";
    else if (name === "--rootless") value();
    else if (name === "--version" || name === "-v" || name === "version") {
      console.log(`bunker version ${VERSION}\nspec: 1.2.0`);
      return 0;
    } else if (name === "--help" || name === "-h" || name === "help") {
      console.log(USAGE);
      return 0;
    } else break;
  }
  // runc opens --log at start: the file exists afterwards, even when nothing was logged
  if (g.log) await createLog(g.log);
  const cmd = argv[i];
  if (!cmd) {
    console.error(USAGE);
    return 125;
  }
  if (LONG_WORK.has(cmd)) normalJit();
  // serve: the CLI's flags and src/api's server, which the CLI does not import
  if (cmd === "serve") return runCommand(cmd, argv.slice(i + 1), g, serveCommand);
  if (!commands[cmd]) throw new BunkerError(`unknown command "${cmd}"`, { errno: "EINVAL", fix: "run 'bunker --help' for the list" });
  return runCommand(cmd, argv.slice(i + 1), g);
}

/** ERR as the user's one line, then exit with its code */
async function fail(err: unknown): Promise<never> {
  const { reportError } = await import("./cli/report.ts");
  process.exit(reportError(err, g));
}

// an exception that escapes main (a callback, a stream) still ends in one line and exit 125
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

main(process.argv.slice(2)).then((code) => process.exit(code), fail);
