// Seccomp user notification (runtime-spec config-linux.md "Seccomp",
// listenerPath): the listener fd of a filter with SCMP_ACT_NOTIFY goes to the
// agent's unix socket with the container process state, one connection per
// process (its first sendmsg carries the fd), as runc sends it.
import { BunkerError } from "../errors.ts";
import { OCI_VERSION, type Seccomp } from "../oci/spec.ts";
import { sendFdWith } from "../sys/shim.ts";

/** the runtime-spec's state (runtime.md "State") */
export interface OciState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

/** the container process state: PID is the process whose filter it is (the init, or an exec'd process) */
export function containerProcessState(seccomp: Seccomp, pid: number, state: OciState): Record<string, unknown> {
  return { ociVersion: OCI_VERSION, fds: ["seccompFd"], pid, ...(seccomp.listenerMetadata ? { metadata: seccomp.listenerMetadata } : {}), state };
}

/**
 * LaunchOptions.seccompListener for a process confined by SECCOMP: undefined
 * when it names no listenerPath (the compiler then refuses a notify rule, and
 * a listenerPath alone means nothing: runc ignores it too).
 */
export function seccompAgent(seccomp: Seccomp | undefined, state: (pid: number) => OciState, debug?: (m: string) => void): ((fd: number, pid: number) => void) | undefined {
  const path = seccomp?.listenerPath;
  if (!seccomp || !path) return undefined;
  return (fd, pid) => {
    const r = sendFdWith(path, fd, Buffer.from(JSON.stringify(containerProcessState(seccomp, pid, state(pid)))));
    if (r < 0) throw new BunkerError("cannot send the seccomp listener to the agent", { errno: -r, path, fix: "start the seccomp agent on linux.seccomp.listenerPath first" });
    debug?.(`seccomp: the listener of process ${pid} went to the agent at ${path}`);
  };
}
