// Plain-loop forms of Array.prototype's callback methods, for the start-up
// path of `run` and `create`.  map, filter, some, every, find, flatMap,
// forEach and Object.fromEntries are builtins written in JavaScript: each
// one's first call in a process compiles it (--bytecode covers only
// bunker's own code), ~0.03-0.25 ms apiece.  A path that calls none of them
// pays none of that.  The callbacks get the element only (no index).

export function mapOf<T, U>(list: readonly T[], f: (x: T) => U): U[] {
  const out: U[] = [];
  for (const x of list) out.push(f(x));
  return out;
}

export function filterOf<T>(list: readonly T[], keep: (x: T) => unknown): T[] {
  const out: T[] = [];
  for (const x of list) if (keep(x)) out.push(x);
  return out;
}

export function someOf<T>(list: readonly T[], test: (x: T) => unknown): boolean {
  for (const x of list) if (test(x)) return true;
  return false;
}

export function everyOf<T>(list: readonly T[], test: (x: T) => unknown): boolean {
  for (const x of list) if (!test(x)) return false;
  return true;
}

export function findOf<T>(list: readonly T[], test: (x: T) => unknown): T | undefined {
  for (const x of list) if (test(x)) return x;
  return undefined;
}

// Regular expressions cost too: the first one a process runs ~0.04 ms, each
// other one ~0.01 ms to compile.  These do what run's path did with them.

/** S without its trailing slashes (s.replace(/\/+$/, "")) */
export function trimSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 47) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** S with each run of slashes made one (s.replace(/\/{2,}/g, "/")) */
export function squeezeSlashes(s: string): string {
  if (!s.includes("//")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) if (!(s.charCodeAt(i) === 47 && s.charCodeAt(i - 1) === 47)) out += s[i];
  return out;
}

/** whether C (one UTF-16 unit) is what \s matches */
export function isSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** the words of S: its runs of non-space (\s) characters (a trimmed s.split(/\s+/)) */
export function wordsOf(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const space = i === s.length || isSpace(s.charCodeAt(i));
    if (space && start >= 0) {
      out.push(s.slice(start, i));
      start = -1;
    } else if (!space && start < 0) start = i;
  }
  return out;
}

/** PARTS joined into one new array (tar blocks, a file read in chunks): a plain loop, not reduce (a builtin written in JavaScript) */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
