// --debug lines on stderr (and in --log FILE when given).
import type { GlobalOptions } from "./global.ts";

export function debugLog(g: GlobalOptions): ((m: string) => void) | undefined {
  if (!g.debug) return undefined;
  return (m: string) => {
    console.error(`bunker: debug: ${m}`);
    if (g.log) logLine(g, "debug", m);
  };
}

/** one line in --log FILE, as runc writes it (podman reads "msg" from the json form) */
export function logLine(g: GlobalOptions, level: "error" | "warning" | "info" | "debug", msg: string): void {
  if (!g.log) return;
  const line = g.logFormat === "json"
    ? JSON.stringify({ level, msg, time: new Date().toISOString() })
    : `time="${new Date().toISOString()}" level=${level} msg="${msg.replaceAll('"', '\\"')}"`;
  try {
    // node:fs only with --log: debugLog is part of every command's context
    (require("node:fs") as typeof import("node:fs")).appendFileSync(g.log, line + "\n");
  } catch {
    /* the log is best effort; stderr has the error too */
  }
}
