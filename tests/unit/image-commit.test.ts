// commitImage: a base image + layers written from an upper dir + a config =
// a new image in the store, found by its tag, its layers unpacked, saved as
// any other; --change lines applied to a config.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadArchive, saveArchive } from "../../src/image/archive.ts";
import { parseChanges } from "../../src/build/config-change.ts";
import { commitImage } from "../../src/image/commit.ts";
import { chainIds, sha256 } from "../../src/image/digest.ts";
import { writeLayer } from "../../src/image/layer-writer.ts";
import { readImageFile } from "../../src/image/rootfs.ts";
import { Store } from "../../src/image/store.ts";
import { MT, type ImageConfig, type ImageConfigFile } from "../../src/image/types.ts";
import { processIds, singleMaps } from "../../src/sys/idmap.ts";
import { buildImage, dockerArchive } from "../lib/image-builder.ts";
import { removeDir, tempDir } from "../lib/image-fixtures.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});
const fresh = (p?: string) => {
  const d = tempDir(p);
  dirs.push(d);
  return d;
};
const ids = processIds();

describe("commitImage", () => {
  const data = fresh();
  const ctx = { dataRoot: data, ids, env: { SOURCE_DATE_EPOCH: "1700000000" } };
  const base = buildImage({ layers: [[{ name: "etc/", type: "dir" }, { name: "etc/motd", data: "base\n" }]] });

  test("a layer on a base image: config, history, manifest, tag; run's layers ready; save writes it", async () => {
    const archive = join(fresh(), "base.tar");
    writeFileSync(archive, dockerArchive([{ image: base, tags: ["test.local/base:1"] }]));
    const store = Store.open(data);
    await loadArchive(store, archive);
    const rec = store.get("test.local/base:1");
    const upper = fresh("bunker-upper-");
    mkdirSync(join(upper, "app"));
    writeFileSync(join(upper, "app/new"), "made in the container\n");
    const layer = await writeLayer(ctx, upper, { maps: singleMaps(ids.uid, ids.gid), parentDiffIds: base.config.rootfs.diff_ids });
    const config = parseChanges(store.configOf(rec).config!, ["CMD cat /app/new", "ENV MADE=yes"]);
    const img = await commitImage(ctx, { base: rec, layers: [layer], config, history: [{ created_by: "/bin/sh -c touch /app/new", comment: "by a test" }], tags: ["test.local/committed:v1"], author: "tester" });
    expect(store.get("test.local/committed:v1").id).toBe(img.id);
    expect(img.names).toEqual(["test.local/committed:v1"]);
    const cf = store.configOf(img);
    expect(cf.rootfs.diff_ids).toEqual([...base.config.rootfs.diff_ids, layer.diffId]);
    expect(cf.author).toBe("tester");
    expect(cf.created).toBe("2023-11-14T22:13:20Z"); // SOURCE_DATE_EPOCH
    expect(cf.config!.Cmd).toEqual(["/bin/sh", "-c", "cat /app/new"]);
    expect(cf.config!.Env).toContain("MADE=yes");
    expect(cf.history!.at(-1)).toEqual({ created: "2023-11-14T22:13:20Z", created_by: "/bin/sh -c touch /app/new", comment: "by a test" });
    expect(cf.history!.length).toBe(base.config.history!.length + 1);
    const m = store.manifestOf(img);
    expect(m.mediaType).toBe(MT.ociManifest);
    expect(m.layers.map((l) => l.digest)).toEqual([...store.manifestOf(rec).layers.map((l) => l.digest), layer.digest]);
    const layers = await store.ensureLayers(img.digest);
    expect(layers.map((l) => l.chainId)).toEqual(chainIds(cf.rootfs.diff_ids));
    expect(readImageFile(layers.map((l) => l.dir).reverse(), "/app/new")).toBe("made in the container\n");
    expect(readImageFile(layers.map((l) => l.dir).reverse(), "/etc/motd")).toBe("base\n");
    // save reads it as any other image
    const saved = join(fresh(), "saved.tar");
    await saveArchive(store, ["test.local/committed:v1"], saved);
    const other = Store.open(fresh());
    const [l] = await loadArchive(other, saved);
    expect(other.configOf(other.get(l!.names[0]!)).rootfs.diff_ids).toEqual(cf.rootfs.diff_ids);
  });

  test("metadata only: a new config, no new layer; a tag moves to the new image", async () => {
    const store = Store.open(data);
    const rec = store.get("test.local/committed:v1");
    const before = store.configOf(rec);
    const img = await commitImage(ctx, { base: rec, layers: [], config: parseChanges(before.config!, ["USER 1000"]), history: [{ created_by: "USER 1000", empty_layer: true }], tags: ["test.local/committed:v1"] });
    expect(img.id).not.toBe(rec.id);
    expect(store.get("test.local/committed:v1").id).toBe(img.id);
    const cf = store.configOf(img);
    expect(cf.rootfs.diff_ids).toEqual(before.rootfs.diff_ids);
    expect(store.manifestOf(img).layers).toEqual(store.manifestOf(rec).layers);
    expect(cf.config!.User).toBe("1000");
    expect(cf.history!.at(-1)!.empty_layer).toBe(true);
  });

  test("scratch, no names (dangling); layers and history must agree", async () => {
    const upper = fresh("bunker-upper-");
    writeFileSync(join(upper, "only"), "x");
    const layer = await writeLayer(ctx, upper, { maps: singleMaps(ids.uid, ids.gid), parentDiffIds: [] });
    const img = await commitImage(ctx, { base: null, layers: [layer], history: [{ created_by: "COPY only /" }], tags: [] });
    const store = Store.open(data);
    expect(img.names).toEqual([]);
    const cf: ImageConfigFile = store.configOf(img);
    expect(cf.rootfs.diff_ids).toEqual([layer.diffId]);
    expect(cf.os).toBe("linux");
    expect(img.id).toBe(sha256(store.readBlob(img.id)));
    await expect(commitImage(ctx, { base: null, layers: [layer], history: [], tags: [] })).rejects.toThrow(/1 layers but 0 history entries/);
    await expect(commitImage(ctx, { base: null, layers: [], history: [], tags: ["x@sha256:" + "a".repeat(64)] })).rejects.toThrow(/names a digest/);
  });
});

