// --format TEMPLATE of inspect, ps and images: the part of Go's text/template
// that docker users type — text with {{.Field.Sub}} and {{json .Field}}
// actions ({{json .}} the whole value).  Anything else in braces ({{range}},
// {{if}}, pipes, functions) is refused in one line, never printed as is or
// ignored.  A missing field prints "<no value>" as Go does for a map; an
// object or array prints as JSON (Go would print map[...]).
import { BunkerError } from "../errors.ts";

type Part = { text: string } | { path: string[]; json: boolean };

const ACTION = /^(json\s+)?\.((?:[A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?$/;

/** TEMPLATE's parts; a BunkerError naming the first action bunker does not do */
export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let rest = template.replace(/\\n/g, "\n").replace(/\\t/g, "\t");
  for (;;) {
    const open = rest.indexOf("{{");
    if (open < 0) break;
    const close = rest.indexOf("}}", open + 2);
    if (close < 0) throw new BunkerError(`--format: unclosed action in ${JSON.stringify(template)}`, { errno: "EINVAL", fix: "close each {{ with }}" });
    if (open > 0) parts.push({ text: rest.slice(0, open) });
    const inner = rest.slice(open + 2, close).trim().replace(/^-\s*|\s*-$/g, "");
    const m = ACTION.exec(inner);
    if (!m) throw new BunkerError(`--format: {{${inner}}} is not supported`, { errno: "EINVAL", fix: "bunker's --format takes {{.Field.Sub}}, {{json .Field}} and {{json .}}; or --format json" });
    parts.push({ path: m[2] ? m[2].split(".") : [], json: !!m[1] });
    rest = rest.slice(close + 2);
  }
  if (rest) parts.push({ text: rest });
  return parts;
}

function lookup(value: unknown, path: string[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** VALUE through the parsed template (one line's text, without its newline) */
export function applyTemplate(parts: Part[], value: unknown): string {
  return parts
    .map((p) => {
      if ("text" in p) return p.text;
      const v = lookup(value, p.path);
      if (p.json) return JSON.stringify(v ?? null);
      if (v === undefined) return "<no value>";
      if (v === null) return "<nil>";
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    })
    .join("");
}

/** whether --format's value is a template (not one of the command's named formats) */
export function isTemplate(format: string | undefined): format is string {
  return format !== undefined && format.includes("{{");
}

/**
 * --format VALUE of a docker-style listing (WHERE: "ps", "stats", …): the table (the default), or a line
 * per row, JSON or a template's; anything else is one line whose fix shows EXAMPLE (a template)
 */
export function listFormat(where: string, value: string | undefined, example: string): { table: boolean; line: (row: object) => string } {
  const format = value ?? "table";
  if (format === "table") return { table: true, line: (row) => JSON.stringify(row) };
  if (format === "json") return { table: false, line: (row) => JSON.stringify(row) };
  if (!isTemplate(format)) throw new BunkerError(`${where}: unknown --format ${JSON.stringify(format)}`, { errno: "EINVAL", fix: `--format table, json or a template such as '${example}'` });
  const parts = parseTemplate(format);
  return { table: false, line: (row) => applyTemplate(parts, row) };
}
