// A small docker/runc-style flag parser.  Flags come before the first
// positional argument (or "--"); everything after belongs to the command.
import { BunkerError } from "../errors.ts";

export interface FlagSpec {
  /** names without dashes: ["e", "env"] */
  names: string[];
  /** takes a value (`-e K=V`, `--env=K=V`) */
  value?: boolean;
  /** may be given more than once (values collected in order) */
  multi?: boolean;
  /** what `COMMAND --help` says of it: "VALUE  what it does" (the value's placeholder first when it takes one) */
  help?: string;
}

/**
 * Thrown by parseFlags for `--help` (and `-h` where no flag is named h): the
 * dispatcher prints helpText(where, specs) and exits 0, so every command that
 * parses its flags answers --help with exactly the flags it accepts.
 */
export class HelpRequest {
  constructor(readonly where: string, readonly specs: FlagSpec[]) {}
}

/** one line per flag: "-e, --env K=V   set ..." from its names and help */
export function flagLines(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const help = s.help ?? "";
    const gap = help.indexOf("  ");
    const arg = s.value ? (gap > 0 ? help.slice(0, gap) : "VALUE") : "";
    const names = [...s.names].sort((a, b) => a.length - b.length).map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(", ");
    return { left: arg ? `${names} ${arg}` : names, right: (s.value && gap > 0 ? help.slice(gap) : help).trim() };
  });
  const width = Math.min(30, Math.max(0, ...rows.map((r) => r.left.length)));
  return rows
    .map(({ left, right }) => {
      const lines = right.split("\n");
      const first = left.length > width ? `  ${left}\n${" ".repeat(width + 4)}${lines[0]}` : `  ${left.padEnd(width)}  ${lines[0]}`;
      return [first.trimEnd(), ...lines.slice(1).map((l) => `${" ".repeat(width + 4)}${l}`)].join("\n");
    })
    .join("\n");
}

export interface Parsed {
  flags: Map<string, string[]>;
  rest: string[];
}

/** Parses ARGV against SPECS; the first name of each spec is its key in `flags`. */
export function parseFlags(argv: string[], specs: FlagSpec[], where: string, stopAtPositional = true): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const flags = new Map<string, string[]>();
  const rest: string[] = [];
  let i = 0;
  const put = (spec: FlagSpec, v: string) => {
    const key = spec.names[0]!;
    const list = flags.get(key) ?? [];
    if (spec.multi) list.push(v);
    else list.splice(0, list.length, v);
    flags.set(key, list);
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") { i++; break; }
    if ((a === "--help" && !byName.has("help")) || (a === "-h" && !byName.has("h"))) throw new HelpRequest(where, specs);
    if (!a.startsWith("-") || a === "-") {
      if (stopAtPositional) break;
      rest.push(a);
      continue;
    }
    const long = a.startsWith("--");
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let spec = byName.get(name);
    if (!spec && !long && body.length > 1) {
      // -eK=V: a value glued to a short flag
      const first = byName.get(body[0]!);
      if (first?.value) { put(first, body.slice(1)); continue; }
      // bundled short flags: -it, -ti
      const letters = body.split("");
      if (letters.every((l) => byName.get(l) && !byName.get(l)!.value)) {
        for (const l of letters) put(byName.get(l)!, "true");
        continue;
      }
    }
    if (!spec) throw new BunkerError(`${where}: unknown flag ${a}`, { errno: "EINVAL", fix: `see 'bunker ${where.split(" ").pop()} --help'` });
    if (spec.value) {
      let v: string | undefined;
      if (eq >= 0) v = body.slice(eq + 1);
      else v = argv[++i];
      if (v === undefined) throw new BunkerError(`${where}: flag ${a} needs a value`, { errno: "EINVAL" });
      put(spec, v);
    } else {
      const v = eq >= 0 ? body.slice(eq + 1) : "true";
      if (v !== "true" && v !== "false") throw new BunkerError(`${where}: flag --${name} takes no value (got "${v}")`, { errno: "EINVAL" });
      put(spec, v);
    }
  }
  rest.push(...argv.slice(i));
  return { flags, rest };
}

export function flag(p: Parsed, key: string): string | undefined {
  const list = p.flags.get(key);
  // not .at(-1): Array.prototype.at is a builtin written in JavaScript, its first call costs (run's path)
  return list ? list[list.length - 1] : undefined;
}

/**
 * F of each of KEY's values, in order: a plain loop, not Array.prototype.map
 * (a builtin written in JavaScript: its first call costs, and run's path
 * maps a dozen flags that are mostly not given)
 */
export function flagMap<T>(p: Parsed, key: string, f: (v: string) => T): T[] {
  const out: T[] = [];
  const list = p.flags.get(key);
  if (list) for (const v of list) out.push(f(v));
  return out;
}

export function flagBool(p: Parsed, key: string): boolean {
  return flag(p, key) === "true";
}

export function flagList(p: Parsed, key: string): string[] {
  return p.flags.get(key) ?? [];
}

export function flagInt(p: Parsed, key: string, where: string): number | undefined {
  const v = flag(p, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new BunkerError(`${where}: --${key} must be a non-negative integer (got "${v}")`, { errno: "EINVAL" });
  return Number(v);
}

/** --label K=V entries (K alone: an empty value, as Docker's) of command WHAT */
export function parseLabels(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf("=");
    const k = i < 0 ? l : l.slice(0, i);
    if (!k) throw new BunkerError(`${what}: --label "${l}" has no key`, { errno: "EINVAL", fix: "use --label KEY=VALUE" });
    out[k] = i < 0 ? "" : l.slice(i + 1);
  }
  return out;
}
