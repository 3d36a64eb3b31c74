// An image's file owners inside `bunker run IMAGE`, with both storage drivers:
// unprivileged with a /etc/subuid range the layers on disk belong to the
// image's owners as subordinate ids (root: the tar's own ids), a container
// with the default map sees them, non-root image users write their own
// files, and rmi removes every layer (0700 dirs of other ids, mode-0 dirs).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { USERS, bunkerAs, isRoot, makeTempDir, ownerOf, removeTree, subRange, type As } from "../lib/index.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";
import type { TarInput } from "../../src/image/tarwriter.ts";
import { chainIds } from "../../src/image/digest.ts";

const d = isRoot() ? describe : describe.skip;
const APP = { uid: 1000, gid: 1000 };
const WWW = { uid: 33, gid: 33 };

/** owners the standard layers lack: a private dir of uid 33, a setgid file, a mode-0 dir, and a directory
 * large enough (long names, subdirs in between) that the shim's walk re-reads it after each subdir */
function ownersLayer(): TarInput[] {
  const many: TarInput[] = [{ name: "many/", type: "dir", ...APP }];
  for (let i = 0; i < 300; i++) {
    many.push({ name: `many/${"f".repeat(120)}-${i}`, data: `${i}\n`, ...APP });
    if (i % 30 === 0) many.push({ name: `many/sub-${i}/`, type: "dir", ...APP }, { name: `many/sub-${i}/deep`, data: "d\n", ...APP });
  }
  return [
    { name: "home/", type: "dir", mode: 0o755 },
    { name: "home/app/", type: "dir", mode: 0o750, ...APP },
    { name: "home/app/sg", data: "sg\n", mode: 0o2755, ...APP },
    { name: "www/", type: "dir", mode: 0o700, ...WWW },
    { name: "www/index", data: "www\n", mode: 0o600, ...WWW },
    { name: "pub", data: "public\n", mode: 0o644, ...APP },
    { name: "zero/", type: "dir", mode: 0, ...APP },
    ...many,
  ];
}

