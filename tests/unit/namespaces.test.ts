import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { NAMESPACES, namespaceKind } from "../../src/plan/namespaces.ts";
import { cloneFlags } from "../../src/plan/build.ts";
import { NAMESPACE_TYPES } from "../../src/oci/validate.ts";
import * as K from "../../src/plan/types.ts";

describe("the namespace table", () => {
  test("every runtime-spec type has one kind, with a flag of its own", () => {
    expect(NAMESPACES.map((n) => n.type).sort()).toEqual([...NAMESPACE_TYPES].sort());
    const flags = NAMESPACES.map((n) => n.flag);
    expect(new Set(flags).size).toBe(flags.length);
    for (const f of flags) expect(f & (f - 1)).toBe(0); // one bit each
  });

  test("the /proc/PID/ns names are the kernel's", () => {
    const have = new Set(readdirSync("/proc/self/ns"));
    // time namespaces are from Linux 5.6: the rest is in every kernel bunker supports
    for (const n of NAMESPACES) if (n.type !== "time" || have.has("time")) expect([n.type, have.has(n.proc)]).toEqual([n.type, true]);
    expect(namespaceKind("mount")).toEqual({ type: "mount", proc: "mnt", flag: K.CLONE_NEWNS });
    expect(namespaceKind("network").proc).toBe("net");
  });

  test("cloneFlags: new namespaces only, those given by path are joined", () => {
    const spec = { ociVersion: "1.0.2", linux: { namespaces: [{ type: "user" as const }, { type: "time" as const }, { type: "network" as const, path: "/proc/1/ns/net" }] } };
    expect(cloneFlags(spec)).toBe(K.CLONE_NEWUSER | K.CLONE_NEWTIME);
  });
});
