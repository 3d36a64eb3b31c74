// Small static C programs the tests run inside containers (tests/probes/*.c),
// compiled once per test process with the host's gcc (-static: no loader or
// libc needed in a busybox rootfs).
import { chmodSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "./rootfs.ts";

const PROBES = join(import.meta.dir, "../probes");
let dir: string | undefined;

/** tests/probes/NAME.c built as a static executable; its path (world-readable and executable) */
export function staticProbe(name: string): string {
  if (!dir) {
    const made = (dir = makeTempDir("bunker-probes"));
    process.on("exit", () => rmSync(made, { recursive: true, force: true }));
  }
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const r = Bun.spawnSync(["gcc", "-static", "-O2", "-Wall", "-o", out, join(PROBES, `${name}.c`)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`gcc ${name}.c failed: ${r.stderr.toString()}`);
  chmodSync(out, 0o755);
  return out;
}
