// The client tests' proof that nothing wrote to the host's cgroup trees: every
// directory under /sys/fs/cgroup (4 levels deep) before and after, but for the
// machine supervisor's groups of its other commands: siblings of the test's own
// group (this host's supervisor puts each command it runs in a v1 memory group
// memory/process_api/HASH of its own, made while the test runs).
import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** the test process's own cgroup directories (not the root of a hierarchy) */
function ownGroups(): Set<string> {
  const own = new Set<string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (!controllers || !path || path === "/") continue;
    for (const c of controllers.split(",")) own.add(`/sys/fs/cgroup/${c.replace(/^name=/, "")}${path}`);
  }
  return own;
}

export function cgroupDirs(): string[] {
  const out: string[] = [];
  const own = ownGroups();
  const parents = new Set([...own].map((g) => dirname(g)));
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries)
      if (e.isDirectory() && (!parents.has(dir) || own.has(`${dir}/${e.name}`))) {
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
