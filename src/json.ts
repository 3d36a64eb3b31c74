// Untrusted JSON documents (a bundle's config.json, `exec --process`, image
// manifests, indexes and configs, archives' manifest.json and index.json,
// credential files): parsed within a size bound per kind of document and a
// nesting bound checked by a linear scan BEFORE JSON.parse, so a 2-million-deep
// array never reaches a recursive parser; every error names the file and the
// byte offset.  The Checker then validates the value by shape, each error
// naming the JSON field path (config.json: process.args[0]: must be a string).
import { closeSync, fstatSync, openSync, readSync } from "./sys/fs-sync.ts";
import { BunkerError, fromSysError } from "./errors.ts";
import { concatBytes } from "./loops.ts";

const MiB = 1 << 20;

/** the largest document of each kind we read (bytes); real ones are a few KiB */
export const JSON_LIMITS = {
  /** config.json and process.json: room for a seccomp profile and a large but execve-able env */
  config: 32 * MiB,
  /** image manifests and indexes: the distribution registry's own limit */
  manifest: 4 * MiB,
  /** image configs (their history grows with every layer), docker-archive manifest.json, an OCI layout's index.json */
  image: 32 * MiB,
  /** credential files */
  auth: 1 * MiB,
  /** an Engine API request's JSON body (bunker serve): a container's create with a large env fits */
  request: 4 * MiB,
} as const;

export type JsonKind = keyof typeof JSON_LIMITS;

/** deeper than any real document (config.json nests 5 levels); Go's encoding/json stops at 10000 */
export const MAX_JSON_DEPTH = 100;

type Obj = Record<string, unknown>;

/** `at byte N (line L, column C)` for the UTF-16 offset I of TEXT */
function where(text: string, i: number): string {
  const before = text.slice(0, i);
  const lines = before.split("\n");
  return `at line ${lines.length}, column ${lines[lines.length - 1]!.length + 1} (byte ${Buffer.byteLength(before)})`;
}

