// A describe block's private state and data roots with a busybox image
// loaded (root or the test user): `b` runs bunker on them, `quiet` too with
// the container's stdio its own (no pipe of the test held by a detached
// container); afterwards every container left is removed by bunker (rm -f,
// its state), then the dir.
import { afterAll, beforeAll, expect } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxArchive } from "./image-builder.ts";
import { asUserArgv, bunkerAs, bunkerBinary, runAs, type As, type RunResult } from "./bunker.ts";
import { makeTempDir, removeTree } from "./rootfs.ts";
import { ownerOf } from "./bunker.ts";

export interface ImageRoots {
  base: string;
  roots: string[];
  b(args: string[]): Promise<RunResult>;
  quiet(args: string[]): Promise<RunResult>;
}

export function imageRootsFixture(as: As, prefix: string, image: string, applets: string[]): ImageRoots {
  const f: ImageRoots = {
    base: "",
    roots: [],
    b: (args) => bunkerAs(as, [...f.roots, ...args]),
    quiet: (args) => runAs(as, asUserArgv(as, ["sh", "-c", `exec "$0" "$@" 2>&1 </dev/null`, bunkerBinary(), ...f.roots, ...args])),
  };
  beforeAll(async () => {
    f.base = makeTempDir(prefix, ownerOf(as));
    f.roots = ["--root", join(f.base, "state"), "--data-root", join(f.base, "data")];
    const archive = join(f.base, "image.tar");
    writeFileSync(archive, busyboxArchive(image, applets));
    const r = await f.b(["load", "-i", archive]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    for (const id of (await f.b(["ps", "-aq"])).stdout.split("\n").filter(Boolean)) await f.b(["rm", "-f", id]);
    removeTree(f.base);
  });
  return f;
}
