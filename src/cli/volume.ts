// bunker volume create|ls|inspect|rm|prune|export: named volumes, as `docker volume`
import { BunkerError } from "../errors.ts";
import { flag, flagBool, flagList, HelpRequest, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { confirm } from "./confirm.ts";
import { volumeContext } from "../container/prune.ts";
import { checkVolumeName } from "../volume/spec.ts";
import { ensureVolume, getVolume } from "../volume/store.ts";
import { exportVolume, listMatching, parseVolumeFilters, pruneVolumes, removeNamedVolume, type VolumeContext } from "../volume/manage.ts";


function context(g: GlobalOptions): VolumeContext {
  return volumeContext(runtimeContext(g));
}

function labels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf("=");
    const key = eq < 0 ? l : l.slice(0, eq);
    if (!key) throw new BunkerError(`volume create: invalid label "${l}"`, { errno: "EINVAL", fix: "use --label KEY=VALUE" });
    out[key] = eq < 0 ? "" : l.slice(eq + 1);
  }
  return out;
}

/** Docker's tabwriter: columns at least 10 wide, 3 spaces of padding */
function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(10, ...rows.map((r) => r[i]!.length + 3)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join("")).join("\n");
}

export default async function volume(argv: string[], g: GlobalOptions): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") throw new HelpRequest("volume", []);
  if (!sub) throw new BunkerError("volume: no command given", { errno: "EINVAL", fix: "bunker volume create|ls|inspect|rm|prune|export (bunker volume --help)" });
  switch (sub) {
    case "create": {
      const p = parseFlags(rest, [{ names: ["label"], value: true, multi: true, help: "K=V  a label of the volume (K alone: an empty value)" }, { names: ["driver", "d"], value: true, help: "local  the volume driver (local is the only one)" }], "volume create", false);
      const driver = flag(p, "driver") ?? "local";
      if (driver !== "local") throw new BunkerError(`volume create: unknown driver "${driver}"`, { errno: "EINVAL", fix: "bunker has the local driver only (--driver local)" });
      if (p.rest.length > 1) throw new BunkerError("volume create: one NAME at most", { errno: "EINVAL", fix: "bunker volume create [NAME]" });
      const name = p.rest[0] === undefined ? undefined : checkVolumeName(p.rest[0], "volume create");
      console.log(ensureVolume(context(g).dataRoot, name, labels(flagList(p, "label"))).volume.Name);
      return 0;
    }
    case "ls":
    case "list": {
      const p = parseFlags(rest, [{ names: ["quiet", "q"], help: "names only" }, { names: ["filter", "f"], value: true, multi: true, help: "K=V  dangling=true|false, name=TEXT, label=KEY[=VALUE], driver=local\n(several values of one key: any; several keys: all)" }], "volume ls", false);
      if (p.rest.length) throw new BunkerError(`volume ls: unexpected argument "${p.rest[0]}"`, { errno: "EINVAL", fix: "bunker volume ls [-q] [--filter K=V]" });
      const vols = listMatching(context(g), parseVolumeFilters(flagList(p, "filter")));
      if (flagBool(p, "quiet")) for (const v of vols) console.log(v.Name);
      else console.log(table([["DRIVER", "VOLUME NAME"], ...vols.map((v) => [v.Driver, v.Name])]));
      return 0;
    }
    case "inspect": {
      const p = parseFlags(rest, [], "volume inspect", false);
      if (!p.rest.length) throw new BunkerError("volume inspect: no volume named", { errno: "EINVAL", fix: "bunker volume inspect NAME..." });
      const ctx = context(g);
      console.log(JSON.stringify(p.rest.map((n) => getVolume(ctx.dataRoot, n, "volume inspect")), null, 4));
      return 0;
    }
    case "rm":
    case "remove": {
      const p = parseFlags(rest, [{ names: ["force", "f"], help: "remove it also when a container uses it" }], "volume rm", false);
      if (!p.rest.length) throw new BunkerError("volume rm: no volume named", { errno: "EINVAL", fix: "bunker volume rm [-f] NAME..." });
      const ctx = context(g);
      for (const n of p.rest) {
        await removeNamedVolume(ctx, n, flagBool(p, "force"));
        console.log(n);
      }
      return 0;
    }
    case "prune": {
      const p = parseFlags(rest, [{ names: ["force", "f"], help: "do not ask first" }, { names: ["all", "a"], help: "every unused volume, not only anonymous ones" }], "volume prune", false);
      const all = flagBool(p, "all");
      const what = all ? "all local volumes not used by at least one container" : "anonymous local volumes not used by at least one container";
      if (!flagBool(p, "force") && !(await confirm(`WARNING! This will remove ${what}.\nAre you sure you want to continue?`))) return 0;
      const gone = await pruneVolumes(context(g), all);
      if (gone.length) console.log(["Deleted Volumes:", ...gone, ""].join("\n"));
      return 0;
    }
    case "export": {
      const p = parseFlags(rest, [], "volume export", false);
      if (p.rest.length !== 1) throw new BunkerError("volume export: name one volume", { errno: "EINVAL", fix: "bunker volume export NAME > volume.tar" });
      if (process.stdout.isTTY) throw new BunkerError("volume export: the tar would go to a terminal", { errno: "EINVAL", fix: `redirect it: bunker volume export ${p.rest[0]} > volume.tar` });
      await exportVolume(context(g), p.rest[0]!);
      return 0;
    }
    default:
      throw new BunkerError(`volume: unknown command "${sub}"`, { errno: "EINVAL", fix: "bunker volume create|ls|inspect|rm|prune|export (bunker volume --help)" });
  }
}
