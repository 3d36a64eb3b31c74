// The running kernel's version, for features that depend on it.
import { release } from "node:os";

/** [major, minor] of RELEASE (default: this kernel), [0, 0] when unreadable.
 * No regular expression: this is on run IMAGE's path, where the first one costs ~0.3 ms. */
export function kernelVersion(rel = release()): [number, number] {
  const [maj, min] = rel.split(".", 2).map((x) => Number.parseInt(x, 10));
  return Number.isInteger(maj) && Number.isInteger(min) ? [maj!, min!] : [0, 0];
}

export function kernelAtLeast(major: number, minor: number, rel?: string): boolean {
  const [maj, min] = kernelVersion(rel);
  return maj > major || (maj === major && min >= minor);
}

/** tmpfs keeps user.* xattrs from Linux 6.6 on (an overlay upper there needs them) */
export function tmpfsHasUserXattrs(rel?: string): boolean {
  return kernelAtLeast(6, 6, rel);
}
