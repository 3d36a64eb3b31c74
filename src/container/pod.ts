// --network container:ID: the network namespace of another running container
// (a pod), and its user namespace, which owns that network namespace (a
// container's root can join it only from there).
import { closeSync, openSync, readFileSync } from "../sys/fs-sync.ts";
import { BunkerError } from "../errors.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { containerDir, readState } from "./state.ts";
import { pidStartTime } from "../sys/proc.ts";

export interface JoinedContainer {
  pid: number;
  /** its namespaces, open in this process (the child joins /proc/self/fd/N): a reused pid cannot swap them */
  userFd: number;
  netFd: number;
  /** the container's id maps: the joined user namespace's */
  maps: IdMaps;
  /** its /etc/resolv.conf, when bunker wrote one */
  resolv?: string;
}

export function joinedContainer(root: string, id: string): JoinedContainer {
  const s = readState(root, id);
  const fix = `start it first (bunker ps lists the running ones)`;
  if (!s || !s.run) throw new BunkerError(`--network container:${id}: the container is not running`, { errno: "ESRCH", fix });
  const fds: number[] = [];
  try {
    for (const ns of ["user", "net"]) fds.push(openSync(`/proc/${s.pid}/ns/${ns}`, "r"));
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    throw new BunkerError(`--network container:${id}: cannot open its namespaces`, { errno: (e as { code?: string }).code ?? "ESRCH", path: `/proc/${s.pid}/ns`, fix });
  }
  // checked after the open: the namespaces opened are those of the recorded process
  if (pidStartTime(s.pid) !== s.pidStart) {
    for (const fd of fds) closeSync(fd);
    throw new BunkerError(`--network container:${id}: the container is not running`, { errno: "ESRCH", fix });
  }
  let resolv: string | undefined;
  try {
    resolv = readFileSync(`${containerDir(root, id)}/resolv.conf`, "utf8");
  } catch {
    resolv = undefined;
  }
  return { pid: s.pid, userFd: fds[0]!, netFd: fds[1]!, maps: s.run.maps, resolv };
}
