// src/sys/signals.ts writes Linux's signal numbers out (OCI create loads no node:os): they must be node:os's, in its order
import { expect, test } from "bun:test";
import { constants } from "node:os";
import { SIGNALS, signalName, parseSignal } from "../../src/sys/signals.ts";

test("the signal table is node:os's constants.signals, key for key and in order", () => {
  expect(Object.entries(SIGNALS)).toEqual(Object.entries(constants.signals as Record<string, number>));
});

test("names and numbers through the table", () => {
  expect(parseSignal("TERM")).toBe(15);
  expect(parseSignal("SIGKILL")).toBe(9);
  expect(signalName(6)).toBe("SIGABRT");
  expect(signalName(29)).toBe("SIGIO");
});
