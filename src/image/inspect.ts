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
    Comment: c.comment ?? "",
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

/** one step of an image's history, as Docker's GET /images/NAME/history (Created in seconds since the epoch) */
export interface HistoryStep {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** newest first, as Docker: one entry per history step, the layer's (compressed) size for those that made one; the top one carries the image's id and tags */
export function imageHistory(store: Store, ref: string): HistoryStep[] {
  const rec = store.get(ref);
  const layers = store.manifestOf(rec).layers;
  let layer = 0;
  const steps: HistoryStep[] = (store.configOf(rec).history ?? []).map((h) => ({
    Id: "<missing>",
    Created: h.created ? Math.floor(Date.parse(h.created) / 1000) || 0 : 0,
    CreatedBy: h.created_by ?? "",
    Tags: null,
    Size: h.empty_layer ? 0 : (layers[layer++]?.size ?? 0),
    Comment: h.comment ?? "",
  }));
  steps.reverse();
  if (steps[0]) Object.assign(steps[0], { Id: rec.id, Tags: rec.names.map(shortName) });
  return steps;
}
