// bunker load -i FILE [-q] [--platform os/arch[/variant]]
import { BunkerError } from "../errors.ts";
import { loadArchive } from "../image/archive.ts";
import { hostPlatform, parsePlatform } from "../image/platform.ts";
import { shortName } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import { LAYER_LIMIT_FLAGS, layerLimits } from "./pull.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["input", "i"], value: true, help: "FILE|DIR  the archive" }, { names: ["quiet", "q"], help: "print nothing but errors" }, { names: ["platform"], value: true, help: "OS/ARCH[/VARIANT]  the platform to pick from an OCI index" }, ...LAYER_LIMIT_FLAGS], "load", false);
  const file = flag(p, "input") ?? p.rest[0];
  if (!file) throw new BunkerError("load: which archive? give -i FILE", { errno: "EINVAL", fix: "bunker load -i image.tar (docker save, oci-archive or an OCI layout dir)" });
  const platform = flag(p, "platform") ? parsePlatform(flag(p, "platform")!) : hostPlatform();
  const store = Store.open(runtimeContext(g).dataRoot, layerLimits(p));
  const loaded = await loadArchive(store, file, platform);
  if (!flagBool(p, "quiet")) {
    for (const n of new Set(loaded.flatMap((l) => l.notes ?? []))) console.error(`bunker: note: ${n}`);
    for (const l of loaded) {
      if (l.names.length) for (const n of l.names) console.log(`Loaded image: ${shortName(n)}`);
      else console.log(`Loaded image ID: ${store.readJson<{ config: { digest: string } }>(l.manifestDigest).config.digest}`);
    }
  }
  return 0;
}
