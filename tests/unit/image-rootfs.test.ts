import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { loadArchive } from "../../src/image/archive.ts";
import { flattenImageRootfs, prepareImageRootfs, readImageFile } from "../../src/image/rootfs.ts";
import { resolveUser } from "../../src/oci/user.ts";

const resolveImageUser = (lowerDirs: string[], user: string) => resolveUser(user, { passwd: readImageFile(lowerDirs, "/etc/passwd"), group: readImageFile(lowerDirs, "/etc/group"), of: "the image" });
import { Store } from "../../src/image/store.ts";
import { imageOwnerMaps } from "../../src/image/owners.ts";
import { singleMaps } from "../../src/sys/idmap.ts";
import { buildImage, ociLayoutFiles, tarOfFiles } from "../lib/image-builder.ts";
import { removeDir, statInUserns, tempDir, xattr } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterEach(async () => { while (dirs.length) await removeDir(dirs.pop()!); });
function fresh(): string { const d = tempDir(); dirs.push(d); return d; }

async function loaded(extraLayers?: NonNullable<Parameters<typeof buildImage>[0]>["extraLayers"]) {
  const root = fresh();
  const file = `${fresh()}/img.tar`;
  writeFileSync(file, tarOfFiles(ociLayoutFiles([{ target: buildImage({ extraLayers }), name: "example.com/busy:1" }])));
  await loadArchive(new Store(root), file);
  return root;
}

