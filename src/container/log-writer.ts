// A detached container's log: its stdout and stderr go into two pipes read
// by a small C process outside the container (c/logwriter.c, the monitor
// program in --log-writer mode, exec'd from a sealed memfd), which appends
// them to <state dir>/log a record per line (the CRI log format: time,
// stream, the line; src/container/logs.ts reads it) and rotates it as
// Docker's json-file driver does (--log-opt max-size=SIZE, max-file=N).  With
// a terminal (-t) it reads the terminal's master instead (one stream).  With
// -i or -t it also holds the container's stdin (the pipe's write end, or the
// master) and passes on what clients of <state dir>/attach write, and resizes
// the terminal for them (an API server's attach and resize, src/api/attach.ts).
// It is started before the container (with a terminal: right after it) and
// ends by itself when the container's last writer closes its output;
// <state dir>/log-writer records its pid and start time for `rm` to wait for.
import { readdirSync, readFileSync, writeFileSync } from "../sys/fs-sync.ts";
import { parseBytes } from "../cgroup/flags.ts";
import { BunkerError } from "../errors.ts";
import { spawnLogWriter, waitPidExit } from "../sys/shim.ts";
import { pidStartTime } from "../sys/proc.ts";
import type { Stdio } from "../plan/types.ts";

export interface LogOptions {
  /** bytes one file may hold before it rotates; 0 = unbounded (max-size=-1) */
  maxSize: number;
  /** files kept: log and log.1 .. log.(maxFile-1) */
  maxFile: number;
}

/**
 * The default cap: 10 MiB per file, 3 files.  The state dir is usually on a
 * tmpfs (/run, $XDG_RUNTIME_DIR: memory), so a container's log may cost at
 * most 30 MiB of it, yet keeps some 10^5 recent lines.
 */
export const DEFAULT_LOG_OPTIONS: LogOptions = { maxSize: 10 * 2 ** 20, maxFile: 3 };

const WRITER_NAME = "bunker-log";

/** --log-opt KEY=VALUE... (max-size=SIZE|-1, max-file=N), Docker's json-file options */
export function parseLogOptions(opts: string[]): LogOptions {
  const out = { ...DEFAULT_LOG_OPTIONS };
  let maxFileGiven = false;
  for (const o of opts) {
    const i = o.indexOf("=");
    const key = i < 0 ? o : o.slice(0, i);
    const value = i < 0 ? "" : o.slice(i + 1);
    if (key === "max-size") out.maxSize = value.trim() === "-1" ? 0 : parseBytes(value, "--log-opt max-size");
    else if (key === "max-file") {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
        throw new BunkerError(`--log-opt max-file: "${value}" must be an integer from 1 to 1000`, { errno: "EINVAL" });
      }
      out.maxFile = Number(value);
      maxFileGiven = true;
    } else throw new BunkerError(`--log-opt: unknown option "${key}"`, { errno: "EINVAL", fix: "bunker's log takes max-size=SIZE and max-file=N (Docker's json-file options)" });
  }
  if (out.maxSize > 0 && out.maxSize < 4096) throw new BunkerError(`--log-opt max-size: ${out.maxSize} bytes is too small`, { errno: "EINVAL", fix: "use 4k or more, or -1 for no limit" });
  if (out.maxSize === 0 && maxFileGiven) throw new BunkerError("--log-opt max-file needs a max-size", { errno: "EINVAL", fix: "drop max-file, or give max-size=SIZE" });
  return out;
}

export interface LogWriter {
  pid: number;
  /** the container's ends of the pipes (its stdio op); close them once the container has them */
  stdio: Stdio;
}

