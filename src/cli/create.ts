// bunker create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID: OCI's;
// bunker create [run's flags] IMAGE [CMD...] | --rootfs DIR CMD...: docker's (set up now, `bunker start` runs it)
import { flag, flagBool, flagInt, HelpRequest, parseFlags, type Parsed } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { create, type CreateRequest } from "../container/oci-create.ts";
import { checkId } from "../container/state.ts";
import { runtimeContext } from "./context.ts";
import { mark } from "../timing.ts";
// run's flags (docker's form) are imported for docker's form and --help only: OCI's create loads
// none of run's request code

export const CREATE_FLAGS = [
  { names: ["bundle", "b"], value: true, help: "DIR  the bundle: config.json and its root (default: the current directory)" },
  { names: ["pid-file"], value: true, help: "FILE  write the container's init pid to FILE" },
  { names: ["console-socket"], value: true, help: "SOCKET  send the pty's master (process.terminal) to the AF_UNIX socket SOCKET" },
  { names: ["no-pivot"], help: "use MS_MOVE + chroot instead of pivot_root" },
  { names: ["no-new-keyring"], help: "keep the caller's session keyring (accepted: bunker never makes one)" },
  { names: ["preserve-fds"], value: true, help: "N  pass file descriptors 3..3+N-1 to the process" },
];

/** create's flags (shared with runc-style run) as the engine's request */
export function createRequest(p: Parsed, id: string, cmd: string): CreateRequest {
  return {
    id,
    bundle: flag(p, "bundle"),
    pidFile: flag(p, "pid-file"),
    consoleSocket: flag(p, "console-socket"),
    noPivot: flagBool(p, "no-pivot"),
    preserveFds: flagInt(p, "preserve-fds", cmd),
  };
}

/** OCI's flags that run has not (and that docker's create has not) */
const OCI_ONLY = new Set(["-b", "--bundle", "--pid-file", "--console-socket", "--no-new-keyring"]);

/** ARGV[I] asks for help: --help, or -h with nothing after it (else -h is docker's --hostname) */
function isHelp(argv: string[], i: number): boolean {
  return argv[i] === "--help" || (argv[i] === "-h" && i === argv.length - 1);
}

/**
 * OCI's `create [FLAGS] ID` or docker's `create [FLAGS] IMAGE [CMD...]`:
 * docker's when a flag only run has comes first (--name, -e, --rootfs, …)
 * or more than one argument is given; OCI's otherwise, whatever the directory holds
 */
export function isDockerCreate(argv: string[]): boolean {
  // plain loops: filter, flatMap and map are builtins written in JavaScript whose first calls
  // cost (flatMap up to 0.25 ms), and every OCI create asks this
  const dashed = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
  // a flag that is not OCI's makes it docker's at once: only OCI's flags are stepped over, with their values
  const valued = new Set<string>(), ociNames = new Set<string>();
  for (const f of CREATE_FLAGS) for (const n of f.names) {
    ociNames.add(dashed(n));
    if (f.value) valued.add(dashed(n));
  }
  let positional = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return argv.length - i - 1 + positional > 1;
    if (!a.startsWith("-") || a === "-") {
      positional++;
      continue;
    }
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (OCI_ONLY.has(name) || isHelp(argv, i)) return false;
    if (!ociNames.has(name)) return true;
    if (valued.has(name) && !a.includes("=")) i++;
  }
  return positional > 1;
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  mark("create loaded");
  if (isDockerCreate(argv)) {
    const [{ FLAGS, runRequest }, { createContainer }] = await Promise.all([import("./run.ts"), import("../container/run.ts")]);
    const p = parseFlags(argv, FLAGS.filter((f) => !f.names.includes("detach")), "create");
    console.log(await createContainer(runtimeContext(g), runRequest(p, "create")));
    return 0;
  }
  // --help: both forms' flags (create's usage says which form is which)
  let help = false;
  for (let i = 0; i < argv.length; i++) help ||= isHelp(argv, i);
  if (help) throw new HelpRequest("create", [...CREATE_FLAGS, ...(await import("./run.ts")).FLAGS.filter((f) => !f.names.includes("detach") && !CREATE_FLAGS.some((c) => c.names[0] === f.names[0]))]);
  const p = parseFlags(argv, CREATE_FLAGS, "create", false);
  const id = checkId(p.rest[0], "create");
  mark("flags parsed");
  await create(runtimeContext(g), createRequest(p, id, "create"));
  return 0;
}
