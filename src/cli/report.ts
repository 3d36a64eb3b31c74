// The one place that turns an error into the user's one line (and the --log line).
import { BunkerError, oneLine } from "../errors.ts";
import type { GlobalOptions } from "./global.ts";
import { logLine } from "./log.ts";

// console.error, not process.stderr.write: the first touch of process.stderr builds Node's
// stream objects (node:stream and friends in JavaScript), ~6 ms of a failing command's 9
export function reportError(err: unknown, g: GlobalOptions): number {
  if (err instanceof BunkerError) {
    const line = err.format();
    console.error(line);
    logLine(g, "error", line.replace(/^bunker: /, ""));
    return err.exitCode;
  }
  // the last line of defence, not validation: a bug, said in one line (the stack with --debug)
  const e = err as Error;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(err);
  console.error(`${oneLine(`bunker: internal error: ${what}`)} — please report it as a bug, with the command that gave it (--debug shows where)`);
  if (g.debug && e?.stack) console.error(`${e.stack}`);
  logLine(g, "error", oneLine(`internal error: ${what}`));
  return 125;
}
