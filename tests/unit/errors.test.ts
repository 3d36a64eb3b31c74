import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BunkerError, FsError, errnoCode, fromSysError } from "../../src/errors.ts";
import { AT_FDCWD, O_RDONLY, openat } from "../../src/sys/fsat.ts";

const caught = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
};

describe("fromSysError: the one conversion of a failure into a BunkerError", () => {
  test("a Node/Bun fs error: its errno, its path unless one is given", () => {
    const e = caught(() => readFileSync("/no/such/file"));
    expect(errnoCode(e)).toBe("ENOENT");
    expect(fromSysError("cannot read it", e).format()).toBe("bunker: cannot read it: ENOENT (No such file or directory) [/no/such/file]");
    expect(fromSysError("cannot read it", e, { path: "/x", fix: "make it" }).format()).toBe("bunker: cannot read it: ENOENT (No such file or directory) [/x] — make it");
  });

  test("a failed call of our own bindings (FsError): its errno and the call", () => {
    const e = caught(() => openat(AT_FDCWD, "/no/such/dir/f", O_RDONLY));
    expect(e).toBeInstanceOf(FsError);
    expect(errnoCode(e)).toBe("ENOENT");
    expect(fromSysError("cannot open a layer entry", e).format()).toBe("bunker: cannot open a layer entry (openat): ENOENT (No such file or directory) [/no/such/dir/f]");
  });

  test("a BunkerError stays itself; anything else keeps its message; Node's ERR_ codes are no errno", () => {
    const b = new BunkerError("inner", { errno: "EPERM" });
    expect(fromSysError("outer", b)).toBe(b);
    expect(fromSysError("outer", new Error("boom")).format()).toBe("bunker: outer: boom");
    const tls = Object.assign(new Error("certificate has expired"), { code: "ERR_TLS_CERT_EXPIRED" });
    expect(errnoCode(tls)).toBeUndefined();
    expect(errnoCode(Object.assign(new Error("x"), { code: "E2BIG" }))).toBe("E2BIG");
    expect(errnoCode(undefined)).toBeUndefined();
  });
});
