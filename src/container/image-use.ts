// Which container uses an image: `run IMAGE` records "<image id> <bunker pid>"
// in its state dir's `image` file; rmi refuses an image a live one uses.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

export function recordImageUse(dir: string, imageId: string): void {
  writeFileSync(`${dir}/image`, `${imageId} ${process.pid}\n`);
}

export function containerUsingImage(root: string, imageId: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return undefined;
  }
  for (const name of names) {
    let rec: string;
    try {
      rec = readFileSync(`${root}/${name}/image`, "utf8");
    } catch {
      continue;
    }
    const [id, pid] = rec.trim().split(" ");
    if (id !== imageId) continue;
    try {
      process.kill(Number(pid), 0); // the bunker that runs it is alive (a killed one left a stale dir)
      return name;
    } catch (e) {
      if ((e as { code?: string }).code === "EPERM") return name;
    }
  }
  return undefined;
}
