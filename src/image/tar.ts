// A streaming (push) tar reader: ustar, GNU long names ('L'/'K'), PAX
// extended headers ('x' per entry, 'g' global) including long/UTF-8 names,
// sizes, fractional mtimes and SCHILY.xattr.* attributes, base-256 numbers.
// Chunks are pushed as they are decompressed; a handler receives each entry's
// header, then its data in pieces (no whole-file buffering), then its end.
import { BunkerError } from "../errors.ts";

export type EntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

export interface TarEntry {
  name: string;
  type: EntryType;
  /** permission bits incl. setuid/setgid/sticky (07777) */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  /** seconds since the epoch, possibly fractional (PAX) */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** name -> raw value (PAX SCHILY.xattr.*) */
  xattrs: ReadonlyMap<string, Uint8Array>;
}

export interface TarHandler {
  /** true: the caller reads this file's body itself (at reader.dataOffset): it is skipped, not delivered */
  entry(e: TarEntry): void | boolean;
  /** a piece of the current entry's body (only for "file") */
  data(chunk: Uint8Array): void;
  entryEnd(e: TarEntry): void;
}

const BLOCK = 512;
const TYPES: Record<string, EntryType> = {
  "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink",
  "3": "char", "4": "block", "5": "dir", "6": "fifo",
};
const utf8 = new TextDecoder("utf-8");
/** shared by every entry without xattrs (never mutated) */
const NO_XATTRS: ReadonlyMap<string, Uint8Array> = new Map();

function bad(what: string): BunkerError {
  return new BunkerError(`invalid tar archive: ${what}`, { errno: "EINVAL", fix: "the layer or archive is corrupt or not a tar file" });
}

function cString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = off + len;
  let ascii = true;
  while (end < max && b[end] !== 0) {
    if (b[end]! > 0x7f) ascii = false;
    end++;
  }
  if (end === off) return "";
  // most names are ASCII: skip the decoder's native call
  return ascii && end - off < 64 ? String.fromCharCode(...b.subarray(off, end)) : utf8.decode(b.subarray(off, end));
}

/** Octal (space/NUL terminated) or GNU base-256 (high bit set) number field. */
export function parseNumber(b: Uint8Array, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let n = b[off]! & 0x7f;
    if (n & 0x40) throw bad("negative base-256 number");
    for (let i = 1; i < len; i++) n = n * 256 + b[off + i]!;
    return n;
  }
  let n = 0;
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw bad(`bad octal digit in header at offset ${i - off}`);
    n = n * 8 + (c - 0x30);
  }
  return n;
}