describe("image rootfs for bunker run", () => {
  test("prepareImageRootfs: lower dirs topmost first, config, no pull for a stored image", async () => {
    const root = await loaded();
    const img = await prepareImageRootfs("example.com/busy:1", { dataRoot: root, pull: "never" });
    expect(img.lowerDirs.length).toBe(3);
    expect(existsSync(`${img.lowerDirs[0]}/app/hello`)).toBe(true);
    expect(existsSync(`${img.lowerDirs[2]}/bin/busybox`)).toBe(true);
    expect(img.lowerDirsRelative[0]).toMatch(/^[a-f0-9]{64}$/);
    expect(img.config).toMatchObject({ Entrypoint: ["/app/hello"], Cmd: ["world"], WorkingDir: "/app", StopSignal: "SIGTERM" });
    await expect(prepareImageRootfs("example.com/other:1", { dataRoot: root, pull: "never" })).rejects.toThrow(/no such image/);
  });

  test("readImageFile honours whiteouts and opaque dirs; users resolve through /etc/passwd", async () => {
    const root = await loaded();
    const { lowerDirs } = await prepareImageRootfs("example.com/busy:1", { dataRoot: root, pull: "never" });
    expect(readImageFile(lowerDirs, "/del/me")).toBeUndefined();
    expect(readImageFile(lowerDirs, "/del/keep")).toBe("keep me\n");
    expect(readImageFile(lowerDirs, "/opq/old-a")).toBeUndefined();
    expect(readImageFile(lowerDirs, "/opq/new")).toBe("new in layer 2\n");
    expect(resolveImageUser(lowerDirs, "app")).toEqual({ uid: 1000, gid: 1000, additionalGids: [], home: "/home/app" });
    expect(resolveImageUser(lowerDirs, "1000:nogroup")).toMatchObject({ uid: 1000, gid: 65534 });
    expect(resolveImageUser(lowerDirs, "")).toMatchObject({ uid: 0, gid: 0 });
    expect(() => resolveImageUser(lowerDirs, "ghost")).toThrow("unable to find user ghost: no matching entries in passwd file");
  });

  test("flattenImageRootfs: the copy fallback merges the unpacked layers (whiteouts, opaque dirs, owners, modes, xattrs, links)", async () => {
    // a fourth layer: a hard link within it, whiteouts of lower files, a dir replacing a lower file
    const root = await loaded([[
      { name: "x/a", data: "linked\n" },
      { name: "x/b", type: "hardlink", linkname: "x/a" },
      { name: "usr/lib/.wh.libfake.so", data: "" },
      { name: "app/.wh.hello", data: "" },
      { name: "del/keep", type: "dir", mode: 0o750 },
      { name: "del/keep/inner", data: "now a dir\n" },
    ]]);
    const dest = `${fresh()}/rootfs`;
    // the container's maps, as bunker run passes them: none as root; as a user with a range the layers' own (--userns=auto)
    const maps = imageOwnerMaps();
    await flattenImageRootfs("example.com/busy:1", dest, { dataRoot: root, pull: "never", maps });
    expect(readdirSync(`${dest}/del`)).toEqual(["keep"]);
    expect(statSync(`${dest}/del/keep`).mode & 0o7777).toBe(0o750);
    expect(readFileSync(`${dest}/del/keep/inner`, "utf8")).toBe("now a dir\n");
    expect(readdirSync(`${dest}/opq`)).toEqual(["new"]);
    // a link within a layer stays one; across layers (busybox-hardlink is in layer 2) the copy has two files, as overlayfs shows them
    expect(statSync(`${dest}/x/b`).ino).toBe(statSync(`${dest}/x/a`).ino);
    expect(readFileSync(`${dest}/bin/busybox-hardlink`).equals(readFileSync(`${dest}/bin/busybox`))).toBe(true);
    expect(existsSync(`${dest}/usr/lib/libfake.so`)).toBe(false);
    expect(existsSync(`${dest}/app/hello`)).toBe(false);
    expect(xattr(`${dest}/data/attr`, "user.bunker.test")).toBe("hello");
    expect(readFileSync(`${dest}/data/shared`, "utf8")).toBe("shared inode\n");
    // owners and modes as the tar had them, as the container sees them (root: no user namespace, the tar's
    // ids on the host; a user with a range: the subordinate ids that the container's map shows as the tar's), set-uid kept
    const owned = await statInUserns(`${dest}/home/app/owned`, maps);
    const [uid, gid] = process.getuid!() === 0 || maps ? [1000, 1000] : [process.getuid!(), process.getgid!()];
    expect(owned).toEqual([uid!, gid!, 0o640]);
    // ... and on the host, the range's ids (0 -> the caller, 1.. -> the range's start)
    if (maps) expect([statSync(`${dest}/home/app`).uid, statSync(`${dest}/home/app`).gid]).toEqual([maps.uid[1]!.hostID + 999, maps.gid[1]!.hostID + 999]);
    expect(statSync(`${dest}/app/setuid`).mode & 0o7777).toBe(0o4755);
    expect(readFileSync(`${dest}/app/ünïcødé`, "utf8")).toBe("utf8\n");
    // no overlay metadata in the copy (opq is opaque in its layer)
    expect(xattr(`${dest}/opq`, "user.overlay.opaque")).toBeUndefined();
    expect(statSync(`${dest}/bin/busybox`).mtimeMs).toBe(1700000000 * 1000);
  });

  // a user with a range, a container with another map (--userns=single): the layers are read in their map, every file is the caller's
  test.skipIf(process.getuid!() === 0 || !imageOwnerMaps())("flattenImageRootfs for a one-id map on subuid-owned layers: every file the caller's, the records kept", async () => {
    const root = await loaded();
    const dest = `${fresh()}/rootfs`;
    await flattenImageRootfs("example.com/busy:1", dest, { dataRoot: root, pull: "never", maps: singleMaps(process.getuid!(), process.getgid!()) });
    const st = statSync(`${dest}/home/app/owned`);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([process.getuid!(), process.getgid!(), 0o640]);
    expect(xattr(`${dest}/home/app/owned`, "user.containers.override_stat")).toBe("1000:1000:0640:file");
    expect(statSync(`${dest}/app/setuid`).mode & 0o7777).toBe(0o4755);
    expect(readdirSync(`${dest}/opq`)).toEqual(["new"]);
  });

  test("the layers mount as overlayfs with userxattr inside a user namespace", async () => {
    const root = await loaded();
    const img = await prepareImageRootfs("example.com/busy:1", { dataRoot: root, pull: "never" });
    const w = fresh();
    const script = `mkdir -p ${w}/u ${w}/w ${w}/m && mount -t overlay overlay -o lowerdir=${img.lowerDirs.join(":")},upperdir=${w}/u,workdir=${w}/w,userxattr ${w}/m && ls ${w}/m/del ${w}/m/opq && cat ${w}/m/opq/new && ${w}/m/bin/busybox echo ok`;
    const r = spawnSync("unshare", ["-Urm", "sh", "-c", script], { encoding: "utf8" });
    if (r.status !== 0 && /Operation not permitted|permission denied/i.test(r.stderr)) return; // no user namespaces here
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${w}/m/del:\nkeep\n\n${w}/m/opq:\nnew\nnew in layer 2\nok\n`);
  });
});
