// The one line a BunkerError prints, for unit tests of parsers and checkers.
import { expect } from "bun:test";
import { BunkerError } from "../../src/errors.ts";

/** FN's error as its one-line message; fails the test when FN throws anything else, or nothing */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BunkerError);
    return (e as BunkerError).format();
  }
  throw new Error("no error");
}

/** FN's BunkerError (its message, errno and fix to check); fails the test when FN throws anything else, or nothing */
export function errorOf(fn: () => unknown): BunkerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BunkerError) return e;
    throw e;
  }
  throw new Error("no error");
}
