// The Engine API's pure parts: --host parsing, the version prefix, errors as Docker's statuses.
import { describe, expect, test } from "bun:test";
import { parseHost } from "../../src/api/listen.ts";
import { stripVersion } from "../../src/api/server.ts";
import { ApiError, statusOf } from "../../src/api/errors.ts";
import { BunkerError } from "../../src/errors.ts";

describe("api: --host", () => {
  test("unix sockets and loopback TCP are accepted", () => {
    expect(parseHost("unix:///run/x.sock")).toEqual({ unix: "/run/x.sock" });
    expect(parseHost("tcp://127.0.0.1:2375")).toEqual({ hostname: "127.0.0.1", port: 2375 });
    expect(parseHost("tcp://localhost:0")).toEqual({ hostname: "127.0.0.1", port: 0 });
    expect(parseHost("tcp://[::1]:80")).toEqual({ hostname: "::1", port: 80 });
  });
  test("other addresses, relative sockets and bad ports are one EINVAL each", () => {
    for (const h of ["tcp://0.0.0.0:2375", "tcp://10.0.0.1:1", "unix://rel.sock", "tcp://127.0.0.1:70000", "http://127.0.0.1:1", "tcp://127.0.0.1"]) {
      expect(() => parseHost(h)).toThrow(BunkerError);
      try {
        parseHost(h);
      } catch (e) {
        expect((e as BunkerError).errnoName).toBe("EINVAL");
        expect((e as BunkerError).message).toContain(h);
      }
    }
  });
});

describe("api: version prefixes", () => {
  test("1.24..1.51 are stripped, a path without one is kept", () => {
    expect(stripVersion("/v1.41/containers/json")).toBe("/containers/json");
    expect(stripVersion("/v1.24/_ping")).toBe("/_ping");
    expect(stripVersion("/v1.51/info")).toBe("/info");
    expect(stripVersion("/info")).toBe("/info");
  });
  test("older and newer are Docker's 400", () => {
    for (const [p, word] of [["/v1.23/info", "too old"], ["/v1.52/info", "too new"], ["/v2.0/info", "too new"]] as const) {
      try {
        stripVersion(p);
        throw new Error("accepted");
      } catch (e) {
        expect(e).toBeInstanceOf(ApiError);
        expect((e as ApiError).status).toBe(400);
        expect((e as ApiError).message).toContain(word);
      }
    }
  });
});

describe("api: errors", () => {
  test("a BunkerError's errno picks Docker's status; the message is its line without the program name", () => {
    expect(statusOf(new BunkerError("no such image: x", { errno: "ENOENT", fix: "pull it" }))).toEqual({ status: 404, message: "no such image: x: ENOENT (No such file or directory) — pull it" });
    expect(statusOf(new BunkerError("bad", { errno: "EINVAL" })).status).toBe(400);
    expect(statusOf(new BunkerError("in use", { errno: "EBUSY" })).status).toBe(409);
    expect(statusOf(new BunkerError("io", { errno: "EIO" })).status).toBe(500);
    expect(statusOf(new ApiError(405, "no\nway"))).toEqual({ status: 405, message: "no\\nway" });
    expect(statusOf(new TypeError("x is undefined"))).toEqual({ status: 500, message: "internal error: TypeError: x is undefined — please report it as a bug" });
  });
});

describe("docker ps's ages", () => {
  test("Go's units.HumanDuration", async () => {
    const { humanDuration } = await import("../../src/container/inspect.ts");
    const s = 1000, m = 60 * s, h = 60 * m, day = 24 * h;
    expect([0, 1 * s, 42 * s, 70 * s, 5 * m, 61 * m, 5 * h, 3 * day, 20 * day, 90 * day, 800 * day].map(humanDuration)).toEqual([
      "Less than a second", "1 second", "42 seconds", "About a minute", "5 minutes", "About an hour", "5 hours", "3 days", "2 weeks", "3 months", "2 years",
    ]);
  });
});