/** the offset of the first bracket deeper than MAX, or -1: one pass, no recursion */
function tooDeepAt(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/** Bun's JSON.parse does not say where; find the first offending character ourselves (TEXT's depth is bounded). */
function syntaxErrorAt(text: string): { offset: number; problem: string } {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const err = (problem?: string): never => {
    throw { offset: i, problem: problem ?? (i >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[i])}`) };
  };
  const lit = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else err();
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) err("control character in string");
      if (text[i] === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) err("bad \\u escape");
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? "")) err("bad escape");
      }
      i++;
    }
    if (i >= text.length) err("unterminated string");
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) err();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') err("expected a string key");
        str();
        ws();
        if (text[i] !== ":") err('expected ":"');
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else err('expected "," or "}"');
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else err('expected "," or "]"');
      }
    } else if (c === '"') str();
    else if (c === "t") lit("true");
    else if (c === "f") lit("false");
    else if (c === "n") lit("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) num();
    else err();
  };
  try {
    value();
    ws();
    if (i < text.length) err();
  } catch (e) {
    if (e && typeof e === "object" && "offset" in e) return e as { offset: number; problem: string };
    throw e;
  }
  return { offset: 0, problem: "invalid JSON" };
}

const invalid = (msg: string, fix?: string) => new BunkerError(msg, { errno: "EINVAL", fix });

/** refuses SIZE bytes of FILE, a document of KIND, when they are more than KIND's limit (before reading them, where the size is known) */
export function checkJsonSize(size: number, file: string, kind: JsonKind): void {
  const limit = JSON_LIMITS[kind];
  if (size > limit) throw invalid(`${file}: too large: ${size} bytes, at most ${limit} are read`, "is it the right file?");
}

/**
 * DOC (text, or bytes decoded as UTF-8, invalid sequences as U+FFFD) as a
 * JSON value, read as a document of KIND from FILE: too large, too deeply
 * nested or not JSON is one BunkerError naming FILE and where.
 */
export function parseJson(doc: string | Uint8Array, file: string, kind: JsonKind): unknown {
  // a string's UTF-8 size: at most 3 bytes a UTF-16 unit, so one short enough needs no count (and no Buffer)
  checkJsonSize(typeof doc !== "string" ? doc.length : doc.length * 3 <= JSON_LIMITS[kind] ? doc.length : Buffer.byteLength(doc), file, kind);
  const text = typeof doc === "string" ? doc : new TextDecoder().decode(doc);
  const deep = tooDeepAt(text, MAX_JSON_DEPTH);
  if (deep >= 0) throw invalid(`${file}: JSON nested deeper than ${MAX_JSON_DEPTH} levels ${where(text, deep)}`);
  try {
    return JSON.parse(text);
  } catch {
    const { offset, problem } = syntaxErrorAt(text);
    throw invalid(`${file}: invalid JSON ${where(text, offset)}: ${problem}`);
  }
}

/**
 * The bytes of the file PATH (or fd 0 for "-"), a document of KIND: one
 * larger than KIND's limit is refused before it is read (a regular file by
 * its size, a pipe once it has given more).  WHAT names the read in errors.
 */
export function readBounded(path: string, kind: JsonKind, what: string, fix?: string): Uint8Array {
  const limit = JSON_LIMITS[kind];
  let fd = -1;
  try {
    fd = path === "-" ? 0 : openSync(path, "r");
    const st = fstatSync(fd);
    if (st.isFile()) checkJsonSize(st.size, path, kind);
    // a regular file in one read of its size (and one more byte, to see it did not grow); a pipe in
    // 64 KiB reads: not a buffer of the whole limit (a zeroed MiB cost a 3 KB config.json ~0.4 ms of page faults)
    const chunks: Uint8Array[] = [];
    let total = 0;
    let size = st.isFile() ? st.size + 1 : 65536;
    for (;;) {
      const buf = new Uint8Array(Math.max(1, Math.min(limit + 1 - total, size)));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > limit) throw invalid(`${path}: too large: more than ${limit} bytes`, "is it the right file?");
      size = 65536;
    }
    // not Buffer.concat: Buffer's first use costs a start ~0.1-0.2 ms
    return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
  } catch (e) {
    throw fromSysError(what, e, { path, fix });
  } finally {
    if (fd > 0) closeSync(fd);
  }
}

/** parseJson, and the document must be an object */
export function parseJsonObject(doc: string | Uint8Array, file: string, kind: JsonKind): Obj {
  const raw = parseJson(doc, file, kind);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalid(`${file}: must be a JSON object`);
  return raw as Obj;
}

/** `[3]` for indexes, `.name` for identifiers, `["a.b"]` for other keys */
export function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (isIdentifier(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** [A-Za-z_][A-Za-z0-9_]*, by a plain loop: child() runs for every field a document has, a regex's test costs more */
function isIdentifier(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

/** Shape checks of a parsed document; each failure is `FILE: PATH: problem`. */
export class Checker {
  constructor(readonly file: string) {}

  fail(path: string, problem: string): never {
    throw new BunkerError(path ? `${this.file}: ${path}: ${problem}` : `${this.file}: ${problem}`, { errno: "EINVAL" });
  }

  obj(v: unknown, path: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, "must be an object");
    return v as Obj;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== "string") this.fail(path, "must be a string");
    return v;
  }
  bool(v: unknown, path: string): boolean {
    if (typeof v !== "boolean") this.fail(path, "must be a boolean");
    return v;
  }
  int(v: unknown, path: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_VALUE): number {
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(path, "must be an integer");
    if (v < min) this.fail(path, min === 1 ? "must be > 0" : `must be >= ${min}`);
    if (v > max) this.fail(path, `must be <= ${max}`);
    return v;
  }
  uint(v: unknown, path: string, max = Number.MAX_VALUE): number {
    return this.int(v, path, 0, max);
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, "must be an array");
    return v;
  }
  /** an array of objects, each checked by fn with its path */
  objs<T>(v: unknown, path: string, fn: (o: Obj, p: string, i: number) => T): T[] {
    // plain loops here and in src/oci/validate.ts: map and forEach are builtins written in JavaScript (their first call costs)
    const a = this.arr(v, path), out: T[] = [];
    for (let i = 0; i < a.length; i++) out.push(fn(this.obj(a[i], child(path, i)), child(path, i), i));
    return out;
  }
  strs(v: unknown, path: string): string[] {
    const a = this.arr(v, path);
    for (let i = 0; i < a.length; i++) this.str(a[i], child(path, i));
    return a.slice() as string[]; // a copy, as map gave
  }
  abs(v: unknown, path: string): string {
    const s = this.str(v, path);
    if (!s.startsWith("/")) this.fail(path, "must be an absolute path");
    return s;
  }
  /** key of o, checked by fn when present */
  opt<T>(o: Obj, key: string, path: string, fn: (v: unknown, p: string) => T): T | undefined {
    return o[key] === undefined ? undefined : fn.call(this, o[key], child(path, key));
  }
  req<T>(o: Obj, key: string, path: string, fn: (v: unknown, p: string) => T): T {
    if (o[key] === undefined) this.fail(child(path, key), "is required");
    return fn.call(this, o[key], child(path, key));
  }
  strMap(v: unknown, path: string): Record<string, string> {
    const o = this.obj(v, path);
    for (const [k, s] of Object.entries(o)) this.str(s, child(path, k));
    return o as Record<string, string>;
  }
  /** an object whose listed keys are optional integers (resources) */
  ints(v: unknown, path: string, keys: string[], min = Number.MIN_SAFE_INTEGER): Obj {
    const o = this.obj(v, path);
    for (const k of keys) this.opt(o, k, path, (x, p) => this.int(x, p, min));
    return o;
  }
}