function checksumOk(h: Uint8Array): boolean {
  const want = parseNumber(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === want;
}

function isZero(h: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** PAX records "LEN key=value\n"; values kept as bytes (xattrs are binary). */
export function parsePax(body: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    let sp = i;
    while (sp < body.length && body[sp] !== 0x20) sp++;
    const len = Number(utf8.decode(body.subarray(i, sp)));
    if (!Number.isInteger(len) || len <= 0 || i + len > body.length) throw bad("malformed PAX record");
    const rec = body.subarray(sp + 1, i + len - 1); // without the trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw bad("PAX record without '='");
    out.set(utf8.decode(rec.subarray(0, eq)), rec.subarray(eq + 1));
    i += len;
  }
  return out;
}

type State = "header" | "data" | "meta" | "skip";

export class TarReader {
  private state: State = "header";
  private hdr = new Uint8Array(BLOCK);
  private hdrFill = 0;
  /** body bytes still to deliver for the current entry */
  private left = 0;
  /** padding bytes to skip after the body */
  private pad = 0;
  private meta: Uint8Array | undefined;
  private metaFill = 0;
  private metaType = "";
  private cur: TarEntry | undefined;
  private pax = new Map<string, Uint8Array>();
  private globalPax = new Map<string, Uint8Array>();
  private longName: string | undefined;
  private longLink: string | undefined;
  private ended = false;
  /** entries that were skipped (unknown type) — reported by the caller */
  readonly skipped: string[] = [];
  /** bytes of the stream taken so far (pushed, or jumped over by skipAhead) */
  private total = 0;
  /** where the body of the entry being announced starts in the stream */
  dataOffset = 0;

  constructor(private readonly h: TarHandler) {}

  push(chunk: Uint8Array): void {
    let off = 0;
    const n = chunk.length;
    const base = this.total;
    this.total += n;
    while (off < n) {
      if (this.ended) return; // trailing data after the end blocks is ignored (like GNU tar)
      if (this.pad > 0) {
        const k = Math.min(this.pad, n - off);
        this.pad -= k;
        off += k;
        continue;
      }
      switch (this.state) {
        case "header": {
          if (this.hdrFill === 0 && n - off >= BLOCK) {
            off += BLOCK;
            this.dataOffset = base + off;
            this.header(chunk.subarray(off - BLOCK, off));
          } else {
            const k = Math.min(BLOCK - this.hdrFill, n - off);
            this.hdr.set(chunk.subarray(off, off + k), this.hdrFill);
            this.hdrFill += k;
            off += k;
            if (this.hdrFill === BLOCK) {
              this.hdrFill = 0;
              this.dataOffset = base + off;
              this.header(this.hdr);
            }
          }
          break;
        }
        case "data": {
          const k = Math.min(this.left, n - off);
          this.h.data(chunk.subarray(off, off + k));
          this.left -= k;
          off += k;
          if (this.left === 0) this.finishEntry();
          break;
        }
        case "skip": {
          const k = Math.min(this.left, n - off);
          this.left -= k;
          off += k;
          if (this.left === 0) {
            this.state = "header";
            this.pad = this.afterPad;
            this.afterPad = 0;
          }
          break;
        }
        case "meta": {
          const k = Math.min(this.left, n - off);
          this.meta!.set(chunk.subarray(off, off + k), this.metaFill);
          this.metaFill += k;
          this.left -= k;
          off += k;
          if (this.left === 0) this.finishMeta();
          break;
        }
      }
    }
  }

  /**
   * The bytes to jump over now (a body being skipped, and its padding): a
   * caller that reads a file can seek past them instead of pushing them.
   */
  skipAhead(): number {
    if (this.state !== "skip") return 0;
    const k = this.left + this.afterPad;
    this.left = this.afterPad = 0;
    this.state = "header";
    this.total += k;
    return k;
  }

  /** Call at end of input: fails on a truncated archive. */
  end(): void {
    if (this.ended) return;
    if (this.state !== "header" || this.hdrFill !== 0 || this.pad !== 0 || this.cur) throw bad("unexpected end of archive (truncated)");
    this.ended = true;
  }

  private zeroBlocks = 0;

  private header(b: Uint8Array): void {
    if (isZero(b)) {
      if (++this.zeroBlocks === 2) this.ended = true;
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumOk(b)) throw bad("header checksum mismatch");
    const size = parseNumber(b, 124, 12);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    const tf = String.fromCharCode(b[156]!);
    if (tf === "x" || tf === "g" || tf === "L" || tf === "K") {
      if (size > 64 << 20) throw bad(`metadata header of ${size} bytes`);
      this.metaType = tf;
      this.meta = new Uint8Array(size);
      this.metaFill = 0;
      this.left = size;
      this.pad = 0;
      this.afterPad = pad;
      this.state = "meta";
      if (size === 0) this.finishMeta();
      return;
    }
    const type = TYPES[tf];
    // POSIX "ustar\0" has a prefix field; GNU's "ustar  " does not
    const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === 0;
    let name = cString(b, 0, 100);
    if (ustar && b[345] !== 0) name = `${cString(b, 345, 155)}/${name}`;
    if (this.longName !== undefined) name = this.longName;
    let linkname = this.longLink ?? cString(b, 157, 100);
    const pax = this.pax.size || this.globalPax.size ? new Map([...this.globalPax, ...this.pax]) : this.pax;
    const text = (k: string) => (pax.has(k) ? utf8.decode(pax.get(k)!) : undefined);
    name = text("path") ?? name;
    linkname = text("linkpath") ?? linkname;
    const num = (k: string, dflt: number) => {
      const v = text(k);
      if (v === undefined) return dflt;
      const x = Number(v);
      if (!Number.isFinite(x)) throw bad(`PAX ${k}="${v}" is not a number`);
      return x;
    };
    const realSize = num("size", size);
    let xattrs: Map<string, Uint8Array> | undefined;
    for (const [k, v] of pax) if (k.startsWith("SCHILY.xattr.")) (xattrs ??= new Map()).set(k.slice(13), v);
    if (this.pax.size) this.pax = new Map();
    this.longName = this.longLink = undefined;
    const realPad = (BLOCK - (realSize % BLOCK)) % BLOCK;
    if (!type) {
      // POSIX says: unknown types are read as regular files; we skip them instead
      // (GNU sparse 'S', volume labels 'V', ...) and let the caller report them.
      this.skipped.push(`${name} (type '${tf}')`);
      this.left = realSize;
      this.afterPad = realPad;
      if (realSize > 0) this.state = "skip";
      return;
    }
    const e: TarEntry = {
      name,
      type,
      mode: parseNumber(b, 100, 8) & 0o7777,
      uid: num("uid", parseNumber(b, 108, 8)),
      gid: num("gid", parseNumber(b, 116, 8)),
      uname: text("uname") ?? cString(b, 265, 32),
      gname: text("gname") ?? cString(b, 297, 32),
      size: type === "file" ? realSize : 0,
      mtime: num("mtime", parseNumber(b, 136, 12)),
      linkname,
      devmajor: type === "char" || type === "block" ? parseNumber(b, 329, 8) : 0,
      devminor: type === "char" || type === "block" ? parseNumber(b, 337, 8) : 0,
      xattrs: xattrs ?? NO_XATTRS,
    };
    this.cur = e;
    const external = this.h.entry(e) === true;
    // bodies of non-files (a hardlink may carry one in PAX archives) are skipped, as are those the caller reads itself
    if (realSize === 0) {
      this.finishEntry();
    } else if (type === "file" && !external) {
      this.left = realSize;
      this.state = "data";
      this.afterPad = realPad;
    } else {
      this.finishEntry();
      this.left = realSize;
      this.state = "skip";
      this.afterPad = realPad;
    }
  }

  /** padding that follows the body being read */
  private afterPad = 0;

  private finishEntry(): void {
    const e = this.cur;
    this.cur = undefined;
    this.state = "header";
    this.pad = this.afterPad;
    this.afterPad = 0;
    if (e) this.h.entryEnd(e);
  }

  private finishMeta(): void {
    const body = this.meta!;
    this.meta = undefined;
    this.state = "header";
    this.pad = this.afterPad;
    this.afterPad = 0;
    switch (this.metaType) {
      case "x": for (const [k, v] of parsePax(body)) this.pax.set(k, v); break;
      case "g": for (const [k, v] of parsePax(body)) this.globalPax.set(k, v); break;
      case "L": this.longName = cString(body, 0, body.length); break;
      case "K": this.longLink = cString(body, 0, body.length); break;
    }
  }
}
