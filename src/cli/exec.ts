// bunker exec [-t] [-d] [--pid-file F] [--process FILE] [--console-socket S] [-e K=V] [--cwd D] [-u U[:G]] [--preserve-fds N] ID [CMD...]
import { readBounded } from "../json.ts";
import { flag, flagBool, flagInt, flagList, parseFlags } from "./args.ts";
import { parseId } from "../oci/user.ts";
import type { GlobalOptions } from "./global.ts";
import { execInContainer, type ExecCommand } from "../container/lifecycle.ts";
import { BunkerError } from "../errors.ts";
import { parseProcess } from "../oci/validate.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";

export const FLAGS = [
  { names: ["tty", "t"], help: "allocate a pseudo-terminal" },
  { names: ["interactive", "i"], help: "keep stdin open" },
  { names: ["detach", "d"], help: "do not wait for the process (runc's exec -d)" },
  { names: ["pid-file"], value: true, help: "FILE  write the process's pid to FILE" },
  { names: ["process", "p"], value: true, help: "FILE  the process as runtime-spec JSON (- = stdin), instead of CMD, -e, -u, -w, -t" },
  { names: ["console-socket"], value: true, help: "SOCKET  send the pty's master to the AF_UNIX socket SOCKET" },
  { names: ["env", "e"], value: true, multi: true, help: "K=V  set an environment variable" },
  { names: ["cwd", "w", "workdir"], value: true, help: "DIR  working directory inside the container" },
  { names: ["user", "u"], value: true, help: "USER[:GROUP]  a name or uid, and a group name or gid, from the container's /etc/passwd and /etc/group" },
  { names: ["preserve-fds"], value: true, help: "N  pass file descriptors 3..3+N-1 to the process" },
  { names: ["cap", "c"], value: true, multi: true, help: "CAP  add a capability to the process (CAP_NET_ADMIN or NET_ADMIN)" },
  { names: ["no-new-privs"], help: "set no_new_privs for the process" },
  { names: ["apparmor"], value: true, help: "PROFILE  accepted for runc compatibility (bunker loads no AppArmor profile)" },
  { names: ["process-label"], value: true, help: "LABEL  accepted for runc compatibility (no SELinux label)" },
  { names: ["additional-gids", "g"], value: true, multi: true, help: "GID  an additional group of the process" },
  { names: ["cgroup"], value: true, help: "PATH  accepted for runc compatibility (the process joins the container's cgroup)" },
  { names: ["ignore-paused"], help: "accepted for runc compatibility" },
];

/** the command given as flags and arguments */
function execCommand(p: ReturnType<typeof parseFlags>): ExecCommand {
  const args = p.rest.slice(1);
  if (!args.length) throw new BunkerError("exec: no command given", { errno: "EINVAL", fix: "bunker exec ID CMD [ARG...]" });
  const terminal = flagBool(p, "tty");
  return {
    args,
    env: flagList(p, "env"),
    cwd: flag(p, "cwd"),
    user: flag(p, "user"),
    additionalGids: flagList(p, "additional-gids").map((id) => parseId(id, "exec: --additional-gids")),
    terminal,
    consoleSize: terminal && process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined,
    noNewPrivileges: flagBool(p, "no-new-privs"),
  };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, FLAGS, "exec");
  const id = containerArg(g, p.rest[0], "exec");
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
