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

// ---- --change: Dockerfile instructions that change only the config ------------------------

/** the instructions `commit --change` takes (Docker's list, STOPSIGNAL too) */
export const CHANGE_INSTRUCTIONS = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"] as const;

/** CONFIG with the Dockerfile-style lines CHANGES applied in order (a new object; CONFIG is not changed) */
export function parseChanges(config: ImageConfig, changes: string[]): ImageConfig {
  const out: ImageConfig = structuredClone(config);
  for (const line of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(line);
    const kw = m?.[1]!.toUpperCase();
    const rest = (m?.[2] ?? "").trim();
    if (!m || !(CHANGE_INSTRUCTIONS as readonly string[]).includes(kw!))
      throw new BunkerError(`--change "${line}": ${m ? `${m[1]} is not an instruction commit can apply` : "not an instruction"}`, { errno: "EINVAL", fix: `use one of ${CHANGE_INSTRUCTIONS.join(", ")}` });
    if (!rest) throw new BunkerError(`--change "${line}": ${kw} needs an argument`, { errno: "EINVAL" });
    const bad = (why: string) => new BunkerError(`--change "${line}": ${why}`, { errno: "EINVAL" });
    switch (kw) {
      case "CMD":
        out.Cmd = commandForm(rest, bad);
        break;
      case "ENTRYPOINT":
        out.Entrypoint = commandForm(rest, bad);
        break;
      case "ENV":
        for (const [k, v] of keyValues(rest, bad, true)) {
          const env = (out.Env ??= []);
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        break;
      case "LABEL":
        for (const [k, v] of keyValues(rest, bad, false)) (out.Labels ??= {})[k] = v;
        break;
      case "EXPOSE":
        for (const p of words(rest, bad)) {
          if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/i.test(p)) throw bad(`"${p}" is not PORT[/tcp|udp|sctp]`);
          (out.ExposedPorts ??= {})[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        break;
      case "VOLUME":
        for (const v of rest.startsWith("[") ? jsonArray(rest, bad) : words(rest, bad)) (out.Volumes ??= {})[v] = {};
        break;
      case "WORKDIR": {
        const dir = words(rest, bad).join(" ");
        out.WorkingDir = dir.startsWith("/") ? dir : `${(out.WorkingDir || "/").replace(/\/$/, "")}/${dir}`;
        break;
      }
      case "USER":
        out.User = rest;
        break;
      case "STOPSIGNAL":
        out.StopSignal = rest;
        break;
    }
  }
  return out;
}

type Bad = (why: string) => BunkerError;

/** the exec form (a JSON array of strings) or the shell form (/bin/sh -c TEXT) */
function commandForm(text: string, bad: Bad): string[] {
  if (text.startsWith("[")) {
    try {
      return jsonArray(text, bad);
    } catch {
      /* not JSON: Docker takes it as the shell form */
    }
  }
  return ["/bin/sh", "-c", text];
}

function jsonArray(text: string, bad: Bad): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad("not a JSON array of strings");
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw bad("not a JSON array of strings");
  return v as string[];
}

/** words as a shell splits them: quotes ('…', "…") and backslash escapes */
function words(text: string, bad: Bad): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur), (cur = undefined);
    } else if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw bad(`unterminated ${c} quote`);
      let s = text.slice(i + 1, end);
      if (c === '"') s = s.replace(/\\(["\\$`])/g, "$1");
      cur = (cur ?? "") + s;
      i = end;
    } else if (c === "\\" && i + 1 < text.length) {
      cur = (cur ?? "") + text[++i];
    } else cur = (cur ?? "") + c;
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** K=V pairs (ENV and LABEL); LEGACY (ENV): `K V…` with a value of the rest of the line */
function keyValues(text: string, bad: Bad, legacy: boolean): [string, string][] {
  const first = /^(\S+)\s+([\s\S]*)$/.exec(text);
  if (legacy && first && !first[1]!.includes("=")) return [[first[1]!, first[2]!]];
  return words(text, bad).map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw bad(`"${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
