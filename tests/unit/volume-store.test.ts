// The volume store (made, listed, read, removed), a run's mount requests made real
// (bind sources checked, volumes made, copy-up decided, use recorded), and the
// in-use rule of volume rm and prune: on a temp dir, no privileges.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "../lib/error-line.ts";
import { singleMaps } from "../../src/sys/idmap.ts";
import { ANONYMOUS_LABEL, ensureVolume, isEmptyVolume, listVolumes, readVolume } from "../../src/volume/store.ts";
import { attachMounts, containersUsing, readVolumeUse, recordVolumeUse, type VolumeUse } from "../../src/volume/attach.ts";
import { listMatching, parseVolumeFilters, pruneVolumes, removeNamedVolume, type VolumeContext } from "../../src/volume/manage.ts";
import { parseVolumeFlag } from "../../src/volume/spec.ts";

let dir: string, ctx: VolumeContext;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bunker-volstore-"));
  ctx = { dataRoot: join(dir, "data"), stateRoot: join(dir, "state"), maps: singleMaps(process.getuid!(), process.getgid!()), root: process.getuid!() === 0 };
  mkdirSync(ctx.stateRoot);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** a container dir under the state root that uses USE */
function container(id: string, use: VolumeUse): void {
  mkdirSync(join(ctx.stateRoot, id));
  recordVolumeUse(join(ctx.stateRoot, id), use);
}

describe("the store", () => {
  test("made once (a second ensure returns it as it is), read back with Docker's fields, listed by name", () => {
    const a = ensureVolume(ctx.dataRoot, "b-vol", { k: "v" });
    expect(a.created).toBe(true);
    expect(ensureVolume(ctx.dataRoot, "b-vol", { other: "x" })).toEqual({ volume: a.volume, created: false });
    expect(a.volume).toMatchObject({ Driver: "local", Labels: { k: "v" }, Mountpoint: `${ctx.dataRoot}/volumes/b-vol/_data`, Name: "b-vol", Options: {}, Scope: "local" });
    const anon = ensureVolume(ctx.dataRoot, undefined, { [ANONYMOUS_LABEL]: "" }).volume;
    expect(anon.Name).toMatch(/^[0-9a-f]{64}$/);
    mkdirSync(`${ctx.dataRoot}/volumes/.tmp-1-x`); // a create in progress is not a volume
    expect(listVolumes(ctx.dataRoot).map((v) => v.Name)).toEqual([anon.Name, "b-vol"].sort());
    expect(readVolume(ctx.dataRoot, "missing")).toBeUndefined();
  });
  test("empty until something is written", () => {
    const v = ensureVolume(ctx.dataRoot, "e").volume;
    expect(isEmptyVolume(v)).toBe(true);
    writeFileSync(join(v.Mountpoint, "f"), "x");
    expect(isEmptyVolume(v)).toBe(false);
  });
});

describe("a run's mounts", () => {
  test("volumes made and recorded, copy-up for new or empty ones of an image run unless nocopy, outermost first", () => {
    writeFileSync(join(dir, "host"), "h");
    const full = ensureVolume(ctx.dataRoot, "full").volume;
    writeFileSync(join(full.Mountpoint, "f"), "x");
    const seen: VolumeUse[] = [];
    const m = attachMounts(
      [parseVolumeFlag("full:/a/b"), parseVolumeFlag("fresh:/a"), parseVolumeFlag("/anon"), parseVolumeFlag(`${dir}/host:/h:ro`), parseVolumeFlag("fresh2:/n:nocopy")],
      ctx.dataRoot, true, (u) => seen.push(structuredClone(u)));
    expect(m.binds.map((b) => [b.destination, !!b.copyUp])).toEqual([["/a", true], ["/anon", true], ["/h", false], ["/n", false], ["/a/b", false]]);
    expect(m.binds[2]).toEqual({ source: `${dir}/host`, destination: "/h", readonly: true });
    const anon = listVolumes(ctx.dataRoot).find((v) => ANONYMOUS_LABEL in v.Labels)!;
    expect(seen.at(-1)).toEqual({ dirs: ["fresh", anon.Name, "fresh2", "full"].map((n) => `${ctx.dataRoot}/volumes/${n}`), anonymous: [`${ctx.dataRoot}/volumes/${anon.Name}`] });
    expect(seen.length).toBe(4); // after each volume made
    // a --rootfs run: no copy-up
    expect(attachMounts([parseVolumeFlag("other:/o")], ctx.dataRoot, false, () => {}).binds[0]!.copyUp).toBeUndefined();
  });
  test("a volume mounted twice is filled by its first mount only; release unlocks (twice is harmless)", () => {
    const m = attachMounts([parseVolumeFlag("twice:/b"), parseVolumeFlag("twice:/a")], ctx.dataRoot, true, () => {});
    expect(m.binds.map((b) => [b.destination, !!b.copyUp])).toEqual([["/b", true], ["/a", false]]);
    m.release();
    m.release();
    // unlocked: another run decides (and locks) at once
    attachMounts([parseVolumeFlag("twice:/c")], ctx.dataRoot, true, () => {}).release();
  });
  test("a missing bind source fails before any volume is made", () => {
    expect(messageOf(() => attachMounts([parseVolumeFlag("v:/v"), parseVolumeFlag(`${dir}/nope:/x`)], ctx.dataRoot, true, () => {}))).toBe(
      `bunker: run: -v ${dir}/nope:/x: the bind source was read as a host path and does not exist: ENOENT (No such file or directory) [${dir}/nope] — create it (mkdir -p ${dir}/nope), or to use a named volume give a name instead of a path (-v data:/dst)`);
    expect(existsSync(`${ctx.dataRoot}/volumes/v`)).toBe(false);
  });
});

describe("in use", () => {
  test("rm refuses a volume a container records, -f removes it; the record is read back", async () => {
    const v = ensureVolume(ctx.dataRoot, "busy").volume;
    const use = { dirs: [`${ctx.dataRoot}/volumes/busy`], anonymous: [] };
    container("c1", use);
    expect(readVolumeUse(join(ctx.stateRoot, "c1"))).toEqual(use);
    expect(containersUsing(ctx.stateRoot, `${ctx.dataRoot}/volumes/busy`)).toEqual(["c1"]);
    expect(await removeNamedVolume(ctx, "busy", false).catch((e) => e.format())).toBe(
      'bunker: volume rm: volume "busy" is in use by container c1: EBUSY (Device or resource busy) — remove the container first (bunker rm c1), or bunker volume rm -f busy');
    expect(listMatching(ctx, parseVolumeFilters(["dangling=false"])).map((x) => x.Name)).toEqual(["busy"]);
    await removeNamedVolume(ctx, "busy", true);
    expect(existsSync(v.Mountpoint)).toBe(false);
  });
  test("prune: unused anonymous volumes (all: every unused one), never one in use", async () => {
    const used = ensureVolume(ctx.dataRoot, undefined, { [ANONYMOUS_LABEL]: "" }).volume;
    const free = ensureVolume(ctx.dataRoot, undefined, { [ANONYMOUS_LABEL]: "" }).volume;
    ensureVolume(ctx.dataRoot, "named");
    container("c", { dirs: [`${ctx.dataRoot}/volumes/${used.Name}`], anonymous: [`${ctx.dataRoot}/volumes/${used.Name}`] });
    expect(await pruneVolumes(ctx, false)).toEqual([free.Name]);
    expect(await pruneVolumes(ctx, true)).toEqual(["named"]);
    expect(listVolumes(ctx.dataRoot).map((x) => x.Name)).toEqual([used.Name]);
  });
});
