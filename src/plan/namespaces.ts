// The namespace kinds: a runtime-spec linux.namespaces[].type, its name under
// /proc/PID/ns and its clone(2)/setns(2) flag, in one table (clone flags for
// a new container, setns types for joining one by path or for exec).
import type { NamespaceType } from "../oci/spec.ts";
import * as K from "./types.ts";

export interface NamespaceKind {
  type: NamespaceType;
  /** the entry in /proc/PID/ns */
  proc: string;
  flag: number;
}

export const NAMESPACES: readonly NamespaceKind[] = [
  { type: "user", proc: "user", flag: K.CLONE_NEWUSER },
  { type: "mount", proc: "mnt", flag: K.CLONE_NEWNS },
  { type: "pid", proc: "pid", flag: K.CLONE_NEWPID },
  { type: "ipc", proc: "ipc", flag: K.CLONE_NEWIPC },
  { type: "uts", proc: "uts", flag: K.CLONE_NEWUTS },
  { type: "network", proc: "net", flag: K.CLONE_NEWNET },
  { type: "cgroup", proc: "cgroup", flag: K.CLONE_NEWCGROUP },
  { type: "time", proc: "time", flag: K.CLONE_NEWTIME },
];

const BY_TYPE = new Map<NamespaceType, NamespaceKind>();
for (const n of NAMESPACES) BY_TYPE.set(n.type, n); // a plain loop: run's path calls no map (src/loops.ts)

/** the kind of a runtime-spec namespace type (validated configs name only these) */
export function namespaceKind(type: NamespaceType): NamespaceKind {
  const k = BY_TYPE.get(type);
  if (!k) throw new Error(`unknown namespace type ${type}`);
  return k;
}

const BY_PROC = new Map<string, NamespaceKind>();
for (const n of NAMESPACES) BY_PROC.set(n.proc, n);

/** the kind of a /proc/PID/ns entry name (mnt, net, ...) */
export function namespaceByProc(proc: string): NamespaceKind {
  const k = BY_PROC.get(proc);
  if (!k) throw new Error(`unknown namespace ${proc}`);
  return k;
}
