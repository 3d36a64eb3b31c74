// OCI hooks (config.md "POSIX-platform Hooks"): each hook is run with its
// path, args (argv[0] included) and env, the container's state JSON on stdin,
// and killed when its timeout (seconds) passes.  Hooks of one kind run in
// order; the first failure stops them.
import { BunkerError, errnoCode } from "../errors.ts";
import type { Hook, Hooks, State } from "./spec.ts";
import { SIGNALS } from "../sys/signals.ts";

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
  /** the runtime's environment, which a hook without env inherits (as runc's); the engine passes its context's */
  env?: Readonly<Record<string, string | undefined>>;
}

/** the first line of what the hook wrote on stderr, shortened, for the one-line error */
function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** how a hook failed, as runHook sees it or as the shim reports a startContainer hook */
export type HookFailure =
  | { exited: number }
  | { signal: string }
  | { timedOut: number }
  | { noExec: string | number };

/** one line that names the hook (hooks.KIND[I] PATH), how it failed and the first line it printed */
export function hookError(kind: HookKind, index: number, hook: Hook, f: HookFailure, output = ""): BunkerError {
  const where = `hooks.${kind}[${index}] ${hook.path}`;
  if ("noExec" in f)
    return new BunkerError(`${where}: cannot run the hook`, { errno: f.noExec, path: hook.path, fix: "check that the hook exists and is executable" });
  if ("timedOut" in f)
    return new BunkerError(`${where}: timed out after ${f.timedOut}s and was killed`, { errno: "ETIMEDOUT", fix: `raise hooks.${kind}[${index}].timeout or make the hook faster` });
  const how = "signal" in f ? `was killed by ${f.signal}` : `exited with status ${f.exited}`;
  const said = firstLine(output);
  return new BunkerError(`${where}: ${how}${said ? `: ${said}` : ""}`);
}

/**
 * A startContainer hook that failed in the container: the record c/hooks.c
 * wrote to exec.fifo after its "0" (i32 index, i32 kind = BK_HOOK_*, i32
 * value, then what the hook printed).
 */
export function startHookError(hooks: readonly Hook[], record: Uint8Array): BunkerError {
  const dv = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const index = dv.getInt32(0, true), kind = dv.getInt32(4, true), value = dv.getInt32(8, true);
  const f: HookFailure =
    kind === 1 ? { exited: value }
    : kind === 2 ? { signal: Object.keys(SIGNALS).find((k) => SIGNALS[k] === value) ?? `signal ${value}` }
    : kind === 3 ? { timedOut: value }
    : { noExec: value };
  return hookError("startContainer", index, hooks[index] ?? { path: "(unknown)" }, f, new TextDecoder().decode(record.subarray(12)));
}

async function runHook(kind: HookKind, index: number, hook: Hook, stdin: Uint8Array, cwd: string | undefined, runtimeEnv: HookOptions["env"]): Promise<void> {
  const args = hook.args?.length ? hook.args : [hook.path];
  let proc: Bun.Subprocess<Uint8Array, "ignore", "pipe">;
  try {
    proc = Bun.spawn({
      cmd: [hook.path, ...args.slice(1)],
      argv0: args[0],
      // runc (Go's exec.Cmd) inherits the runtime's environment when env is absent
      env: hook.env ? Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) : runtimeEnv,
      cwd,
      stdin,
      stdout: "ignore",
      stderr: "pipe",
    });
  } catch (e) {
    throw hookError(kind, index, hook, { noExec: errnoCode(e) ?? "EIO" });
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
  if (timedOut) throw hookError(kind, index, hook, { timedOut: hook.timeout! });
  if (status === 0 && !proc.signalCode) return;
  throw hookError(kind, index, hook, proc.signalCode ? { signal: String(proc.signalCode) } : { exited: status }, stderr);
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
      await runHook(kind, i, hook, stdin, cwd, opts.env);
    } catch (e) {
      if (!lenient || !(e instanceof BunkerError)) throw e;
      opts.onWarning!(e);
    }
  }
}