export interface WriterStreams {
  /** the terminal's master (-t): the one stream, read and written; otherwise pipes */
  tty?: number;
  /** -i: a pipe for stdin, written through <dir>/attach */
  stdin: boolean;
  /** the first attached client's end of input ends the container's (Docker's StdinOnce) */
  stdinOnce: boolean;
  /** run -d --rm: once the container has ended, the writer becomes REMOVEWITH (bunker) __finish DIR CODE */
  removeWith?: string;
  /** a restart policy: it becomes this bunker __restart DIR CODE (src/container/restart.ts) */
  restartWith?: string;
  /** it writes the container's die event (src/events.ts containerEventArgs) */
  events?: string[];
}

/** the socket of DIR's log writer that takes stdin and window sizes (a container with -i or -t) */
export const attachSocket = (dir: string) => `${dir}/attach`;

/** Starts DIR's log writer (the state DIR exists) and records it; the first file is made first, so `logs` finds it at once. */
export function startLogWriter(dir: string, opts: LogOptions, s: WriterStreams): LogWriter {
  writeFileSync(`${dir}/log`, "", { flag: "a", mode: 0o600 });
  const flags = [...(s.removeWith ? [`--rm-finish=${s.removeWith}`] : []), ...(s.tty !== undefined ? ["--tty"] : ["--stderr"]), ...(s.stdin ? ["--stdin"] : []), ...(s.stdinOnce ? ["--stdin-once"] : []), ...(s.restartWith ? [`--restart=${s.restartWith}`] : []), ...(s.events ?? [])];
  const w = spawnLogWriter([WRITER_NAME, "--log-writer", `--dir=${dir}`, `--max-size=${opts.maxSize}`, `--max-file=${opts.maxFile}`, ...flags], { stderr: true, stdin: s.stdin && s.tty === undefined, tty: s.tty ?? -1 });
  // it cannot outlive a bunker killed before this record exists: it ends when
  // bunker's end of the pipe closes, and no container holds one yet
  writeFileSync(`${dir}/log-writer`, `${w.pid} ${pidStartTime(w.pid) ?? ""}\n`, { mode: 0o600 });
  return { pid: w.pid, stdio: { stdin: w.stdin, stdout: w.stdout, stderr: w.stderr } };
}

/**
 * what the writer is called once the pipe has ended and it waits for the
 * container's exit status, to write its die event (c/logwriter.c): drained,
 * and about to end by itself
 */
const EXIT_WAITER_NAME = "bunker-exit";

/** DIR's log writer while it runs (its recorded pid, same start time and one of NAMES), else undefined */
export function runningLogWriter(dir: string, names = [WRITER_NAME]): number | undefined {
  let rec: string;
  try {
    rec = readFileSync(`${dir}/log-writer`, "utf8");
  } catch {
    return undefined;
  }
  const [pid, start] = rec.trim().split(" ").map((x) => x ?? "");
  const n = Number(pid);
  if (!Number.isSafeInteger(n) || n <= 0 || !start || pidStartTime(n) !== start) return undefined;
  try {
    return names.includes(readFileSync(`/proc/${n}/comm`, "utf8").trim()) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Before DIR is removed (its container is dead): lets the writer drain the
 * pipe and exit, which it does by itself once the container's last writer
 * has gone; a writer still there after TIMEOUT_MS (a pipe end held by
 * something that outlived the container) is killed, by its verified pid.
 */
export function endLogWriter(dir: string, timeoutMs = 2000): void {
  const names = [WRITER_NAME, EXIT_WAITER_NAME];
  const pid = runningLogWriter(dir, names);
  if (pid === undefined) return;
  // ended, or (run -d --rm, a restart policy) no longer the writer: waiting for DIR to go, which its remover does
  for (const end = Date.now() + timeoutMs; Date.now() < end; Bun.sleepSync(5)) if (runningLogWriter(dir, names) !== pid) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* it has just exited */
  }
  waitPidExit(pid, 1000);
}

/** DIR's log files, oldest first: log.N .. log.1, then log (what `logs` prints, in order) */
export function logFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names.map((n) => /^log\.(\d+)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => b - a);
  return [...rotated.map((k) => `${dir}/log.${k}`), ...(names.includes("log") ? [`${dir}/log`] : [])];
}
