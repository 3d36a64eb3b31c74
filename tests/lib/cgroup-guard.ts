// The client tests' proof that nothing wrote to the host's cgroup trees: every
// directory under /sys/fs/cgroup (4 levels deep) before and after.
import { readdirSync } from "node:fs";

export function cgroupDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries)
      if (e.isDirectory()) {
        out.push(`${dir}/${e.name}`);
        if (depth < 4) walk(`${dir}/${e.name}`, depth + 1);
      }
  };
  walk("/sys/fs/cgroup", 0);
  return out.sort();
}

/**
 * The start of a daemon's start script, run in a private mount namespace
 * (`unshare --mount --propagation private sh SCRIPT`): the cgroup trees are
 * unmounted there only, and the script stops (exit 99) if any cgroup mount is
 * still visible, so neither DAEMON nor what it starts can write to them.
 */
export function noCgroupsPreamble(daemon: string): string {
  return (
    `#!/bin/sh\n# in a private mount namespace: take the cgroup trees away (here only), refuse if any is left\n` +
    `umount -R /sys/fs/cgroup 2>/dev/null\n` +
    `if grep -qE ' - cgroup2? ' /proc/self/mountinfo; then echo "a cgroup file system is still mounted: not starting ${daemon}" >&2; exit 99; fi\n`
  );
}
