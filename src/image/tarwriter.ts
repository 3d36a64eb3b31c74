// Tar headers for the archives bunker writes (`bunker save`) and for tests:
// ustar, with a PAX 'x' header when a name, link name or number does not fit
// or xattrs are given (or a GNU 'L'/'K' header when asked for).
import type { EntryType } from "./tar.ts";
import { concatBytes } from "../loops.ts";

export interface TarHeaderInput {
  name: string;
  type?: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string | Uint8Array>;
  /** how to store a name longer than 100 bytes: PAX (default) or GNU 'L' */
  longNames?: "pax" | "gnu";
}

const TYPEFLAG: Record<EntryType, string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };
const enc = new TextEncoder();

function octal(b: Uint8Array, off: number, len: number, n: number): boolean {
  const s = Math.floor(n).toString(8);
  if (s.length > len - 1) return false;
  b.set(enc.encode(s.padStart(len - 1, "0")), off);
  return true;
}

function block(name: Uint8Array, tf: string, h: TarHeaderInput, size: number, link: Uint8Array): Uint8Array {
  const b = new Uint8Array(512);
  b.set(name.subarray(0, 100), 0);
  octal(b, 100, 8, h.mode ?? (h.type === "dir" ? 0o755 : 0o644));
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, h.mtime ?? 0);
  b[156] = tf.charCodeAt(0);
  b.set(link.subarray(0, 100), 157);
  b.set(enc.encode("ustar\x0000"), 257);
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return b;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const rest = enc.encode(` ${key}=`);
  const base = rest.length + value.length + 1;
  let len = base + String(base).length;
  if (String(len).length !== String(base).length) len = base + String(len).length;
  const out = new Uint8Array(len);
  const head = enc.encode(`${len} ${key}=`);
  out.set(head);
  out.set(value, head.length);
  out[len - 1] = 0x0a;
  return out;
}

function withBody(hdr: Uint8Array, body: Uint8Array): Uint8Array[] {
  return [hdr, body, padding(body.length)];
}

export function padding(size: number): Uint8Array {
  return new Uint8Array((512 - (size % 512)) % 512);
}

/** The header block(s) of one entry; its SIZE bytes of data and padding(size) follow. */
export function tarHeader(h: TarHeaderInput): Uint8Array {
  const type = h.type ?? "file";
  const size = type === "file" ? h.size ?? 0 : 0;
  const name = enc.encode(h.name);
  const link = enc.encode(h.linkname ?? "");
  const parts: Uint8Array[] = [];
  const pax: Uint8Array[] = [];
  if (name.length > 100) {
    if (h.longNames === "gnu") parts.push(...withBody(block(enc.encode("././@LongLink"), "L", {} as TarHeaderInput, name.length + 1, new Uint8Array()), new Uint8Array([...name, 0])));
    else pax.push(paxRecord("path", name));
  }
  if (link.length > 100) {
    if (h.longNames === "gnu") parts.push(...withBody(block(enc.encode("././@LongLink"), "K", {} as TarHeaderInput, link.length + 1, new Uint8Array()), new Uint8Array([...link, 0])));
    else pax.push(paxRecord("linkpath", link));
  }
  if (size >= 0o77777777777) pax.push(paxRecord("size", enc.encode(String(size))));
  // ids past the 7 octal digits of ustar's fields (a layer of a container with high ids)
  for (const k of ["uid", "gid"] as const) if ((h[k] ?? 0) > 0o7777777) pax.push(paxRecord(k, enc.encode(String(h[k]))));
  if (h.mtime !== undefined && !Number.isInteger(h.mtime)) pax.push(paxRecord("mtime", enc.encode(h.mtime.toFixed(9))));
  for (const [k, v] of Object.entries(h.xattrs ?? {})) pax.push(paxRecord(`SCHILY.xattr.${k}`, typeof v === "string" ? enc.encode(v) : v));
  if (pax.length) {
    const body = concatBytes(pax);
    parts.push(...withBody(block(enc.encode("PaxHeader"), "x", {} as TarHeaderInput, body.length, new Uint8Array()), body));
  }
  parts.push(block(name, TYPEFLAG[type], h, size, link));
  return concatBytes(parts);
}



/** The two zero blocks that end an archive. */
export const TAR_END = new Uint8Array(1024);

export interface TarInput extends TarHeaderInput {
  data?: Uint8Array | string;
}

/** A whole archive in memory (small archives: manifests, tests). */
export function tarBytes(entries: TarInput[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
    parts.push(tarHeader({ ...e, size: data.length }), data, padding(data.length));
  }
  parts.push(TAR_END);
  return concatBytes(parts);
}
