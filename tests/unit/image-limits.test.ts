import { describe, expect, test } from "bun:test";
import { CHECK_EVERY, DEFAULT_RESERVE_BYTES, LayerGuard, reserveBytes } from "../../src/image/limits.ts";
import { binaryBytes } from "../../src/image/units.ts";
import { BunkerError } from "../../src/errors.ts";

describe("layer limits", () => {
  test("the default reserve is 1 GiB, or 5 % of a filesystem smaller than 20 GiB", () => {
    expect(reserveBytes(undefined, 100 * 2 ** 30)).toBe(DEFAULT_RESERVE_BYTES);
    expect(reserveBytes(undefined, 64 * 2 ** 20)).toBe(Math.floor(64 * 2 ** 20 * 0.05));
    expect(reserveBytes({ bytes: 123 }, 2 ** 40)).toBe(123);
    expect(reserveBytes({ percent: 50 }, 2 ** 20)).toBe(2 ** 19);
  });

  test("--max-layer-size: the chunk that would pass it is refused before it is written", () => {
    const g = new LayerGuard({ maxLayerSize: 1000, reserve: { bytes: 0 } }, "/", "layer X");
    g.add(600);
    g.add(400);
    let err: unknown;
    try {
      g.add(1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BunkerError);
    expect((err as BunkerError).format()).toContain("layer X is larger than --max-layer-size 1000B uncompressed");
  });

  test("the reserve is looked at first and then within every CHECK_EVERY bytes", () => {
    // a reserve larger than any filesystem: the first chunk is refused
    const g = new LayerGuard({ reserve: { bytes: Number.MAX_SAFE_INTEGER } }, "/", "layer Y");
    expect(() => g.add(1)).toThrow(/layer Y does not fit: unpacking it would leave less than the reserve/);
    const ok = new LayerGuard({ reserve: { bytes: 0 } }, "/", "layer Z");
    for (let i = 0; i < 4; i++) ok.add(CHECK_EVERY);
  });

  test("binary units", () => {
    expect(binaryBytes(100 * 2 ** 20)).toBe("100MiB");
    expect(binaryBytes(1.5 * 2 ** 30)).toBe("1.5GiB");
    expect(binaryBytes(3355443)).toBe("3.2MiB");
    expect(binaryBytes(512)).toBe("512B");
  });
});
