// OCI hooks (config.md "POSIX-platform Hooks"): each hook is run with its
// path, args (argv[0] included) and env, the container's state JSON on stdin,
// and killed when its timeout (seconds) passes.  Hooks of one kind run in
// order; the first failure stops them.
import { BunkerError } from "../errors.ts";
import type { Hook, Hooks, State } from "./spec.ts";

export type HookKind = keyof Hooks;

export interface HookOptions {
  /** working directory of the hooks (default: the state's bundle, as runc runs from there) */
  cwd?: string;
  /**
   * poststart and poststop failures must not stop the lifecycle
   * (runtime-spec): with this callback they are reported here and the
   * remaining hooks still run; without it the first failure is thrown.
   */
  onWarning?: (err: BunkerError) => void;
}

/** the first line of what the hook wrote on stderr, shortened, for the one-line error */
function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

async function runHook(kind: HookKind, index: number, hook: Hook, stdin: Uint8Array, cwd: string | undefined): Promise<void> {
  const where = `hooks.${kind}[${index}] ${hook.path}`;
  const args = hook.args?.length ? hook.args : [hook.path];
  let proc: Bun.Subprocess<Uint8Array, "ignore", "pipe">;
  try {
    proc = Bun.spawn({
      cmd: [hook.path, ...args.slice(1)],
      argv0: args[0],
      // runc (Go's exec.Cmd) inherits the runtime's environment when env is absent
      env: hook.env ? Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) : process.env,
      cwd,
      stdin,
      stdout: "ignore",
      stderr: "pipe",
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new BunkerError(`${where}: cannot run the hook`, {
      errno: code?.startsWith("E") ? code : "EIO",
      path: hook.path,
      fix: "check that the hook exists and is executable",
    });
  }
  let timedOut = false;
  const timer = hook.timeout
    ? setTimeout(() => {
        timedOut = true;
        proc.kill("SIGKILL");
      }, hook.timeout * 1000)
    : undefined;
  const [stderr, status] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (timedOut) {
    throw new BunkerError(`${where}: timed out after ${hook.timeout}s and was killed`, {
      errno: "ETIMEDOUT",
      fix: `raise hooks.${kind}[${index}].timeout or make the hook faster`,
    });
  }
  if (status === 0 && !proc.signalCode) return;
  const how = proc.signalCode ? `was killed by ${proc.signalCode}` : `exited with status ${status}`;
  const said = firstLine(stderr);
  throw new BunkerError(`${where}: ${how}${said ? `: ${said}` : ""}`);
}

/** Runs the hooks of one KIND with STATE (runtime-spec state.md) on their stdin. */
export async function runHooks(
  kind: HookKind,
  hooks: readonly Hook[] | undefined,
  state: State | Record<string, unknown>,
  opts: HookOptions = {},
): Promise<void> {
  if (!hooks?.length) return;
  const stdin = new TextEncoder().encode(JSON.stringify(state));
  const cwd = opts.cwd ?? (typeof state.bundle === "string" ? state.bundle : undefined);
  const lenient = (kind === "poststart" || kind === "poststop") && opts.onWarning;
  for (const [i, hook] of hooks.entries()) {
    try {
      await runHook(kind, i, hook, stdin, cwd);
    } catch (e) {
      if (!lenient || !(e instanceof BunkerError)) throw e;
      opts.onWarning!(e);
    }
  }
}