// parsed by the Dockerfile parser and applied as a build applies them (src/build/config-change.ts)
describe("--change", () => {
  const base: ImageConfig = { Env: ["PATH=/bin", "A=1"], Cmd: ["sh"], WorkingDir: "/app", Labels: { old: "1" } };
  test("each instruction", () => {
    const c = parseChanges(base, [
      'CMD ["echo", "hi there"]',
      "ENTRYPOINT /entry.sh --flag",
      'ENV A=2 B="two words" C=3',
      "env LEGACY value with spaces",
      'LABEL new="a b" other=x',
      "EXPOSE 80 53/udp",
      'VOLUME ["/data", "/logs"]',
      "VOLUME /more",
      "WORKDIR sub",
      "USER app:app",
      "STOPSIGNAL SIGINT",
      "ENV D=$A-${B}",
      "ONBUILD RUN echo child",
    ]);
    expect(c).toEqual({
      Env: ["PATH=/bin", "A=2", "B=two words", "C=3", "LEGACY=value with spaces", "D=2-two words"],
      Cmd: ["echo", "hi there"],
      Entrypoint: ["/bin/sh", "-c", "/entry.sh --flag"],
      WorkingDir: "/app/sub",
      Labels: { old: "1", new: "a b", other: "x" },
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      Volumes: { "/data": {}, "/logs": {}, "/more": {} },
      User: "app:app",
      StopSignal: "SIGINT",
      OnBuild: ["RUN echo child"],
    });
    expect(base.Env).toEqual(["PATH=/bin", "A=1"]); // not changed in place
  });
  test("bad lines name themselves", () => {
    expect(() => parseChanges({}, ["RUN rm -rf /"])).toThrow(/--change "RUN rm -rf \/": RUN is not an instruction --change can apply/);
    expect(() => parseChanges({}, ["CMD"])).toThrow(/--change "CMD": CMD needs a command/);
    expect(() => parseChanges({}, ["EXPOSE http"])).toThrow(/"http" is not PORT/);
    expect(() => parseChanges({}, ["LABEL novalue"])).toThrow(/--change "LABEL novalue": LABEL novalue has no value/);
    expect(() => parseChanges({}, ['ENV A="open'])).toThrow(/--change "ENV A=\"open": .*a double quote \(\"\) is not closed/);
  });
});
