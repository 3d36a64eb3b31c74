// bunker exec [-t] [-d] [--pid-file F] [--process FILE] [--console-socket S] [-e K=V] [--cwd D] [-u U[:G]] [--preserve-fds N] ID [CMD...]
import { readBounded } from "../json.ts";
import { flag, flagBool, flagInt, flagList, parseFlags } from "./args.ts";
import { parseId } from "../sys/idmap.ts";
import type { GlobalOptions } from "./global.ts";
import { execInContainer, type ExecCommand } from "../container/lifecycle.ts";
import { checkId } from "../container/state.ts";
import { BunkerError } from "../errors.ts";
import { parseProcess } from "../oci/validate.ts";
import { runtimeContext } from "./context.ts";

export const FLAGS = [
  { names: ["tty", "t"] },
  { names: ["interactive", "i"] },
  { names: ["detach", "d"] },
  { names: ["pid-file"], value: true },
  { names: ["process", "p"], value: true },
  { names: ["console-socket"], value: true },
  { names: ["env", "e"], value: true, multi: true },
  { names: ["cwd", "w", "workdir"], value: true },
  { names: ["user", "u"], value: true },
  { names: ["preserve-fds"], value: true },
  { names: ["cap", "c"], value: true, multi: true },
  { names: ["no-new-privs"] },
  { names: ["apparmor"], value: true },
  { names: ["process-label"], value: true },
  { names: ["additional-gids", "g"], value: true, multi: true },
  { names: ["cgroup"], value: true },
  { names: ["ignore-paused"] },
];

/** the command given as flags and arguments */
function execCommand(p: ReturnType<typeof parseFlags>): ExecCommand {
  const args = p.rest.slice(1);
  if (!args.length) throw new BunkerError("exec: no command given", { errno: "EINVAL", fix: "bunker exec ID CMD [ARG...]" });
  const user = flag(p, "user");
  const ids = user?.split(":");
  if (ids && ids.length > 2) throw new BunkerError(`exec: --user must be UID[:GID] (got "${user}")`, { errno: "EINVAL" });
  const [uid, gid] = ids ? ids.map((id) => parseId(id, "exec: --user")) : [];
  const terminal = flagBool(p, "tty");
  return {
    args,
    env: flagList(p, "env"),
    cwd: flag(p, "cwd"),
    user: uid === undefined ? undefined : { uid, gid },
    additionalGids: flagList(p, "additional-gids").map((id) => parseId(id, "exec: --additional-gids")),
    terminal,
    consoleSize: terminal && process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined,
    noNewPrivileges: flagBool(p, "no-new-privs"),
  };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, FLAGS, "exec");
  const id = checkId(p.rest[0], "exec");
  const file = flag(p, "process");
  return execInContainer(runtimeContext(g), {
    id,
    process: file ? parseProcess(readBounded(file, "config", "exec: cannot read --process"), file === "-" ? "--process (stdin)" : file) : undefined,
    command: file ? undefined : execCommand(p),
    addCaps: flagList(p, "cap"),
    detach: flagBool(p, "detach"),
    pidFile: flag(p, "pid-file"),
    consoleSocket: flag(p, "console-socket"),
    preserveFds: flagInt(p, "preserve-fds", "exec"),
  });
}
