// The image documents bunker reads from archives and registries, parsed
// within bounds (src/json.ts) and checked by shape before anything uses
// them: an OCI/Docker manifest or index, an image config, a docker-archive's
// manifest.json.  Every error names the document and the field, e.g.
//   manifest.json: [0].Layers[2]: must be a string
// Only the fields bunker reads are checked (and unknown ones kept), so a
// valid image from any tool loads.
import { Checker, child, parseJson, parseJsonObject } from "../json.ts";
import { isIndex, type Descriptor, type ImageConfigFile, type Index, type Manifest } from "./types.ts";

type Obj = Record<string, unknown>;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function digest(c: Checker, v: unknown, path: string): string {
  const d = c.str(v, path);
  if (!DIGEST.test(d)) c.fail(path, `must be a sha256 digest (sha256: and 64 lowercase hex digits), not ${JSON.stringify(d.slice(0, 80))}`);
  return d;
}

function descriptor(c: Checker, o: Obj, p: string): Descriptor {
  c.req(o, "mediaType", p, c.str);
  c.req(o, "digest", p, (v, q) => digest(c, v, q));
  c.req(o, "size", p, c.uint);
  c.opt(o, "platform", p, (v, q) => {
    const pl = c.obj(v, q);
    c.req(pl, "architecture", q, c.str);
    c.req(pl, "os", q, c.str);
    c.opt(pl, "variant", q, c.str);
    c.opt(pl, "os.version", q, c.str);
  });
  c.opt(o, "annotations", p, c.strMap);
  c.opt(o, "urls", p, c.strs);
  return o as unknown as Descriptor;
}

function schemaVersion(c: Checker, o: Obj): void {
  c.req(o, "schemaVersion", "", (v, q) => {
    if (c.int(v, q) !== 2) c.fail(q, `must be 2 (Docker schema2 or OCI), not ${v as number}`);
  });
}

export type ManifestDoc = { index: Index; manifest?: undefined } | { manifest: Manifest; index?: undefined };

/**
 * BYTES as an image manifest or an index (manifest list), told apart by
 * mediaType (the document's, else MEDIA_TYPE from the registry or the
 * descriptor that named it), from FILE.
 */
export function parseManifest(bytes: Uint8Array, file: string, mediaType?: string): ManifestDoc {
  const c = new Checker(file);
  const o = parseJsonObject(bytes, file, "manifest");
  schemaVersion(c, o);
  const mt = c.opt(o, "mediaType", "", c.str);
  c.opt(o, "annotations", "", c.strMap);
  if (isIndex(mt ?? mediaType, o)) {
    c.req(o, "manifests", "", (v, q) => c.objs(v, q, (d, p) => descriptor(c, d, p)));
    return { index: o as unknown as Index };
  }
  c.req(o, "config", "", (v, q) => descriptor(c, c.obj(v, q), q));
  c.req(o, "layers", "", (v, q) => c.objs(v, q, (d, p) => descriptor(c, d, p)));
  return { manifest: o as unknown as Manifest };
}

/** BYTES as an OCI image layout's index.json */
export function parseLayoutIndex(bytes: Uint8Array, file: string): Index {
  const doc = parseManifest(bytes, file, "application/vnd.oci.image.index.v1+json");
  if (doc.index) return doc.index;
  return new Checker(file).fail("manifests", "is required");
}

const strsOrNull = (c: Checker) => (v: unknown, p: string) => (v === null ? null : c.strs(v, p));

/** BYTES as an image config (the parts a container is made from) */
export function parseImageConfig(bytes: Uint8Array, file: string): ImageConfigFile {
  const c = new Checker(file);
  const o = parseJsonObject(bytes, file, "image");
  for (const k of ["architecture", "os", "variant", "created", "author"]) c.opt(o, k, "", c.str);
  c.req(o, "rootfs", "", (v, q) => {
    const r = c.obj(v, q);
    c.req(r, "type", q, (t, tp) => {
      if (c.str(t, tp) !== "layers") c.fail(tp, 'must be "layers"');
    });
    c.req(r, "diff_ids", q, (d, dp) => c.arr(d, dp).forEach((x, i) => digest(c, x, child(dp, i))));
  });
  c.opt(o, "config", "", (v, q) => {
    if (v === null) return;
    const cf = c.obj(v, q);
    for (const k of ["User", "WorkingDir", "StopSignal"]) c.opt(cf, k, q, c.str);
    c.opt(cf, "Env", q, c.strs);
    c.opt(cf, "Entrypoint", q, strsOrNull(c));
    c.opt(cf, "Cmd", q, strsOrNull(c));
    c.opt(cf, "Labels", q, (l, lp) => (l === null ? null : c.strMap(l, lp)));
    for (const k of ["ExposedPorts", "Volumes"]) c.opt(cf, k, q, (x, xp) => (x === null ? null : c.obj(x, xp)));
  });
  c.opt(o, "history", "", (v, q) =>
    c.objs(v, q, (h, p) => {
      for (const k of ["created", "created_by", "comment", "author"]) c.opt(h, k, p, c.str);
      c.opt(h, "empty_layer", p, c.bool);
    }),
  );
  return o as unknown as ImageConfigFile;
}

export interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** BYTES as a docker-archive's manifest.json: one entry per image */
export function parseDockerManifest(bytes: Uint8Array, file: string): DockerManifestEntry[] {
  const c = new Checker(file);
  const raw = parseJson(bytes, file, "image");
  const entries = c.objs(raw, "", (o, p) => {
    c.req(o, "Config", p, c.str);
    c.opt(o, "RepoTags", p, strsOrNull(c));
    c.req(o, "Layers", p, c.strs);
    return o as unknown as DockerManifestEntry;
  });
  if (entries.length === 0) c.fail("", "names no image (an empty array)");
  return entries;
}
