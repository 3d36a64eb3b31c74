// Which container uses an image: `run IMAGE` records "<image id> <bunker pid>"
// in its state dir's `image` file before it starts the container; rmi refuses
// an image a live one uses: one whose process (state.json, once started) is
// alive, or, before that, whose bunker is; or one that keeps its writable
// layer (a stopped -d or created container: `start` mounts it on the image's
// layers again).  (A detached container outlives its bunker: the bunker pid
// alone let rmi take its layers from under it.)
import { BunkerError, errnoCode } from "../errors.ts";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "../sys/fs-sync.ts";
import { readState, UPPER_DIR } from "./state.ts";
import { pidStartTime } from "../sys/proc.ts";

export function recordImageUse(dir: string, imageId: string): void {
  writeFileSync(`${dir}/image`, `${imageId} ${process.pid}\n`);
}

/** the ID of the image the container in DIR was made from (undefined: none, or not recorded) */
export function imageOf(dir: string): string | undefined {
  try {
    return readFileSync(`${dir}/image`, "utf8").split(" ")[0] || undefined;
  } catch {
    return undefined;
  }
}

/** VERB of container ID needs the image IMAGE_ID it was made from, which is no longer in the store */
export function imageGone(verb: string, id: string, imageId: string): BunkerError {
  return new BunkerError(`${verb}: the image container "${id}" was made from (${imageId}) is no longer in the store`, { errno: "ENOENT", fix: `pull or load it again, or bunker rm ${id}` });
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
    if (existsSync(`${root}/${name}/${UPPER_DIR}`)) return name; // a stopped container's writable layer lies over its layers
    let state;
    try {
      state = readState(root, name);
    } catch {
      state = undefined; // unreadable: judged by the bunker pid
    }
    if (state?.pid && state.pidStart && pidStartTime(state.pid) === state.pidStart) return name; // the container runs
    try {
      process.kill(Number(pid), 0); // the bunker that starts or runs it is alive (a killed one left a stale dir)
      return name;
    } catch (e) {
      if (errnoCode(e) === "EPERM") return name;
    }
  }
  return undefined;
}
