// A command in a user namespace with the caller's maps, nothing else
// changed (its files, its terminal, its cwd): `bunker unshare` (as `podman
// unshare`), and the removal of trees whose files belong to subordinate ids.
import { CLONE_NEWNS, CLONE_NEWUSER, type Op } from "../plan/types.ts";
import { forwardSignals, supervise, type ExitStatus } from "../sys/shim.ts";
import type { IdMaps } from "./idmap.ts";
import { launch } from "./launch.ts";

/**
 * Runs ARGS (looked up in ENV's PATH) as root of a new user namespace with
 * MAPS (and a mount namespace of its own: what it mounts stays there), waits
 * for it; with FORWARD, signals sent to bunker reach it.  Root runs it as it
 * is: a namespace would only take away its power over ids MAPS lacks.
 */
export async function runUnshared(args: string[], env: string[], maps: IdMaps, forward = false): Promise<ExitStatus> {
  if (forward) forwardSignals();
  const root = process.getuid!() === 0;
  const ops: Op[] = [{ op: "close-fds", preserve: 0 }, { op: "exec", file: args[0]!, args, env }];
  const c = await launch({ cloneFlags: root ? 0 : CLONE_NEWUSER | CLONE_NEWNS, ops }, { maps: root ? undefined : maps });
  return supervise(c.pid, -1, false);
}
