// The one place that turns an error into the user's one line (and the --log line).
import { BunkerError } from "../errors.ts";
import type { GlobalOptions } from "./global.ts";
import { logLine } from "./log.ts";

export function reportError(err: unknown, g: GlobalOptions): number {
  if (err instanceof BunkerError) {
    const line = err.format();
    process.stderr.write(line + "\n");
    logLine(g, "error", line.replace(/^bunker: /, ""));
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`bunker: internal error: ${e?.stack ?? String(err)}\n`);
  logLine(g, "error", `internal error: ${e?.message ?? String(err)}`);
  return 125;
}
