// Byte counts for people: 1.23MB (decimal units, as docker prints them).
export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${i ? n.toPrecision(3) : n}${units[i]}`;
}
