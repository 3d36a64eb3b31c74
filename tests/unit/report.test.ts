// The last line of defence: an exception that is not a BunkerError (a bug)
// still reaches the user as one line, exit 125, with the stack only on --debug.
import { expect, test } from "bun:test";
import { join } from "node:path";

const report = join(import.meta.dir, "../../src/cli/report.ts");
const run = (debug: boolean, thrown: string) =>
  Bun.spawnSync([process.execPath, "-e", `import { reportError } from ${JSON.stringify(report)}; process.exit(reportError(${thrown}, { debug: ${debug}, logFormat: "text" }));`], { stderr: "pipe" });

test("an unexpected TypeError: one line, control characters escaped, exit 125", () => {
  const r = run(false, `new TypeError("undefined is not an object\\n  at x\\u001b[2J")`);
  expect(r.stderr.toString()).toBe(
    "bunker: internal error: TypeError: undefined is not an object\\n  at x\\x1b[2J — please report it as a bug, with the command that gave it (--debug shows where)\n",
  );
  expect(r.exitCode).toBe(125);
});

test("a thrown non-Error, and --debug adds the stack", () => {
  expect(run(false, `"just a string"`).stderr.toString()).toStartWith("bunker: internal error: just a string — please report it");
  const d = run(true, `new RangeError("Maximum call stack size exceeded.")`).stderr.toString().split("\n");
  expect(d[0]).toStartWith("bunker: internal error: RangeError: Maximum call stack size exceeded. — please report it");
  expect(d[1]).toBe("RangeError: Maximum call stack size exceeded.");
  expect(d[2]).toMatch(/^\s+at /);
});
