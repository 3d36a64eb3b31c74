// The running kernel's version, for features that depend on it.  Read from
// /proc/sys/kernel/osrelease (uname's release) through fs-core, not node:os:
// that module's load (~40 page faults, its own JavaScript) was on every run's
// path for this one string.
import { readText } from "./fs-core.ts";

let cached: string | undefined;
/** uname(2)'s release of this kernel ("6.8.0-45-generic"), as node:os's release() */
export function osRelease(): string {
  if (cached === undefined) {
    try {
      cached = readText("/proc/sys/kernel/osrelease").trim();
    } catch {
      cached = (require("node:os") as typeof import("node:os")).release(); // no /proc: uname itself
    }
  }
  return cached;
}

/** [major, minor] of RELEASE (default: this kernel), [0, 0] when unreadable.
 * No regular expression: this is on run IMAGE's path, where the first one costs ~0.3 ms. */
export function kernelVersion(rel = osRelease()): [number, number] {
  const parts = rel.split(".", 2);
  const maj = Number.parseInt(parts[0] ?? "", 10), min = Number.parseInt(parts[1] ?? "", 10);
  return Number.isInteger(maj) && Number.isInteger(min) ? [maj, min] : [0, 0];
}

export function kernelAtLeast(major: number, minor: number, rel?: string): boolean {
  const [maj, min] = kernelVersion(rel);
  return maj > major || (maj === major && min >= minor);
}

/** tmpfs keeps user.* xattrs from Linux 6.6 on (an overlay upper there needs them) */
export function tmpfsHasUserXattrs(rel?: string): boolean {
  return kernelAtLeast(6, 6, rel);
}
