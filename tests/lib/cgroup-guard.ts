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
