// -v and --mount in Docker's syntax, the image's VOLUME list, and the plan ops of a volume's copy-up.
import { describe, expect, test } from "bun:test";
import { messageOf as err } from "../lib/error-line.ts";
import { mergeRequests, parseMountFlag, parseVolumeFlag } from "../../src/volume/spec.ts";
import { parseVolumeFilters } from "../../src/volume/manage.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { parseMountOptions } from "../../src/plan/mount-options.ts";
import * as K from "../../src/plan/types.ts";
import type { Spec } from "../../src/oci/spec.ts";

describe("-v", () => {
  test("a name is a named volume, an absolute path a bind, a lone path an anonymous volume", () => {
    expect(parseVolumeFlag("pgdata:/var/lib/postgresql/data")).toEqual({ type: "volume", name: "pgdata", destination: "/var/lib/postgresql/data", readonly: false, nocopy: false });
    expect(parseVolumeFlag("my_vol.1-x:/d:ro,nocopy")).toEqual({ type: "volume", name: "my_vol.1-x", destination: "/d", readonly: true, nocopy: true });
    expect(parseVolumeFlag("/srv/www:/www:ro,rslave")).toEqual({ type: "bind", source: "/srv/www", destination: "/www", readonly: true, propagation: "rslave" });
    expect(parseVolumeFlag("/h:/c:rw,Z")).toEqual({ type: "bind", source: "/h", destination: "/c", readonly: false });
    expect(parseVolumeFlag("/cache")).toEqual({ type: "volume", destination: "/cache", readonly: false, nocopy: false });
  });
  test("relative paths and names Docker refuses are read as paths: the error says so and how to name a volume", () => {
    for (const src of ["./data", "data/sub", "../up", ".hidden", "_x", "a b"]) expect(err(() => parseVolumeFlag(`${src}:/d`))).toContain(`the source "${src}" was read as a relative host path: EINVAL`);
    expect(err(() => parseVolumeFlag("./data:/d"))).toContain('-v "$PWD/data:/dst"), or name a volume');
  });
  test("bad destinations and options", () => {
    expect(err(() => parseVolumeFlag("v:rel"))).toContain("the destination must be an absolute path");
    expect(err(() => parseVolumeFlag("v:/"))).toContain("the destination cannot be /");
    expect(err(() => parseVolumeFlag("relative"))).toContain("the destination must be an absolute path");
    expect(err(() => parseVolumeFlag("v:/d:bogus"))).toContain('unknown option "bogus"');
    expect(err(() => parseVolumeFlag("v:/d:shared"))).toContain("a propagation is for bind mounts");
    expect(err(() => parseVolumeFlag("/h:/d:nocopy"))).toContain("nocopy is for volumes");
    expect(err(() => parseVolumeFlag("a:b:c:d"))).toContain('invalid volume "a:b:c:d"');
  });
});

describe("--mount", () => {
  test("type=volume (the default type), named or anonymous; readonly, ro=BOOL, volume-nocopy", () => {
    expect(parseMountFlag("type=volume,src=v,dst=/d,readonly")).toEqual({ type: "volume", name: "v", destination: "/d", readonly: true, nocopy: false });
    expect(parseMountFlag("source=v,target=/d,ro=false,volume-nocopy")).toEqual({ type: "volume", name: "v", destination: "/d", readonly: false, nocopy: true });
    expect(parseMountFlag("type=volume,destination=/d")).toEqual({ type: "volume", destination: "/d", readonly: false, nocopy: false });
  });
  test("type=bind: absolute source, propagation; quoted fields", () => {
    expect(parseMountFlag('type=bind,"src=/a,b",dst=/c,bind-propagation=rshared,readonly=1')).toEqual({ type: "bind", source: "/a,b", destination: "/c", readonly: true, propagation: "rshared" });
    expect(err(() => parseMountFlag("type=bind,dst=/c"))).toContain("a bind mount needs a source");
    expect(err(() => parseMountFlag("type=bind,src=rel,dst=/c"))).toContain('the source "rel" was read as a relative host path');
    expect(err(() => parseMountFlag("type=bind,src=/a,dst=/c,bind-propagation=up"))).toContain('unknown bind-propagation "up"');
  });
  test("type=tmpfs: tmpfs-size in bytes or units, tmpfs-mode octal", () => {
    expect(parseMountFlag("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777")).toEqual({ type: "tmpfs", destination: "/t", options: [`size=${64 * 2 ** 20}`, "mode=1777"] });
    expect(parseMountFlag("type=tmpfs,dst=/t,readonly,tmpfs-mode=0700")).toEqual({ type: "tmpfs", destination: "/t", options: ["ro", "mode=700"] });
    expect(err(() => parseMountFlag("type=tmpfs,dst=/t,tmpfs-mode=9"))).toContain("is not an octal mode");
    expect(err(() => parseMountFlag("type=tmpfs,dst=/t,tmpfs-size=lots"))).toContain('"lots" is not a size');
  });
  test("keys that do not apply, repeated, valueless or unknown; bad names; unknown types", () => {
    expect(err(() => parseMountFlag("type=tmpfs,src=x,dst=/t"))).toContain('"source" does not apply to type=tmpfs');
    expect(err(() => parseMountFlag("type=volume,src=v,dst=/d,bind-propagation=shared"))).toContain('"bind-propagation" does not apply to type=volume');
    expect(err(() => parseMountFlag("src=v,src=w,dst=/d"))).toContain("src given twice");
    expect(err(() => parseMountFlag("src,dst=/d"))).toContain("source needs a value");
    expect(err(() => parseMountFlag("type=volume,src=-v,dst=/d"))).toContain('invalid volume name "-v"');
    expect(err(() => parseMountFlag("type=npipe,dst=/d"))).toContain('unknown type "npipe"');
    expect(err(() => parseMountFlag("type=volume,src=v"))).toContain("no destination");
  });
});

