// bunker: argv -> command.  Commands are imported lazily so `bunker run`
// does not pay for parsing the image or OCI code.
import { BunkerError, fromSysError } from "./errors.ts";
import type { Command, GlobalOptions } from "./cli/global.ts";
import { commands, runCommand } from "./cli/commands.ts";
import { USAGE } from "./cli/usage.ts";
import { mark } from "./timing.ts";
import { normalJit } from "./jit.ts";
import { VERSION } from "./version.ts";

mark("main");


/** the image store's commands: long loops, the normal JIT (src/jit.ts) */
const LONG_WORK = new Set(["pull", "load", "save", "images", "rmi", "image", "serve"]);



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
