// docker's tables: columns three spaces apart (Go's tabwriter with padding 3),
// the last column not padded, so a line ends with its last value.
export function tableLines(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)) + 3);
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join("").trimEnd());
}

export function printTable(rows: string[][]): void {
  for (const l of tableLines(rows)) console.log(l);
}

/** docker's Ellipsis: S cut to N characters, its last one … */
export function ellipsis(s: string, n: number): string {
  const chars = [...s];
  return chars.length > n ? `${chars.slice(0, n - 1).join("")}…` : s;
}
