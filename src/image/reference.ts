// Image references, normalized as Docker does: `busybox` is
// docker.io/library/busybox:latest, whose registry host is registry-1.docker.io.
import { BunkerError } from "../errors.ts";

export interface Reference {
  /** registry as written (docker.io for Docker Hub) */
  registry: string;
  /** repository path, e.g. library/busybox */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = "docker.io";

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

function invalid(ref: string, why: string): BunkerError {
  return new BunkerError(`invalid image reference "${ref}": ${why}`, { errno: "EINVAL", fix: "use [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. busybox or 127.0.0.1:5000/app:1.0" });
}

export function parseReference(ref: string): Reference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, "the digest must be sha256: and 64 hex digits");
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `bad tag "${tag}"`);
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  if (parts.length > 1 && (parts[0]!.includes(".") || parts[0]!.includes(":") || parts[0] === "localhost")) registry = parts.shift()!;
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  if (!parts.length || parts.some((p) => !COMPONENT.test(p))) throw invalid(ref, "repository names are lowercase letters, digits and separators");
  if (!tag && !digest) tag = "latest";
  return { registry, repository: parts.join("/"), tag, digest };
}

/** registry/repository (no tag or digest) */
export function repoName(r: Reference): string {
  return `${r.registry}/${r.repository}`;
}

/** The full name: registry/repository:tag or @digest. */
export function formatReference(r: Reference): string {
  return `${repoName(r)}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}

/** The host to talk to for REGISTRY. */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB ? "registry-1.docker.io" : registry;
}

/** A short display form: docker.io/library/x -> x (as docker prints). */
export function shortName(name: string): string {
  return name.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}
