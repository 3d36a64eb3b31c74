import { expect, test } from "bun:test";
import { exitCode, supervise } from "../../src/sys/shim.ts";
import { launch } from "../../src/sys/launch.ts";

test("exitCode: the code of a process that exited, 128+N for one killed by signal N", () => {
  expect(exitCode({ code: 3, signal: 0 })).toBe(3);
  expect(exitCode({ code: 0, signal: 0 })).toBe(0);
  expect(exitCode({ code: -1, signal: 9 })).toBe(137);
  expect(exitCode({ code: -1, signal: 15 })).toBe(143);
});

test("exitCode of real processes: sh's exit 7, and sh killing itself with SIGTERM", async () => {
  const run = async (script: string) => {
    const c = await launch({ cloneFlags: 0, ops: [{ op: "exec", file: "/bin/sh", args: ["sh", "-c", script], env: [] }] });
    return exitCode(supervise(c.pid, -1, false));
  };
  expect(await run("exit 7")).toBe(7);
  expect(await run("kill -TERM $$")).toBe(143);
});
