// A command in a user namespace with the caller's maps, nothing else
// changed (its files, its terminal, its cwd): `bunker unshare` (as `podman
// unshare`), `bunker volume export`.
import { unsharePlan } from "../plan/store.ts";
import { forwardSignals, supervise, type ExitStatus } from "./shim.ts";
import type { IdMaps } from "./idmap.ts";
import { launch } from "./launch.ts";
import { existsSync } from "node:fs";
import { BunkerError } from "../errors.ts";

/** the host's tar (volume export, export), or one clear error naming WHAT needed it */
export function hostTar(what: string): string {
  const tar = ["/usr/bin/tar", "/bin/tar"].find((t) => existsSync(t));
  if (!tar) throw new BunkerError(`${what}: no tar on this host`, { errno: "ENOENT", path: "/usr/bin/tar", fix: "apt-get install tar" });
  return tar;
}

/**
 * Runs ARGS (looked up in ENV's PATH) as root of a new user namespace with
 * MAPS (and a mount namespace of its own: what it mounts stays there), waits
 * for it; with FORWARD, signals sent to bunker reach it.  ROOT (bunker runs
 * as root) runs it as it is: a namespace would only take away its power over
 * ids MAPS lacks.
 */
export async function runUnshared(args: string[], env: string[], maps: IdMaps, root: boolean, forward = false): Promise<ExitStatus> {
  if (forward) forwardSignals();
  const c = await launch(unsharePlan(args[0]!, args, env, !root), { maps: root ? undefined : maps });
  return supervise(c.pid, -1, false);
}
