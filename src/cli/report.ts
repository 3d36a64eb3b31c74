// The one place that turns an error into the user's one line.
import { BunkerError } from "../errors.ts";

export function reportError(err: unknown): number {
  if (err instanceof BunkerError) {
    process.stderr.write(err.format() + "\n");
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`bunker: internal error: ${e?.stack ?? String(err)}\n`);
  return 125;
}
