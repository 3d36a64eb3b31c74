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

/** Async, so servers living in the test process (token servers) keep answering. */
export async function imageCli(as: As, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const p = Bun.spawn(imageCliArgv(as, args), { env: envFor(as, env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
