// The copy storage driver on a filesystem that shares blocks: the container's
// private rootfs is made of reflinks of the store's unpacked layers (FICLONE),
// so it costs no data blocks.  An XFS image (reflink=1) is loop-mounted for
// the test (root; skipped where no loop device can be had), holding the store
// and the state dir, as root and as the unprivileged user.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { USERS, bunkerAs, chownTree, isRoot, makeTempDir, ownerOf, removeTree } from "../lib/index.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";

function sh(argv: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

/** extents of PATH that share their blocks with another file (filefrag's "shared" flag) */
function sharedExtents(path: string): number {
  return sh(["filefrag", "-v", path]).out.split("\n").filter((l) => /\bshared\b/.test(l)).length;
}

let base = "";
let mounted = false;
let why = "";
if (isRoot() && Bun.which("mkfs.xfs") && Bun.which("filefrag")) {
  base = makeTempDir("bunker-reflink");
  const img = `${base}.img`;
  const steps = [["truncate", "-s", "320M", img], ["mkfs.xfs", "-q", "-m", "reflink=1", img], ["mount", "-o", "loop", img, base]];
  for (const s of steps) {
    const r = sh(s);
    if (!r.ok) {
      why = `${s.join(" ")}: ${r.out.trim()}`;
      break;
    }
  }
  mounted = why === "";
  if (mounted) chmodSync(base, 0o755);
  else rmSync(img, { force: true });
} else why = "needs root, mkfs.xfs and filefrag";
if (!mounted) console.error(`image-copy-reflink: skipped (${why})`);

afterAll(() => {
  if (!base) return;
  if (mounted) sh(["umount", base]);
  rmSync(`${base}.img`, { force: true });
  removeTree(base);
});

for (const as of USERS) {
  describe.skipIf(!mounted)(`copy storage driver on XFS (reflink) as ${as}`, () => {
    let dir: string;
    const b = (args: string[]) => bunkerAs(as, ["--data-root", `${dir}/store`, "--root", `${dir}/state`, "--storage-driver", "copy", ...args], { cwd: dir });
    beforeAll(async () => {
      dir = `${base}/${as}`;
      mkdirSync(dir);
      chownTree(dir, ownerOf(as));
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: buildImage(), tags: ["test/app:1"] }]));
      expect((await b(["load", "-i", `${dir}/img.tar`])).code).toBe(0);
    });
    afterAll(async () => {
      await b(["rmi", "-f", "test/app:1"]);
    });

    test("the container's rootfs is a merged copy whose files are reflinks of the layers'", async () => {
      const run = await b(["run", "-d", "--entrypoint", "sleep", "test/app:1", "30"]);
      expect(run.stderr).toBe("");
      const id = run.stdout.trim();
      try {
        const rootfs = `${dir}/state/${id}/rootfs`;
        // a private copy, not an overlay: the image's content, whiteouts applied
        const seen = await b(["exec", id, "sh", "-c", "head -1 /app/hello; ls /del"]);
        expect(seen.stdout.split("\n").slice(0, 2)).toEqual(["#!/bin/sh", "keep"]);
        expect(readdirSync(`${rootfs}/bin`)).toContain("busybox");
        // busybox (2 MB) shares every block with the store's copy: no data was copied
        expect(sharedExtents(`${rootfs}/bin/busybox`)).toBeGreaterThan(0);
      } finally {
        await b(["rm", "-f", id]);
      }
    });
  });
}
