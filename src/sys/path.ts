// node:path's posix helpers that the start-up paths of `run` and `create`
// use, as small functions: node:path is JavaScript evaluated at every start
// that imports it.  Same results as node's for the same arguments.

/** whether P is absolute */
export const isAbsolute = (p: string): boolean => p.charCodeAt(0) === 47;

/** P with ".", "..", repeated and trailing slashes resolved away (P absolute or relative; "" stays "") */
function normalizeParts(p: string, absolute: boolean): string {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i < p.length && p.charCodeAt(i) !== 47) continue;
    const part = p.slice(start, i);
    start = i + 1;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  return out.join("/");
}

/**
 * node's path.resolve: PARTS joined right to left up to the first absolute
 * one, normalized.  The working directory comes from the caller (ctx.cwd as
 * the first part), not from the process: with no absolute part the result is
 * relative (node's would start at process.cwd()).
 */
export function resolve(...parts: string[]): string {
  let joined = "";
  let absolute = false;
  for (let i = parts.length - 1; i >= 0 && !absolute; i--) {
    const p = parts[i]!;
    if (p.length === 0) continue;
    joined = joined ? `${p}/${joined}` : p;
    absolute = p.charCodeAt(0) === 47;
  }
  const n = normalizeParts(joined, absolute);
  return absolute ? `/${n}` : n || ".";
}

/** the end of P without its trailing slashes */
function trimEnd(p: string): number {
  let end = p.length;
  while (end > 1 && p.charCodeAt(end - 1) === 47) end--;
  return end;
}

/** node's path.basename (without the suffix argument): P's last name */
export function basename(p: string): string {
  const end = trimEnd(p);
  if (end === 1 && p.charCodeAt(0) === 47) return "";
  return p.slice(p.lastIndexOf("/", end - 1) + 1, end);
}

/** node's path.dirname: P without its last name ("." for a bare name, "/" for the root; as node's, "a//b" is "a/") */
export function dirname(p: string): string {
  if (p.length === 0) return ".";
  const root = p.charCodeAt(0) === 47;
  let end = -1;
  let matchedSlash = true;
  for (let i = p.length - 1; i >= 1; i--) {
    if (p.charCodeAt(i) === 47) {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else matchedSlash = false;
  }
  if (end === -1) return root ? "/" : ".";
  if (root && end === 1) return "//";
  return p.slice(0, end);
}