for (const as of USERS) {
  d(`image owners as ${as}`, () => {
    let dir: string, store: string, state: string;
    const img = buildImage({ extraLayers: [ownersLayer()] });
    const b = (args: string[], env: Record<string, string> = {}) => bunkerAs(as, ["--data-root", store, "--root", state, ...args], { cwd: dir, env });
    // root's default map is its own id alone; --userns=auto maps 0..65536 to themselves
    const userns = as === "root" ? ["--userns=auto"] : [];
    const run = (driver: string, args: string[]) => b(["--storage-driver", driver, "run", ...userns, ...args]);
    const hostId = (id: number) => (as === "root" ? id : subRange("/etc/subuid", as)!.start + id - 1);

    beforeAll(async () => {
      dir = makeTempDir("bunker-img-owners", ownerOf(as));
      store = `${dir}/store`;
      state = `${dir}/state`;
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image: img, tags: ["test/owners:1"] }]));
      const r = await b(["load", "-i", `${dir}/img.tar`]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("Loaded image: test/owners:1\n");
    });
    afterAll(() => removeTree(dir));

    test("on disk: the layer's files belong to the image's owners (subuid start + N - 1 rootless, N as root)", () => {
      if (as === "user") expect(subRange("/etc/subuid", as)).toBeDefined();
      const top = `${store}/layers/${chainIds(img.config.rootfs.diff_ids).at(-1)!.slice(7)}`;
      const st = statSync(`${top}/home/app/sg`);
      expect([st.uid, st.gid]).toEqual([hostId(1000), hostId(1000)]);
      expect(st.mode & 0o7777).toBe(0o2755); // the chown did not drop set-group-ID
      const www = lstatSync(`${top}/www`);
      expect([www.uid, www.mode & 0o7777]).toEqual([hostId(33), 0o700]);
      expect(lstatSync(`${top}/many/sub-90`).uid).toBe(hostId(1000));
      const base = `${store}/layers/${chainIds(img.config.rootfs.diff_ids)[0]!.slice(7)}`;
      expect(statSync(`${base}/bin/busybox`).uid).toBe(ownerOf(as).uid); // image root = the caller
    });

    for (const driver of ["overlay", "copy"]) {
      test(`${driver}: the container sees the image's owners, chown works, non-root users write their own dirs`, async () => {
        const r = await run(driver, ["--entrypoint", "sh", "test/owners:1", "-c",
          "stat -c '%n %u:%g %a' /home/app/owned /home/app/sg /www /www/index /zero; /bin/busybox find /many ! -user 1000 | /bin/busybox wc -l; /bin/busybox chown 5:5 /home/app/owned && stat -c %u:%g /home/app/owned"]);
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("/home/app/owned 1000:1000 640\n/home/app/sg 1000:1000 2755\n/www 33:33 700\n/www/index 33:33 600\n/zero 1000:1000 0\n0\n5:5\n");
        const app = await run(driver, ["-u", "1000", "--entrypoint", "sh", "test/owners:1", "-c", "touch /home/app/x && echo app wrote; touch /www/y 2>/dev/null || echo www denied"]);
        expect(app.stdout).toBe("app wrote\nwww denied\n");
        const www = await run(driver, ["-u", "33:33", "--entrypoint", "sh", "test/owners:1", "-c", "touch /www/y && stat -c %u:%g /www/y"]);
        expect(www.stdout).toBe("33:33\n");
      });

      test(`${driver}: the root is ${driver === "overlay" ? "an overlay" : "a private copy, not an overlay"}; nothing is left in the state dir`, async () => {
        const r = await run(driver, ["--entrypoint", "sh", "test/owners:1", "-c", "while read -r a b c d mp rest; do [ \"$mp\" = / ] && echo \"${rest##* - }\"; done < /proc/self/mountinfo"]);
        expect(r.stderr).toBe("");
        const fstype = r.stdout.trim().split(" ")[0];
        if (driver === "overlay") expect(fstype).toBe("overlay");
        else expect(fstype).not.toBe("overlay");
        expect(readdirSync(state)).toEqual([]);
      });
    }

    if (as === "user") {
      test("--userns=single on subuid-owned layers: other users' files show as nobody, the container still runs", async () => {
        for (const driver of ["overlay", "copy"]) {
          const r = await b(["--storage-driver", driver, "run", "--userns=single", "--entrypoint", "sh", "test/owners:1", "-c", "stat -c %u:%g /pub; cat /pub; stat /www >/dev/null 2>&1 || echo www hidden"]);
          expect(r.stderr).toBe("");
          // the copy is merged for this map: every file is the caller's (root inside)
          expect(r.stdout).toBe(driver === "overlay" ? "65534:65534\npublic\nwww hidden\n" : "0:0\npublic\n");
          expect(r.code).toBe(0);
        }
      });
    }

    test("bunker check names the storage driver run IMAGE uses", async () => {
      const forced = await b(["check"], { BUNKER_STORAGE_DRIVER: "copy" });
      expect(forced.stdout).toMatch(/^ok\s+storage driver\s+copy \(set by BUNKER_STORAGE_DRIVER\): run IMAGE makes a private copy of the image for each container \(reflinks where the filesystem shares blocks\)/m);
      const flag = await b(["--storage-driver", "overlay", "check"]);
      expect(flag.stdout).toMatch(/^ok\s+storage driver\s+overlay \(set by --storage-driver\): run IMAGE mounts the layers/m);
      const probed = await b(["check"]);
      // this kernel mounts overlay in a user namespace (the overlayfs line says so)
      expect(probed.stdout).toMatch(/^ok\s+overlayfs\s+kernel overlayfs works/m);
      expect(probed.stdout).toMatch(/^ok\s+storage driver\s+overlay \(kernel overlayfs works in a user namespace\)/m);
      const bad = await b(["--storage-driver", "vfs", "run", "test/owners:1"]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toBe('bunker: --storage-driver: unknown storage driver "vfs": EINVAL (Invalid argument) — use overlay or copy\n');
    });

    test("rmi removes every layer, private and mode-0 dirs of other ids included", async () => {
      const r = await b(["rmi", "test/owners:1"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("Deleted: sha256:");
      expect(readdirSync(`${store}/layers`)).toEqual([]);
      expect(readdirSync(`${store}/tmp`)).toEqual([]);
      expect(readdirSync(`${store}/blobs/sha256`)).toEqual([]);
    });
  });
}
