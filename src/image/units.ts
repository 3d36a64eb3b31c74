// Byte counts for people: 1.23MB (decimal units, as docker prints them).
export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${i ? n.toPrecision(3) : n}${units[i]}`;
}

/** binary units, for sizes given as flags in binary units (100m = 100MiB): 104857600 -> "100MiB", 1.5 GiB -> "1.5GiB" */
export function binaryBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i ? Number(n.toFixed(1)) : n}${units[i]}`;
}

/** Go's units.BytesSize (docker stats' memory): binary units, 4 significant digits, trailing zeros dropped: "1.238MiB", "0B" */
export function dockerBinaryBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${Number(n.toPrecision(4))}${units[i]}`;
}
