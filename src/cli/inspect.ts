// bunker inspect IMAGE...   (docker-style JSON array)
import { BunkerError } from "../errors.ts";
import { chainIds } from "../image/digest.ts";
import { shortName } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true }, { names: ["type"], value: true }], "inspect", false);
  if (!p.rest.length) throw new BunkerError("inspect: which image?", { errno: "EINVAL", fix: "bunker inspect IMAGE" });
  const store = Store.open(g.dataRoot);
  const out = p.rest.map((ref) => {
    const rec = store.get(ref);
    const m = store.manifestOf(rec);
    const c = store.configOf(rec);
    return {
      Id: rec.id,
      Digest: rec.digest,
      RepoTags: rec.names.map(shortName),
      RepoDigests: rec.repoDigests ?? [],
      Created: c.created,
      Author: c.author,
      Architecture: c.architecture,
      Os: c.os,
      Variant: c.variant,
      Config: c.config ?? {},
      RootFS: { Type: c.rootfs.type, Layers: c.rootfs.diff_ids },
      Size: m.layers.reduce((n, l) => n + l.size, 0),
      ManifestMediaType: m.mediaType,
      History: c.history ?? [],
      GraphDriver: { Name: "overlay", Data: { LowerDirs: chainIds(c.rootfs.diff_ids).map((ch) => store.layerDir(ch)).reverse() } },
    };
  });
  process.stdout.write(JSON.stringify(out, null, 4) + "\n");
  return 0;
}
