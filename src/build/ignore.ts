// .dockerignore with Docker's rules (moby/patternmatcher):
//  - one pattern a line; `#` starts a comment line; blank lines are nothing
//  - a pattern is cleaned as Go's filepath.Clean does (`./a` -> `a`,
//    `a/../b` -> `b`, `/a` -> `a`: the context's root is the root either way)
//  - `*` any run of characters but `/`, `?` one, `[a-z]`/`[!a-z]` a class,
//    `\` escapes, `**` any number of directories (zero included)
//  - a pattern excludes what it matches and everything below it; `!PATTERN`
//    takes matches back in; the last pattern that matches a path decides.
import { posix } from "node:path";

export interface IgnorePattern {
  /** the cleaned pattern as written (without `!`) */
  pattern: string;
  exception: boolean;
  re: RegExp;
}

/** the pattern cleaned as filepath.Clean, relative to the context root ("" for the root itself) */
function clean(p: string): string {
  const c = posix.normalize(`/${p}`).replace(/^\/+/, "").replace(/\/+$/, "");
  return c === "." ? "" : c;
}

const escapeRe = (c: string) => c.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");

/** PATTERN as an anchored regular expression over a slash-separated path */
export function patternRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^/" : ""}${body.replace(/\\/g, "\\\\").replace(/\]/g, "\\]")}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, "s");
}

/** the patterns of a .dockerignore's TEXT, in order */
export function parseIgnore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const exception = line.startsWith("!");
    if (exception) line = line.slice(1).trim();
    const pattern = clean(line);
    if (!pattern) continue;
    out.push({ pattern, exception, re: patternRegExp(pattern) });
  }
  return out;
}

/** whether PATH (relative to the context, slash-separated) is left out of the context by PATTERNS */
export function isIgnored(patterns: IgnorePattern[], path: string): boolean {
  const parts = clean(path).split("/");
  let ignored = false;
  for (const p of patterns) {
    // a pattern matches the path or one of its parent directories
    let hit = false;
    for (let n = parts.length; n > 0 && !hit; n--) hit = p.re.test(parts.slice(0, n).join("/"));
    if (hit) ignored = !p.exception;
  }
  return ignored;
}

/** whether an exception of PATTERNS could take back something below the ignored directory DIR (then it must be walked) */
export function mayIncludeBelow(patterns: IgnorePattern[], dir: string): boolean {
  const d = clean(dir);
  return patterns.some((p) => p.exception && (p.pattern.startsWith(`${d}/`) || /[*?[]/.test(p.pattern)));
}
