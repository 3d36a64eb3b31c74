// A pty runner for `-t` tests: runs ARGV on a fresh pty of a given size and
// returns what the terminal showed (python3's pty/termios, no extra packages).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { envFor, type As, type RunResult, asUserArgv } from "./bunker.ts";

const PTY_RUN = join(import.meta.dir, "pty-run.py");

export function python3(): string {
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : (Bun.which("python3") ?? "python3");
}

export interface PtyOptions {
  rows?: number;
  cols?: number;
  /** typed into the terminal after startup */
  input?: string;
  cwd?: string;
  /** added to the environment */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** resize the window to ROWS x COLS (SIGWINCH) once FILE exists */
  resize?: { whenFileExists: string; rows: number; cols: number };
  /** typed in turn, each once the screen shows its text (after the step before; "": 0.3 s later), the window resized first when a size is given */
  steps?: { after: string; type: string; size?: { rows: number; cols: number } }[];
}

/** Runs ARGV (already including setpriv when needed) on a pty; stdout holds the terminal's output. */
export async function runInPty(as: As, argv: string[], opts: PtyOptions = {}): Promise<RunResult> {
  const cmd = [
    python3(),
    PTY_RUN,
    String(opts.rows ?? 24),
    String(opts.cols ?? 80),
    opts.input ?? "",
    ...asUserArgv(as, argv),
  ];
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? "/",
    env: envFor(as, {
      ...opts.env,
      TERM: "xterm",
      ...(opts.resize ? { PTY_RESIZE: `${opts.resize.whenFileExists} ${opts.resize.rows} ${opts.resize.cols}` } : {}),
      ...(opts.steps ? { PTY_STEPS: JSON.stringify(opts.steps.map((s) => [s.after, s.type, ...(s.size ? [s.size.rows, s.size.cols] : [])])) } : {}),
    }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
