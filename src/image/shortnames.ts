// Short (unqualified) image names: `x`, `team/x:1` name no registry.  Docker
// reads them as docker.io's; registries.conf's unqualified-search-registries
// may list others, tried in order when pulling.  In the store a short name is
// looked for as Docker's name first, then as localhost/x (what `bunker load`,
// `tag` and `build` give local images), then in the other search registries.
import { formatReference, parseReference } from "./reference.ts";

/** REF names no registry host: its first component has no "." or ":" and is not localhost */
export function isShortName(ref: string): boolean {
  const name = ref.split("@")[0]!;
  const slash = name.indexOf("/");
  if (slash < 0) return true;
  const first = name.slice(0, slash);
  return !(first.includes(".") || first.includes(":") || first === "localhost");
}

/** REF in each registry of SEARCH, in order: x -> docker.io/library/x:latest, reg:5000/x:latest */
export function expandShortName(ref: string, search: readonly string[]): string[] {
  return [...new Set(search.map((r) => formatReference(parseReference(`${r}/${ref}`))))];
}

/** the full names a short REF may have in the store, in the order they are looked for */
export function localCandidates(ref: string, search: readonly string[]): string[] {
  return [...new Set([formatReference(parseReference(ref)), formatReference(parseReference(`localhost/${ref}`)), ...expandShortName(ref, search)])];
}
