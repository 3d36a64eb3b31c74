// Runs bunker's image commands as root or as the test user: the compiled
// dist/bunker when it exists, else `bun src/main.ts` (commands load lazily,
// so the image commands run even while other parts are being built).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { asUserArgv, bunkerArgv, DIST_BUNKER, envFor, REPO, type As } from "./bunker.ts";

export function imageCliArgv(as: As, args: string[]): string[] {
  if (existsSync(DIST_BUNKER)) return bunkerArgv(as, args);
  return asUserArgv(as, [join(REPO, "node_modules/bun/bin/bun.exe"), join(REPO, "src/main.ts"), ...args]);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function imageCli(as: As, args: string[], env: Record<string, string> = {}): CliResult {
  const r = Bun.spawnSync(imageCliArgv(as, args), { env: envFor(as, env), stdin: "ignore" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