describe("the image's VOLUME list", () => {
  test("each path not mounted otherwise becomes an anonymous volume; two mounts for one path are an error", () => {
    const asked = [parseVolumeFlag("data:/data/"), parseMountFlag("type=tmpfs,dst=/run")];
    expect(mergeRequests(asked, ["/data", "/logs/", "/run", "relative"])).toEqual([{ type: "volume", destination: "/logs", readonly: false, nocopy: false }, ...asked]);
    expect(err(() => mergeRequests([parseVolumeFlag("a:/d"), parseVolumeFlag("/h:/d/")], []))).toContain("two mounts for /d");
  });
});

describe("volume ls --filter", () => {
  test("keys by name, values collected; unknown keys and bad dangling values refused", () => {
    expect([...parseVolumeFilters(["label=a=b", "label=c", "dangling=true", "name=x"])]).toEqual([["label", ["a=b", "c"]], ["dangling", ["true"]], ["name", ["x"]]]);
    expect(err(() => parseVolumeFilters(["size=1"]))).toContain('invalid filter "size=1"');
    expect(err(() => parseVolumeFilters(["dangling=maybe"]))).toContain("dangling=true or dangling=false");
  });
});

describe("a new volume's copy-up in the plan", () => {
  const spec = (options: string[]): Spec => ({
    ociVersion: "1.0.2",
    root: { path: "/r" },
    process: { user: { uid: 0, gid: 0 }, args: ["/bin/true"], cwd: "/" },
    mounts: [{ destination: "/data", type: "bind", source: "/vol/_data", options }],
    linux: { namespaces: [{ type: "mount" }] },
  });
  test("the image's directory is held, the volume bound over it, then copied in with the directory's own owner and mode", () => {
    const ops = buildPlan(spec(["rbind", "copyup"])).ops;
    const i = ops.findIndex((o) => o.op === "copyup-open");
    expect(ops.slice(i, i + 3)).toEqual([
      { op: "copyup-open", path: "/data" },
      { op: "bind", source: "/vol/_data", target: "/data", recursive: true, attrSet: 0, attrClr: 0 },
      { op: "copyup", path: "/data", root: true },
    ]);
  });
  test("read-only: bound writable, copied, made read-only after pivot_root", () => {
    const ops = buildPlan(spec(["rbind", "ro", "copyup"])).ops;
    expect(ops).toContainEqual({ op: "bind", source: "/vol/_data", target: "/data", recursive: true, attrSet: 0, attrClr: 0 });
    const pivot = ops.findIndex((o) => o.op === "pivot");
    expect(ops.findIndex((o) => o.op === "copyup")).toBeLessThan(pivot);
    expect(ops.slice(pivot)).toContainEqual({ op: "setattr", path: "/data", attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0, recursive: false });
  });
  test("a read-only bind without copyup is read-only at once; copyup means nothing on other mount types", () => {
    expect(buildPlan(spec(["rbind", "ro"])).ops).toContainEqual({ op: "bind", source: "/vol/_data", target: "/data", recursive: true, attrSet: K.MOUNT_ATTR_RDONLY, attrClr: 0 });
    expect(parseMountOptions(["copyup"], "tmpfs").tmpcopyup).toBe(false);
    expect(parseMountOptions(["copyup", "bind"]).tmpcopyup).toBe(true);
  });
});
