// Restart policies' pure part: the flag and API forms, Docker's decision and back-off.
import { describe, expect, test } from "bun:test";
import { parseRestartCount, parseRestartFlag, restartDelay, restartPolicy, shouldRestart, shouldStartWithServer } from "../../src/container/restart-policy.ts";
import { BunkerError } from "../../src/errors.ts";

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e as BunkerError;
  }
  throw new Error("no error");
};

describe("restart policies", () => {
  test("--restart's forms, and the API's Name and MaximumRetryCount", () => {
    expect(parseRestartFlag("no")).toEqual({ name: "no", maximumRetryCount: 0 });
    expect(parseRestartFlag("on-failure")).toEqual({ name: "on-failure", maximumRetryCount: 0 });
    expect(parseRestartFlag("on-failure:5")).toEqual({ name: "on-failure", maximumRetryCount: 5 });
    expect(parseRestartFlag("unless-stopped").name).toBe("unless-stopped");
    expect(restartPolicy("", 0, "x")).toEqual({ name: "no", maximumRetryCount: 0 });
    for (const bad of ["sometimes", "always:2", "on-failure:-1", "on-failure:x", "ALWAYS"]) {
      const e = errorOf(() => parseRestartFlag(bad));
      expect(e).toBeInstanceOf(BunkerError);
      expect(e.errnoName).toBe("EINVAL");
    }
    expect(errorOf(() => restartPolicy("always", 1.5, "HostConfig.RestartPolicy")).message).toContain("HostConfig.RestartPolicy");
  });

  test("Docker's decision: on-failure counts and ignores success, always and unless-stopped restart, a stop by hand ends every policy", () => {
    const onFailure2 = parseRestartFlag("on-failure:2");
    expect([0, 1, 2].map((n) => shouldRestart(onFailure2, 1, n, false))).toEqual([true, true, false]);
    expect(shouldRestart(onFailure2, 0, 0, false)).toBe(false);
    expect(shouldRestart(parseRestartFlag("on-failure"), 137, 1000, false)).toBe(true);
    for (const p of ["always", "unless-stopped"]) {
      expect(shouldRestart(parseRestartFlag(p), 0, 50, false)).toBe(true);
      expect(shouldRestart(parseRestartFlag(p), 0, 0, true)).toBe(false);
    }
    expect(shouldRestart(parseRestartFlag("no"), 1, 0, false)).toBe(false);
  });

  test("a server's start (Docker's daemon start): always starts a container stopped by hand too, unless-stopped and on-failure only one that was not", () => {
    const at = (p: string, code: number, stopped: boolean) => shouldStartWithServer(parseRestartFlag(p), code, 0, stopped);
    expect(at("always", 0, true)).toBe(true);
    expect(at("unless-stopped", 0, true)).toBe(false);
    expect(at("unless-stopped", 255, false)).toBe(true);
    expect(at("on-failure", 137, true)).toBe(false);
    expect(at("on-failure", 255, false)).toBe(true);
    expect(at("on-failure", 0, false)).toBe(false);
    expect(shouldStartWithServer(parseRestartFlag("on-failure:2"), 1, 2, false)).toBe(false);
    expect(at("no", 1, false)).toBe(false);
  });

  test("the back-off: 100 ms, doubled each quick exit up to a minute, reset by a run of 10 s", () => {
    const delays: number[] = [];
    let d = 0;
    for (let k = 0; k < 12; k++) delays.push((d = restartDelay(d, 50)));
    expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(delays.at(-1)).toBe(60_000);
    expect(restartDelay(60_000, 10_000)).toBe(100);
    expect(parseRestartCount("3 400\n")).toEqual({ count: 3, delayMs: 400 });
    expect(parseRestartCount("")).toEqual({ count: 0, delayMs: 0 });
    expect(parseRestartCount("x y")).toEqual({ count: 0, delayMs: 0 });
  });
});
