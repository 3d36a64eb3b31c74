import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { DEFAULT_LOG_OPTIONS, logFiles, parseLogOptions } from "../../src/container/log-writer.ts";

describe("--log-opt", () => {
  test("defaults: 10 MiB per file, 3 files", () => {
    expect(parseLogOptions([])).toEqual({ maxSize: 10 * 2 ** 20, maxFile: 3 });
    expect(DEFAULT_LOG_OPTIONS).toEqual({ maxSize: 10 * 2 ** 20, maxFile: 3 });
  });

  test("max-size in bunker's units, -1 = unbounded; max-file", () => {
    expect(parseLogOptions(["max-size=1m", "max-file=2"])).toEqual({ maxSize: 2 ** 20, maxFile: 2 });
    expect(parseLogOptions(["max-size=512k"])).toEqual({ maxSize: 512 * 1024, maxFile: 3 });
    expect(parseLogOptions(["max-size=-1"])).toEqual({ maxSize: 0, maxFile: 3 });
    expect(parseLogOptions(["max-file=1"])).toEqual({ maxSize: 10 * 2 ** 20, maxFile: 1 });
  });

  test("bad options", () => {
    expect(() => parseLogOptions(["max-size=x"])).toThrow('--log-opt max-size: "x" is not a size');
    expect(() => parseLogOptions(["max-size=100"])).toThrow("--log-opt max-size: 100 bytes is too small");
    expect(() => parseLogOptions(["max-file=0"])).toThrow('--log-opt max-file: "0" must be an integer from 1 to 1000');
    expect(() => parseLogOptions(["max-file=two"])).toThrow("must be an integer");
    expect(() => parseLogOptions(["max-size=-1", "max-file=2"])).toThrow("--log-opt max-file needs a max-size");
    expect(() => parseLogOptions(["mode=non-blocking"])).toThrow('--log-opt: unknown option "mode"');
  });
});

test("logFiles: rotated files oldest first, then the current one", () => {
  const d = mkdtempSync(`${tmpdir()}/bunker-logfiles-`);
  try {
    for (const f of ["log", "log.1", "log.2", "log.10", "log-writer", "log.x", "state.json"]) writeFileSync(`${d}/${f}`, "");
    expect(logFiles(d)).toEqual([`${d}/log.10`, `${d}/log.2`, `${d}/log.1`, `${d}/log`]);
    expect(logFiles(`${d}/missing`)).toEqual([]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
