// One error type for the whole program.  Every failure reaches the user as
// one line:  bunker: <what failed>: <ERRNO> (<message>) [path or field] — <fix>
import { errnoMessage, errnoMessageByName, errnoName } from "./sys/errno.ts";

export interface ErrorDetail {
  /** errno number, or its name (e.g. "ENOENT") */
  errno?: number | string;
  /** the path or JSON field the error is about */
  path?: string;
  /** how to fix it, when known */
  fix?: string;
  /** process exit code: 125 (bunker failed), 126 (not executable), 127 (not found) */
  exitCode?: number;
}

export class BunkerError extends Error {
  readonly detail: ErrorDetail;
  constructor(what: string, detail: ErrorDetail = {}) {
    super(what);
    this.detail = detail;
  }

  get exitCode(): number {
    return this.detail.exitCode ?? 125;
  }

  get errnoName(): string | undefined {
    const e = this.detail.errno;
    return e === undefined ? undefined : typeof e === "number" ? errnoName(e) : e;
  }

  /** the one line printed on stderr (without the trailing newline); not `line()`: JSC gives every Error an own `line` property */
  format(): string {
    let s = `bunker: ${this.message}`;
    const e = this.detail.errno;
    if (e !== undefined) {
      const msg = typeof e === "number" ? errnoMessage(e) : errnoMessageByName(e);
      s += `: ${this.errnoName}${msg ? ` (${msg})` : ""}`;
    }
    if (this.detail.path) s += ` [${this.detail.path}]`;
    if (this.detail.fix) s += ` — ${this.detail.fix}`;
    return oneLine(s);
  }
}

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * S with control characters (C0, DEL, C1, the line and paragraph separators)
 * written as escapes and lone surrogates as U+FFFD: a message quotes names,
 * paths and fields the user or a document supplied, and must stay one line
 * that cannot move the terminal's cursor.
 */
export function oneLine(s: string): string {
  return s.toWellFormed().replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}` : `\\u${c.charCodeAt(0).toString(16)}`));
}

/** A failed system call of our own bindings (src/sys): errno, the call, the path it was about. */
export class FsError extends Error {
  constructor(readonly errno: number, readonly syscall: string, readonly path: string) {
    super(`${syscall} ${path}: errno ${errno}`);
  }
}

/** the errno name of a failed system call: a Node/Bun fs error's code, an FsError's errno; else undefined */
export function errnoCode(err: unknown): string | undefined {
  if (err instanceof FsError) return errnoName(err.errno);
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined; // not Node's ERR_* codes
}

/**
 * The one conversion of a failure into a BunkerError about WHAT: a BunkerError
 * stays itself; a Node/Bun fs error (err.code = "ENOENT", err.path) and an
 * FsError (its call named) carry their errno; anything else its message.
 */
export function fromSysError(what: string, err: unknown, detail: Omit<ErrorDetail, "errno"> = {}): BunkerError {
  if (err instanceof BunkerError) return err;
  if (err instanceof FsError) return new BunkerError(`${what} (${err.syscall})`, { errno: err.errno, ...detail, path: detail.path ?? err.path });
  const code = errnoCode(err);
  if (code) return new BunkerError(what, { errno: code, ...detail, path: detail.path ?? (err as { path?: string }).path });
  return new BunkerError(`${what}: ${(err as Error | undefined)?.message ?? String(err)}`, detail);
}
