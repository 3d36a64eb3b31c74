// registries.conf (containers-registries.conf(5) format) and short names:
// parsing both formats, errors naming the file and field, the longest-prefix
// rule, wildcards, loopback registries, and what a short name expands to.
import { describe, expect, test } from "bun:test";
import { DEFAULT_REGISTRIES_CONF, isLoopbackRegistry, parseRegistriesConf, registriesConfPaths, ruleFor } from "../../src/image/registries-conf.ts";
import { expandShortName, isShortName, localCandidates } from "../../src/image/shortnames.ts";
import { BunkerError } from "../../src/errors.ts";

const F = "/etc/bunker/registries.conf";

function failure(text: string): string {
  try {
    parseRegistriesConf(text, F);
  } catch (e) {
    expect(e).toBeInstanceOf(BunkerError);
    return (e as BunkerError).message;
  }
  throw new Error("parsed");
}

describe("parseRegistriesConf", () => {
  test("version 2: search list and [[registry]] tables (prefix defaults to location)", () => {
    const c = parseRegistriesConf(`unqualified-search-registries = ["reg.example:5000", "docker.io"]\n[[registry]]\nlocation = "reg.example:5000"\ninsecure = true\n[[registry]]\nprefix = "quay.io/bad"\nblocked = true\n`, F);
    expect(c).toEqual({
      file: F,
      search: ["reg.example:5000", "docker.io"],
      rules: [{ prefix: "reg.example:5000", insecure: true, blocked: false }, { prefix: "quay.io/bad", insecure: false, blocked: true }],
    });
  });

  test("version 1 tables", () => {
    const c = parseRegistriesConf(`[registries.search]\nregistries = ["a.io"]\n[registries.insecure]\nregistries = ["b.io:5000"]\n[registries.block]\nregistries = ["c.io"]\n`, F);
    expect(c.search).toEqual(["a.io"]);
    expect(c.rules).toEqual([{ prefix: "b.io:5000", insecure: true, blocked: false }, { prefix: "c.io", insecure: false, blocked: true }]);
  });

  test("no search list: Docker Hub; an empty one: none", () => {
    expect(parseRegistriesConf(`[[registry]]\nlocation = "x.io"\n`, F).search).toEqual(DEFAULT_REGISTRIES_CONF.search);
    expect(parseRegistriesConf(`unqualified-search-registries = []\n`, F).search).toEqual([]);
  });

  test("errors name the file, the field and the fix", () => {
    expect(failure(`[[registry]]\nlocation = "x.io"\ninsecure = yes\n`)).toBe(`${F}: not TOML: Strings must be quoted: "yes"`);
    expect(failure(`[[registry]]\ninsecure = "yes"\nlocation = "x.io"\n`)).toBe(`${F}: registry[0].insecure: must be a boolean`);
    expect(failure(`[[registry]]\ninsecure = true\n`)).toBe(`${F}: registry[0]: needs a location or a prefix`);
    expect(failure(`unqualified-search-registries = ["https://x.io"]\n`)).toContain(`["unqualified-search-registries"][0]: must be host[:port][/namespace...] without a scheme`);
    expect(failure(`[[registry]]\nprefix = "x.io"\nlocation = "mirror.io"\n`)).toMatch(/registry\[0\]\.location: rewriting x\.io to another location \(mirror\.io\) is not supported/);
    expect(failure(`[[registry]]\nlocation = "x.io"\n[[registry.mirror]]\nlocation = "m.io"\n`)).toMatch(/registry\[0\]\.mirror: mirrors are not supported/);
    expect(failure(`unqualified-search-registries = ["a.io"]\n[registries.search]\nregistries = ["b.io"]\n`)).toMatch(/cannot be mixed/);
  });
});

describe("ruleFor", () => {
  const conf = parseRegistriesConf(`[[registry]]\nlocation = "x.io"\ninsecure = true\n[[registry]]\nprefix = "x.io/team"\nblocked = true\n[[registry]]\nprefix = "*.corp.example"\ninsecure = true\n`, F);
  test("the longest prefix that covers the name, at a separator", () => {
    expect(ruleFor(conf, "x.io/other/app")?.insecure).toBe(true);
    expect(ruleFor(conf, "x.io/team/app")?.blocked).toBe(true);
    expect(ruleFor(conf, "x.io/teamwork/app")?.blocked).toBe(false);
    expect(ruleFor(conf, "x.io")?.prefix).toBe("x.io");
    expect(ruleFor(conf, "x.iox/app")).toBeUndefined();
  });
  test("a wildcard covers subdomains only", () => {
    expect(ruleFor(conf, "reg.corp.example/app")?.prefix).toBe("*.corp.example");
    expect(ruleFor(conf, "a.b.corp.example/app")?.prefix).toBe("*.corp.example");
    expect(ruleFor(conf, "corp.example/app")).toBeUndefined();
  });
  test("loopback registries", () => {
    for (const r of ["localhost", "localhost:5000", "127.0.0.1:5000", "127.8.9.1", "[::1]:5000"]) expect(isLoopbackRegistry(r)).toBe(true);
    for (const r of ["docker.io", "10.0.0.1:5000", "localhost.example:5000", "128.0.0.1"]) expect(isLoopbackRegistry(r)).toBe(false);
  });
  test("the user's file comes before /etc's", () => {
    expect(registriesConfPaths({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/h" })).toEqual(["/x/cfg/bunker/registries.conf", "/etc/bunker/registries.conf"]);
    expect(registriesConfPaths({ HOME: "/h" })[0]).toBe("/h/.config/bunker/registries.conf");
  });
});

describe("short names", () => {
  test("a name is short when its first component is no host", () => {
    for (const n of ["busybox", "busybox:1", "team/app", "team/app@sha256:" + "a".repeat(64)]) expect(isShortName(n)).toBe(true);
    for (const n of ["docker.io/library/busybox", "localhost/app", "127.0.0.1:5000/app", "reg.example/team/app:1"]) expect(isShortName(n)).toBe(false);
  });
  test("expanded through the search list in order, Docker Hub's library/ added", () => {
    expect(expandShortName("busybox", ["reg.example:5000", "docker.io"])).toEqual(["reg.example:5000/busybox:latest", "docker.io/library/busybox:latest"]);
    expect(expandShortName("team/app:2", ["docker.io"])).toEqual(["docker.io/team/app:2"]);
    expect(expandShortName("x", [])).toEqual([]);
  });
  test("looked for in the store as Docker's name, then localhost/, then the search list", () => {
    expect(localCandidates("app", ["reg.example", "docker.io"])).toEqual(["docker.io/library/app:latest", "localhost/app:latest", "reg.example/app:latest"]);
  });
});
