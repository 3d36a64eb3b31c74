// Platform selection from an OCI index / Docker manifest list.
import { arch } from "node:os";
import { BunkerError } from "../errors.ts";
import type { Descriptor, Platform } from "./types.ts";

const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** linux/<this machine's GOARCH> (amd64 on x86_64). */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: GOARCH[arch()] ?? arch() };
}

/** Parses os/arch[/variant]. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split("/");
  if (!os || !architecture) throw new BunkerError(`invalid platform "${s}"`, { errno: "EINVAL", fix: "use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8" });
  return { os, architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** The manifest of MANIFESTS for WANT (an exact variant first, then any variant). */
export function choosePlatform(manifests: Descriptor[], want: Platform, where: string): Descriptor {
  const cand = manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  const pick = (want.variant ? cand.find((m) => m.platform!.variant === want.variant) : undefined) ?? cand[0];
  if (pick) return pick;
  // an index without platform fields (some OCI layouts): a single manifest is the answer
  const plain = manifests.filter((m) => !m.platform && m.mediaType !== "application/vnd.oci.image.index.v1+json");
  if (plain.length === 1 && manifests.length === 1) return plain[0]!;
  const have = manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!)).join(", ") || "none";
  throw new BunkerError(`${where} has no image for ${formatPlatform(want)} (it has: ${have})`, { errno: "ENOENT", fix: "choose one with --platform" });
}
