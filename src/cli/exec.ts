// bunker exec [-t] [-d] [--pid-file F] [--process FILE] [--console-socket S] [-e K=V] [--cwd D] [-u U[:G]] [--preserve-fds N] ID [CMD...]
import { readBounded } from "../json.ts";
import { flag, flagBool, flagInt, flagList, parseFlags } from "./args.ts";
import { parseId } from "../oci/user.ts";
import type { GlobalOptions } from "./global.ts";
import { execInContainer } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, readState } from "../container/state.ts";
import { BunkerError } from "../errors.ts";
import type { Process } from "../oci/spec.ts";
import { DEFAULT_PATH } from "../oci/run-spec.ts";
import { parseProcess } from "../oci/validate.ts";
import { debugLog } from "./log.ts";
import { withHome } from "../container/home.ts";
import { CAPABILITIES, normalizeCapName } from "../oci/caps.ts";

export const FLAGS = [
  { names: ["tty", "t"], help: "allocate a pseudo-terminal" },
  { names: ["interactive", "i"], help: "keep stdin open" },
  { names: ["detach", "d"], help: "do not wait for the process (runc's exec -d)" },
  { names: ["pid-file"], value: true, help: "FILE  write the process's pid to FILE" },
  { names: ["process", "p"], value: true, help: "FILE  the process as runtime-spec JSON (- = stdin), instead of CMD, -e, -u, -w, -t" },
  { names: ["console-socket"], value: true, help: "SOCKET  send the pty's master to the AF_UNIX socket SOCKET" },
  { names: ["env", "e"], value: true, multi: true, help: "K=V  set an environment variable" },
  { names: ["cwd", "w", "workdir"], value: true, help: "DIR  working directory inside the container" },
  { names: ["user", "u"], value: true, help: "UID[:GID]  user and group ids" },
  { names: ["preserve-fds"], value: true, help: "N  pass file descriptors 3..3+N-1 to the process" },
  { names: ["cap", "c"], value: true, multi: true, help: "CAP  add a capability to the process (CAP_NET_ADMIN or NET_ADMIN)" },
  { names: ["no-new-privs"], help: "set no_new_privs for the process" },
  { names: ["apparmor"], value: true, help: "PROFILE  accepted for runc compatibility (bunker loads no AppArmor profile)" },
  { names: ["process-label"], value: true, help: "LABEL  accepted for runc compatibility (no SELinux label)" },
  { names: ["additional-gids", "g"], value: true, multi: true, help: "GID  an additional group of the process" },
  { names: ["cgroup"], value: true, help: "PATH  accepted for runc compatibility (the process joins the container's cgroup)" },
  { names: ["ignore-paused"], help: "accepted for runc compatibility" },
];

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, FLAGS, "exec");
  const id = checkId(p.rest[0], "exec");
  const root = stateRoot(g).dir;
  const state = readState(root, id);
  let proc: Process;
  const file = flag(p, "process");
  if (file) {
    proc = parseProcess(readBounded(file, "config", "exec: cannot read --process"), file === "-" ? "--process (stdin)" : file);
  } else {
    const args = p.rest.slice(1);
    if (!args.length) throw new BunkerError("exec: no command given", { errno: "EINVAL", fix: "bunker exec ID CMD [ARG...]" });
    const base = state?.process;
    const env = [...(base?.env ?? [`PATH=${DEFAULT_PATH}`]), ...flagList(p, "env")];
    const user = flag(p, "user");
    const ids = user?.split(":");
    if (ids && ids.length > 2) throw new BunkerError(`exec: --user must be UID[:GID] (got "${user}")`, { errno: "EINVAL" });
    const [uid, gid] = ids ? ids.map((id) => parseId(id, "exec: --user")) : [base?.user.uid ?? 0, base?.user.gid ?? 0];
    proc = {
      ...base,
      terminal: flagBool(p, "tty"),
      consoleSize: flagBool(p, "tty") && process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined,
      args,
      env,
      cwd: flag(p, "cwd") ?? base?.cwd ?? "/",
      user: { ...(base?.user ?? {}), uid: uid!, gid: gid ?? uid!, additionalGids: flagList(p, "additional-gids").map((id) => parseId(id, "exec: --additional-gids")) },
      noNewPrivileges: flagBool(p, "no-new-privs") || base?.noNewPrivileges,
    };
    // a `bunker run` container confines as Docker: a non-root user holds no capabilities (the bounding set stays)
    if (state?.run && uid !== 0 && proc.capabilities) proc.capabilities = { ...proc.capabilities, effective: [], permitted: [] };
  }
  // HOME from the container's passwd when the environment has none (runc)
  proc = { ...proc, env: withHome(proc.env ?? [], state?.rootfs, proc.user?.uid ?? 0) };
  // runc's --cap: added to the bounding, effective and permitted sets (and ambient when the
  // process has inheritable ones, which ambient needs); a process without a capabilities
  // object has every capability already
  const caps = flagList(p, "cap").flatMap((c) => (normalizeCapName(c, "exec --cap") === "ALL" ? CAPABILITIES : [normalizeCapName(c, "exec --cap")]));
  if (caps.length && proc.capabilities) {
    const add = (set: string[] | undefined) => [...new Set([...(set ?? []), ...caps])];
    const c = proc.capabilities;
    proc = { ...proc, capabilities: { ...c, bounding: add(c.bounding), effective: add(c.effective), permitted: add(c.permitted), ...(c.inheritable ? { ambient: add(c.ambient) } : {}) } };
  }
  return execInContainer({
    root,
    id,
    process: proc,
    detach: flagBool(p, "detach"),
    pidFile: flag(p, "pid-file"),
    consoleSocket: flag(p, "console-socket"),
    preserveFds: flagInt(p, "preserve-fds", "exec"),
    debug: debugLog(g),
  });
}
