// The volume commands' work: listing with Docker's filters, removal that
// refuses a volume a container uses, pruning, export.  Never prints: returns
// data or throws BunkerError (export's tar writes to bunker's stdout).
import { BunkerError } from "../errors.ts";
import { hostTar, runUnshared } from "../sys/unshare.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { containersUsing } from "./attach.ts";
import { getVolume, isAnonymous, listVolumes, removeVolume, type VolumeInfo } from "./store.ts";

export interface VolumeContext {
  dataRoot: string;
  /** where containers are recorded (the state root): who uses a volume */
  stateRoot: string;
  /** the ids files in volumes may belong to (removal, export in a user namespace) */
  maps: IdMaps;
  /** bunker runs as root: it reaches every file without a user namespace */
  root: boolean;
}

const FILTER_KEYS = ["dangling", "name", "label", "driver"];

/** `--filter K=V` values, by key: Docker's dangling, name (a substring), label (K or K=V), driver */
export function parseVolumeFilters(filters: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf("=");
    const key = eq < 0 ? f : f.slice(0, eq);
    if (eq < 0 || !FILTER_KEYS.includes(key)) throw new BunkerError(`volume ls: invalid filter "${f}"`, { errno: "EINVAL", fix: "use dangling=true|false, name=TEXT, label=KEY[=VALUE] or driver=local" });
    const value = f.slice(eq + 1);
    if (key === "dangling" && !["true", "false", "1", "0"].includes(value)) throw new BunkerError(`volume ls: invalid filter "${f}"`, { errno: "EINVAL", fix: "dangling=true or dangling=false" });
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

function labelMatches(v: VolumeInfo, want: string): boolean {
  const eq = want.indexOf("=");
  return eq < 0 ? want in v.Labels : v.Labels[want.slice(0, eq)] === want.slice(eq + 1);
}

/** the volumes that pass every filter key (values of one key: any of them), by name */
export function listMatching(ctx: VolumeContext, filters: Map<string, string[]>): VolumeInfo[] {
  const used = (v: VolumeInfo) => containersUsing(ctx.stateRoot, v.Mountpoint.slice(0, -"/_data".length)).length > 0;
  return listVolumes(ctx.dataRoot).filter((v) => {
    for (const [key, values] of filters) {
      const ok = values.some((x) => {
        if (key === "dangling") return ["true", "1"].includes(x) ? !used(v) : used(v);
        if (key === "name") return v.Name.includes(x);
        if (key === "label") return labelMatches(v, x);
        return x === v.Driver;
      });
      if (!ok) return false;
    }
    return true;
  });
}

/** removes the volume NAME; one a container uses (running or stopped) only with FORCE */
export async function removeNamedVolume(ctx: VolumeContext, name: string, force: boolean): Promise<void> {
  const v = getVolume(ctx.dataRoot, name, "volume rm");
  const users = containersUsing(ctx.stateRoot, v.Mountpoint.slice(0, -"/_data".length));
  if (users.length && !force)
    throw new BunkerError(`volume rm: volume "${name}" is in use by container ${users.join(", ")}`, { errno: "EBUSY", fix: `remove the container first (bunker rm ${users[0]}), or bunker volume rm -f ${name}` });
  await removeVolume(ctx.dataRoot, name, ctx.maps);
}

/** removes the volumes no container uses: the anonymous ones, or (ALL) every one; returns their names */
export async function pruneVolumes(ctx: VolumeContext, all: boolean): Promise<string[]> {
  const gone: string[] = [];
  for (const v of listMatching(ctx, new Map([["dangling", ["true"]]]))) {
    if (!all && !isAnonymous(v)) continue;
    await removeVolume(ctx.dataRoot, v.Name, ctx.maps);
    gone.push(v.Name);
  }
  return gone;
}

/**
 * The volume NAME as a tar on stdout, made by the host's tar as root of a
 * user namespace with the maps containers have: the owners it records are
 * the ones a container sees (999, not the subordinate id 100998), and files
 * of those ids that the caller could not read are read.
 */
export async function exportVolume(ctx: VolumeContext, name: string): Promise<void> {
  const v = getVolume(ctx.dataRoot, name, "volume export");
  const tar = hostTar("volume export");
  const st = await runUnshared([tar, "--numeric-owner", "-C", v.Mountpoint, "-cf", "-", "."], ["PATH=/usr/bin:/bin"], ctx.maps, ctx.root);
  if (st.code !== 0 || st.signal) throw new BunkerError(`volume export: tar ended with ${st.signal ? `signal ${st.signal}` : `status ${st.code}`}`, { errno: "EIO", path: v.Mountpoint });
}
