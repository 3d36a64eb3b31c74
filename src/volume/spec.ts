// What a container asks to have mounted: `-v`, `--mount` and the image's
// VOLUME list, in Docker's syntax, parsed into mount requests.  Pure: nothing
// here touches the file system (src/volume/attach.ts resolves the requests).
import { isAbsolute } from "../sys/path.ts";
import { BunkerError } from "../errors.ts";
import { parseBytes } from "../cgroup/flags.ts";

/** Docker's rule for a volume name (daemon/names: RestrictedNamePattern) */
export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const PROPAGATIONS = ["private", "rprivate", "shared", "rshared", "slave", "rslave"] as const;
export type Propagation = (typeof PROPAGATIONS)[number];

export type MountRequest =
  /** a host directory or file */
  | { type: "bind"; source: string; destination: string; readonly: boolean; propagation?: Propagation }
  /** a named volume, or (name undefined) an anonymous one; nocopy: never populated from the image */
  | { type: "volume"; name?: string; destination: string; readonly: boolean; nocopy: boolean }
  | { type: "tmpfs"; destination: string; options: string[] };

export function checkVolumeName(name: string, where: string): string {
  if (!VOLUME_NAME_RE.test(name) || name.length > 255)
    throw new BunkerError(`${where}: invalid volume name "${name}"`, { errno: "EINVAL", fix: "a volume name starts with a letter or digit and has only letters, digits and _ . - ([a-zA-Z0-9][a-zA-Z0-9_.-]*)" });
  return name;
}

function checkDestination(dst: string | undefined, what: string): string {
  if (!dst) throw new BunkerError(`run: ${what}: no destination`, { errno: "EINVAL", fix: "name the path in the container: -v SRC:/path or --mount ...,dst=/path" });
  if (!dst.startsWith("/")) throw new BunkerError(`run: ${what}: the destination must be an absolute path`, { errno: "EINVAL", path: dst });
  if (dst.replace(/\/+$/, "") === "") throw new BunkerError(`run: ${what}: the destination cannot be /`, { errno: "EINVAL", path: dst });
  return dst;
}

/** a source that is neither an absolute path nor a volume name: say which it was read as, and how to name either */
function badSource(src: string, what: string): BunkerError {
  return new BunkerError(`run: ${what}: the source "${src}" was read as a relative host path`, {
    errno: "EINVAL",
    fix: `give a host path as an absolute path (-v "$PWD/${src.replace(/^\.\//, "")}:/dst"), or name a volume: a name starts with a letter or digit and has only letters, digits and _ . - (-v data:/dst)`,
  });
}

/**
 * `-v SPEC` as Docker reads it: `/ctr` (an anonymous volume),
 * `NAME:/ctr[:OPTS]` (a named volume), `/host:/ctr[:OPTS]` (a bind mount);
 * OPTS: ro, rw, nocopy, a propagation (shared, rslave, …), z/Z (SELinux: no effect here).
 */
export function parseVolumeFlag(spec: string): MountRequest {
  const what = `-v ${spec}`;
  const parts = spec.split(":");
  if (parts.length === 1) {
    checkDestination(parts[0], what);
    return { type: "volume", destination: parts[0]!, readonly: false, nocopy: false };
  }
  if (parts.length > 3 || !parts[0]) throw new BunkerError(`run: invalid volume "${spec}"`, { errno: "EINVAL", fix: "use -v /host/path:/ctr[:ro], -v NAME:/ctr[:ro] or -v /ctr" });
  const [src, dst, opts] = [parts[0], parts[1], parts[2]];
  checkDestination(dst, what);
  let readonly = false, nocopy = false;
  let propagation: Propagation | undefined;
  for (const o of opts ? opts.split(",") : []) {
    if (o === "ro" || o === "rw") readonly = o === "ro";
    else if (o === "nocopy") nocopy = true;
    else if ((PROPAGATIONS as readonly string[]).includes(o)) propagation = o as Propagation;
    else if (o !== "z" && o !== "Z")
      throw new BunkerError(`run: ${what}: unknown option "${o}"`, { errno: "EINVAL", fix: "use ro, rw, nocopy or a propagation (private, rprivate, shared, rshared, slave, rslave)" });
  }
  if (isAbsolute(src)) {
    if (nocopy) throw new BunkerError(`run: ${what}: nocopy is for volumes, not bind mounts`, { errno: "EINVAL" });
    return { type: "bind", source: src, destination: dst!, readonly, ...(propagation ? { propagation } : {}) };
  }
  if (!VOLUME_NAME_RE.test(src)) throw badSource(src, what);
  if (propagation) throw new BunkerError(`run: ${what}: a propagation is for bind mounts, not volumes`, { errno: "EINVAL" });
  return { type: "volume", name: src, destination: dst!, readonly, nocopy };
}

/** one CSV field list of --mount (Docker's is a CSV record: a field may be quoted) */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let cur = "", quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") out.push(cur), (cur = "");
    else cur += ch;
  }
  if (quoted) throw new BunkerError(`run: --mount ${s}: unterminated quote`, { errno: "EINVAL" });
  out.push(cur);
  return out;
}

