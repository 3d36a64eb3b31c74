// A new image in the store from a base image (or none: scratch), layers
// written by layer-writer.ts, a runtime config and history entries: what
// `bunker commit` and `bunker build` end with.  The image is stored as a
// pulled or loaded one is (config and manifest blobs, images.json), so run,
// save, inspect, images and push see it.  The manifest is OCI's (the base's
// Docker layer media types become their OCI twins, the bytes are the same).
// Metadata-only changes give a new config and manifest, no layer.
import { BunkerError } from "../errors.ts";
import { sourceDateEpoch, type LayerContext } from "./layer-writer.ts";
import { hostPlatform } from "./platform.ts";
import { formatReference, parseReference } from "./reference.ts";
import { Store, type ImageRecord } from "./store.ts";
import { MT, type Descriptor, type ImageConfig, type ImageConfigFile, type Manifest, type Platform } from "./types.ts";

export interface HistoryEntry {
  created_by?: string;
  /** true: this step changed only the config (no layer of its own) */
  empty_layer?: boolean;
  comment?: string;
}

export interface CommitRequest {
  /** the image the layers go on top of; null: scratch */
  base: ImageRecord | null;
  /** the new layers, bottom first (writeLayer's results) */
  layers: { digest: string; diffId: string; size: number; mediaType: string }[];
  /** the new image's whole runtime config (parseChanges applies --change lines); absent: the base's */
  config?: ImageConfig;
  /** one entry per step, in order: one without empty_layer per layer */
  history: HistoryEntry[];
  /** names to tag it with (none: a dangling image, as docker commit without REF) */
  tags: string[];
  author?: string;
  /** the config's comment (docker import's message) */
  comment?: string;
  /** scratch's platform (default this machine's); a base's is kept */
  platform?: Platform;
}

const OCI_TWIN: Record<string, string> = { [MT.dockerLayer]: MT.ociLayer, [MT.dockerLayerGzip]: MT.ociLayerGzip };

/** Stores the image REQ describes and tags it; its record (id = config digest). */
export async function commitImage(ctx: LayerContext, req: CommitRequest): Promise<ImageRecord> {
  const store = Store.open(ctx.dataRoot);
  const withLayer = req.history.filter((h) => !h.empty_layer).length;
  if (withLayer !== req.layers.length)
    throw new BunkerError(`commit: ${req.layers.length} layers but ${withLayer} history entries with a layer`, { errno: "EINVAL", fix: "give one history entry without empty_layer per layer" });
  const names = req.tags.map((t) => {
    const r = parseReference(t);
    if (r.digest) throw new BunkerError(`commit: "${t}" names a digest; an image is tagged by name[:tag]`, { errno: "EINVAL", fix: "drop the @sha256:… part" });
    return formatReference(r);
  });
  const baseManifest = req.base ? store.manifestOf(req.base) : undefined;
  const baseConfig = req.base ? store.configOf(req.base) : undefined;
  const epoch = sourceDateEpoch(ctx.env);
  const created = (epoch !== undefined ? new Date(epoch * 1000) : new Date()).toISOString().replace(".000Z", "Z");
  const platform = baseConfig ?? req.platform ?? hostPlatform();
  const config: ImageConfigFile = {
    created,
    ...(req.author ? { author: req.author } : {}),
    ...(req.comment ? { comment: req.comment } : {}),
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: req.config ?? baseConfig?.config ?? {},
    rootfs: { type: "layers", diff_ids: [...(baseConfig?.rootfs.diff_ids ?? []), ...req.layers.map((l) => l.diffId)] },
    history: [...(baseConfig?.history ?? []), ...req.history.map((h) => ({ created, ...h }))],
  };
  const configBytes = JSON.stringify(config);
  const configDigest = store.putBlob(configBytes);
  const layers: Descriptor[] = [
    ...(baseManifest?.layers ?? []).map((l) => ({ mediaType: OCI_TWIN[l.mediaType] ?? l.mediaType, digest: l.digest, size: l.size, ...(l.urls ? { urls: l.urls } : {}) })),
    ...req.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  ];
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configDigest, size: new TextEncoder().encode(configBytes).length },
    layers,
  };
  const manifestDigest = store.putBlob(JSON.stringify(manifest));
  // every layer unpacked (writeLayer did the new ones): run uses it at once
  await store.ensureLayers(manifestDigest);
  return store.addImage(manifestDigest, names);
}
