// An image's details in docker inspect's shape: `bunker inspect IMAGE` and the
// Engine API's GET /images/{name}/json print the same document.
import { chainIds } from "./digest.ts";
import { shortName } from "./reference.ts";
import type { Store } from "./store.ts";

export function imageDetails(store: Store, ref: string): Record<string, unknown> {
  const rec = store.get(ref);
  const m = store.manifestOf(rec);
  const c = store.configOf(rec);
  const size = m.layers.reduce((n, l) => n + l.size, 0);
  return {
    Id: rec.id,
    Digest: rec.digest,
    RepoTags: rec.names.map(shortName),
    RepoDigests: rec.repoDigests ?? [],
    Parent: "",
    Comment: "",
    Created: c.created,
    Author: c.author ?? "",
    Architecture: c.architecture,
    Os: c.os,
    Variant: c.variant,
    Config: c.config ?? {},
    RootFS: { Type: c.rootfs.type, Layers: c.rootfs.diff_ids },
    Size: size,
    VirtualSize: size,
    ManifestMediaType: m.mediaType,
    History: c.history ?? [],
    // Docker's Data is a map of strings: the layers' directories, top first, joined by ":" as overlay's lowerdir=
    GraphDriver: { Name: "overlay", Data: { LowerDir: chainIds(c.rootfs.diff_ids).map((ch) => store.layerDir(ch)).reverse().join(":") } },
  };
}
