// bunker pull [--platform os/arch[/variant]] [-q] [--tls-verify=false|--insecure] [--cert-dir DIR] [--creds USER:PASS] REF
import { BunkerError } from "../errors.ts";
import { parsePlatform } from "../image/platform.ts";
import { Progress } from "./progress.ts";
import { pullImage } from "../image/pull.ts";
import { shortName } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { layerLimitsOf, type LayerLimits } from "../image/limits.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import { REGISTRY_FLAGS, registryOptions } from "./registry-flags.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";

/** load's and pull's bounds on what a layer may expand to (src/image/limits.ts) */
export const LAYER_LIMIT_FLAGS = [
  { names: ["max-layer-size"], value: true, help: "SIZE  stop when one layer's uncompressed content passes SIZE\n(default: no cap but the reserve; $BUNKER_MAX_LAYER_SIZE)" },
  { names: ["storage-reserve"], value: true, help: "SIZE|N%  free space the store's filesystem keeps while layers\nare unpacked or downloaded (default: 1g, or 5% of the\nfilesystem when smaller; 0 = none; $BUNKER_STORAGE_RESERVE)" },
];

/** --max-layer-size / --storage-reserve of P (when given), else $BUNKER_MAX_LAYER_SIZE / $BUNKER_STORAGE_RESERVE */
export function layerLimits(p: ReturnType<typeof parseFlags>): LayerLimits {
  const given = (name: string, env: string) => (flag(p, name) !== undefined ? { value: flag(p, name)!, what: `--${name}` } : { value: process.env[env], what: `$${env}` });
  return layerLimitsOf(given("max-layer-size", "BUNKER_MAX_LAYER_SIZE"), given("storage-reserve", "BUNKER_STORAGE_RESERVE"));
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["platform"], value: true, help: "OS/ARCH[/VARIANT]  the platform to pick from an index" }, { names: ["quiet", "q"], help: "print only the image ID" }, ...REGISTRY_FLAGS, ...LAYER_LIMIT_FLAGS], "pull", false);
  const ref = p.rest[0];
  if (!ref || p.rest.length > 1) throw new BunkerError("pull: needs one image reference", { errno: "EINVAL", fix: "bunker pull busybox" });
  const quiet = flagBool(p, "quiet");
  const progress = Progress.forTerminal(quiet);
  const pulled = await pullImage(Store.open(runtimeContext(g).dataRoot, layerLimits(p)), ref, {
    ...registryOptions(p),
    platform: flag(p, "platform") ? parsePlatform(flag(p, "platform")!) : undefined,
    events: progress,
  });
  progress?.finish();
  if (!quiet) for (const n of pulled.notes) console.error(`bunker: note: ${n}`);
  if (quiet) console.log(pulled.id);
  else {
    console.log(`Digest: ${pulled.repoDigest.split("@")[1]}`);
    console.log(`Pulled: ${pulled.name ? shortName(pulled.name) : pulled.repoDigest} (image ID ${pulled.id.slice(7, 19)})`);
  }
  return 0;
}