function parseBool(v: string | undefined, key: string, what: string): boolean {
  if (v === undefined || ["true", "1"].includes(v.toLowerCase())) return true;
  if (["false", "0"].includes(v.toLowerCase())) return false;
  throw new BunkerError(`run: ${what}: ${key}=${v} is not a boolean`, { errno: "EINVAL", fix: `use ${key}, ${key}=true or ${key}=false` });
}

const KEYS: Record<string, readonly string[]> = {
  bind: ["type", "source", "destination", "readonly", "bind-propagation"],
  volume: ["type", "source", "destination", "readonly", "volume-nocopy"],
  tmpfs: ["type", "destination", "readonly", "tmpfs-size", "tmpfs-mode"],
};
const ALIASES: Record<string, string> = { src: "source", dst: "destination", target: "destination", ro: "readonly" };

/**
 * `--mount type=bind|volume|tmpfs,…` in Docker's syntax: source|src,
 * destination|dst|target, readonly|ro[=BOOL]; bind: bind-propagation;
 * volume: volume-nocopy (no source: an anonymous volume); tmpfs: tmpfs-size, tmpfs-mode (octal).
 */
export function parseMountFlag(spec: string): MountRequest {
  const what = `--mount ${spec}`;
  const f = new Map<string, string | undefined>();
  for (const field of csvFields(spec)) {
    if (!field) continue;
    const eq = field.indexOf("=");
    const raw = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const key = ALIASES[raw] ?? raw;
    if (f.has(key)) throw new BunkerError(`run: ${what}: ${raw} given twice`, { errno: "EINVAL" });
    f.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = f.get("type") ?? "volume";
  const keys = KEYS[type];
  if (!keys) throw new BunkerError(`run: ${what}: unknown type "${type}"`, { errno: "EINVAL", fix: "use type=bind, type=volume or type=tmpfs" });
  for (const k of f.keys())
    if (!keys.includes(k)) throw new BunkerError(`run: ${what}: "${k}" does not apply to type=${type}`, { errno: "EINVAL", fix: `the keys of type=${type}: ${keys.join(", ")}` });
  for (const [k, v] of f) if (v === undefined && k !== "readonly" && k !== "volume-nocopy") throw new BunkerError(`run: ${what}: ${k} needs a value`, { errno: "EINVAL", fix: `${k}=VALUE` });
  const destination = checkDestination(f.get("destination"), what);
  const readonly = f.has("readonly") && parseBool(f.get("readonly"), "readonly", what);
  const source = f.get("source");
  if (type === "tmpfs") {
    const options: string[] = [];
    if (readonly) options.push("ro");
    const size = f.get("tmpfs-size");
    if (size !== undefined) options.push(`size=${parseBytes(size, `run: ${what}: tmpfs-size`)}`);
    const mode = f.get("tmpfs-mode");
    if (mode !== undefined) {
      if (!/^0?[0-7]{1,4}$/.test(mode)) throw new BunkerError(`run: ${what}: tmpfs-mode=${mode} is not an octal mode`, { errno: "EINVAL", fix: "e.g. tmpfs-mode=1777" });
      options.push(`mode=${mode.replace(/^0(?=.)/, "")}`);
    }
    return { type: "tmpfs", destination, options };
  }
  if (type === "bind") {
    if (!source) throw new BunkerError(`run: ${what}: a bind mount needs a source`, { errno: "EINVAL", fix: "add src=/host/path" });
    if (!isAbsolute(source)) throw badSource(source, what);
    const prop = f.get("bind-propagation");
    if (prop !== undefined && !(PROPAGATIONS as readonly string[]).includes(prop))
      throw new BunkerError(`run: ${what}: unknown bind-propagation "${prop}"`, { errno: "EINVAL", fix: `use one of ${PROPAGATIONS.join(", ")}` });
    return { type: "bind", source, destination, readonly, ...(prop ? { propagation: prop as Propagation } : {}) };
  }
  if (source !== undefined) checkVolumeName(source, `run: ${what}`);
  return { type: "volume", ...(source ? { name: source } : {}), destination, readonly, nocopy: f.has("volume-nocopy") && parseBool(f.get("volume-nocopy"), "volume-nocopy", what) };
}

/**
 * All requests of a run: the image's VOLUME paths become anonymous volumes
 * unless -v/--mount/--tmpfs already mounts something there (Docker's rule);
 * two requests for one destination are an error.
 */
export function mergeRequests(asked: MountRequest[], imageVolumes: string[]): MountRequest[] {
  const norm = (p: string) => p.replace(/\/+$/, "") || "/";
  const seen = new Set<string>();
  for (const r of asked) {
    const d = norm(r.destination);
    if (seen.has(d)) throw new BunkerError(`run: two mounts for ${d}`, { errno: "EINVAL", path: d, fix: "give each destination one -v, --mount or --tmpfs" });
    seen.add(d);
  }
  const fromImage: MountRequest[] = [];
  for (const v of imageVolumes) {
    const d = norm(v);
    if (!d.startsWith("/") || d === "/" || seen.has(d)) continue;
    seen.add(d);
    fromImage.push({ type: "volume", destination: d, readonly: false, nocopy: false });
  }
  return [...fromImage, ...asked];
}
