// A minimal D-Bus client: the wire format (marshalling of the types systemd's
// StartTransientUnit needs, and enough unmarshalling to read replies), SASL
// AUTH EXTERNAL and method calls over a unix socket.  Spec:
// https://dbus.freedesktop.org/doc/dbus-specification.html ("Message Protocol").
// Little endian only, no unix-fd passing.
import { BunkerError } from "../errors.ts";

/** A value for signature "v": [its signature, the value]. */
export type Variant = [string, DBusValue];
export type DBusValue = number | bigint | boolean | string | DBusValue[] | Variant;

const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, v: 1, a: 4, "(": 8, "{": 8 };

/** Splits a signature into its complete types: "sa(sv)u" -> ["s", "a(sv)", "u"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  const one = (): string => {
    const start = i;
    const c = sig[i++];
    if (c === "a") one();
    else if (c === "(" || c === "{") {
      const close = c === "(" ? ")" : "}";
      while (sig[i] !== close) {
        if (i >= sig.length) throw new Error(`bad D-Bus signature "${sig}"`);
        one();
      }
      i++;
    } else if (!c || !(c in ALIGN)) throw new Error(`bad D-Bus signature "${sig}"`);
    return sig.slice(start, i);
  };
  while (i < sig.length) out.push(one());
  return out;
}

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  len = 0;
  grow(n: number) {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf);
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  align(n: number) {
    const pad = (n - (this.len % n)) % n;
    this.grow(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  u8(v: number) { this.grow(1); this.buf[this.len++] = v; }
  /** an aligned fixed-size value of N bytes, written by SET at its offset */
  fixed(n: number, set: (offset: number) => void) { this.align(n); this.grow(n); set(this.len); this.len += n; }
  u32(v: number) { this.fixed(4, (o) => this.view.setUint32(o, v, true)); }
  bytes(b: Uint8Array) { this.grow(b.length); this.buf.set(b, this.len); this.len += b.length; }
  result() { return this.buf.slice(0, this.len); }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function write(w: Writer, type: string, v: DBusValue): void {
  const c = type[0]!;
  switch (c) {
    case "y": w.u8(Number(v)); return;
    case "b": w.u32(v ? 1 : 0); return;
    case "n": case "q": w.fixed(2, (o) => w.view.setUint16(o, Number(v) & 0xffff, true)); return;
    case "i": case "u": case "h": w.u32(Number(v) >>> 0); return;
    case "x": case "t": w.fixed(8, (o) => w.view.setBigUint64(o, BigInt.asUintN(64, BigInt(v as number | bigint)), true)); return;
    case "d": w.fixed(8, (o) => w.view.setFloat64(o, Number(v), true)); return;
    case "s": case "o": {
      const b = enc.encode(String(v));
      w.u32(b.length); w.bytes(b); w.u8(0); return;
    }
    case "g": {
      const b = enc.encode(String(v));
      w.u8(b.length); w.bytes(b); w.u8(0); return;
    }
    case "v": {
      const [sig, val] = v as Variant;
      write(w, "g", sig);
      write(w, sig, val);
      return;
    }
    case "a": {
      const elem = type.slice(1);
      w.u32(0);
      const lenAt = w.len - 4;
      w.align(ALIGN[elem[0]!]!);
      const start = w.len;
      for (const e of v as DBusValue[]) write(w, elem, e);
      w.view.setUint32(lenAt, w.len - start, true);
      return;
    }
    case "(": case "{": {
      w.align(8);
      const fields = splitSignature(type.slice(1, -1));
      const vals = v as DBusValue[];
      if (vals.length !== fields.length) throw new Error(`D-Bus struct ${type} needs ${fields.length} values`);
      fields.forEach((f, k) => write(w, f, vals[k]!));
      return;
    }
  }
  throw new Error(`cannot marshal D-Bus type ${type}`);
}

/** Marshals VALUES as a message body (which starts 8-aligned, so alignment counts from 0). */
export function marshal(sig: string, values: DBusValue[]): Uint8Array {
  const w = new Writer();
  const types = splitSignature(sig);
  if (types.length !== values.length) throw new Error(`signature ${sig} wants ${types.length} values, got ${values.length}`);
  types.forEach((t, k) => write(w, t, values[k]!));
  return w.result();
}

class Reader {
  view: DataView;
  constructor(public buf: Uint8Array, public pos = 0) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  align(n: number) { this.pos += (n - (this.pos % n)) % n; }
  need(n: number) { if (this.pos + n > this.buf.length) throw new RangeError("short D-Bus message"); }
}

function read(r: Reader, type: string): DBusValue {
  const c = type[0]!;
  r.align(ALIGN[c] ?? 1);
  switch (c) {
    case "y": r.need(1); return r.buf[r.pos++]!;
    case "b": r.need(4); r.pos += 4; return r.view.getUint32(r.pos - 4, true) !== 0;
    case "n": r.need(2); r.pos += 2; return r.view.getInt16(r.pos - 2, true);
    case "q": r.need(2); r.pos += 2; return r.view.getUint16(r.pos - 2, true);
    case "i": r.need(4); r.pos += 4; return r.view.getInt32(r.pos - 4, true);
    case "u": case "h": r.need(4); r.pos += 4; return r.view.getUint32(r.pos - 4, true);
    case "x": r.need(8); r.pos += 8; return r.view.getBigInt64(r.pos - 8, true);
    case "t": r.need(8); r.pos += 8; return r.view.getBigUint64(r.pos - 8, true);
    case "d": r.need(8); r.pos += 8; return r.view.getFloat64(r.pos - 8, true);
    case "s": case "o": {
      r.need(4);
      const n = r.view.getUint32(r.pos, true);
      r.pos += 4; r.need(n + 1);
      const s = dec.decode(r.buf.subarray(r.pos, r.pos + n));
      r.pos += n + 1;
      return s;
    }
    case "g": {
      r.need(1);
      const n = r.buf[r.pos++]!;
      r.need(n + 1);
      const s = dec.decode(r.buf.subarray(r.pos, r.pos + n));
      r.pos += n + 1;
      return s;
    }
    case "v": {
      const sig = read(r, "g") as string;
      return [sig, read(r, sig)];
    }
    case "a": {
      r.need(4);
      const n = r.view.getUint32(r.pos, true);
      r.pos += 4;
      const elem = type.slice(1);
      r.align(ALIGN[elem[0]!]!);
      const end = r.pos + n;
      const out: DBusValue[] = [];
      while (r.pos < end) out.push(read(r, elem));
      return out;
    }
    case "(": case "{":
      return splitSignature(type.slice(1, -1)).map((f) => read(r, f));
  }
  throw new Error(`cannot unmarshal D-Bus type ${type}`);
}

export function unmarshal(sig: string, buf: Uint8Array, pos = 0): DBusValue[] {
  const r = new Reader(buf, pos);
  return splitSignature(sig).map((t) => read(r, t));
}

export const enum MessageType { MethodCall = 1, MethodReturn = 2, Error = 3, Signal = 4 }

export interface Message {
  type: MessageType;
  flags?: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: DBusValue[];
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;
const FIELD_SIG: Record<number, string> = { 1: "o", 2: "s", 3: "s", 4: "s", 5: "u", 6: "s", 7: "s", 8: "g" };

/** Encodes a message (header, padding to 8, body). */
export function encodeMessage(m: Message): Uint8Array {
  const body = m.signature ? marshal(m.signature, m.body ?? []) : new Uint8Array(0);
  const fields: DBusValue[] = [];
  for (const [k, code] of Object.entries(FIELD)) {
    const v = m[k as keyof typeof FIELD];
    if (v !== undefined && v !== "") fields.push([code, [FIELD_SIG[code]!, v]]);
  }
  const w = new Writer();
  w.u8("l".charCodeAt(0));
  w.u8(m.type);
  w.u8(m.flags ?? 0);
  w.u8(1);
  w.u32(body.length);
  w.u32(m.serial);
  write(w, "a(yv)", fields);
  w.align(8);
  w.bytes(body);
  return w.result();
}

/** Decodes one message from the front of BUF; null if BUF does not hold a whole one yet. */
export function decodeMessage(buf: Uint8Array): { message: Message; length: number } | null {
  if (buf.length < 16) return null;
  if (buf[0] !== "l".charCodeAt(0)) throw new Error("big-endian D-Bus messages are not supported");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bodyLen = view.getUint32(4, true);
  const fieldsLen = view.getUint32(12, true);
  const headerLen = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  if (buf.length < headerLen + bodyLen) return null;
  const [fields] = unmarshal("a(yv)", buf, 12) as [[number, Variant][]];
  const m: Message = { type: buf[1] as MessageType, flags: buf[2], serial: view.getUint32(8, true) };
  for (const [code, [, v]] of fields) {
    const key = (Object.keys(FIELD) as (keyof typeof FIELD)[]).find((k) => FIELD[k] === code);
    if (key) (m as unknown as Record<string, unknown>)[key] = v;
  }
  if (m.signature) m.body = unmarshal(m.signature, buf.subarray(0, headerLen + bodyLen), headerLen);
  return { message: m, length: headerLen + bodyLen };
}

/** Parses a D-Bus server address list to the first unix socket path ("\0name" for abstract). */
export function parseBusAddress(addr: string): string | undefined {
  for (const one of addr.split(";")) {
    const colon = one.indexOf(":");
    if (one.slice(0, colon) !== "unix") continue;
    const kv = new Map(
      one.slice(colon + 1).split(",").map((p) => {
        const eq = p.indexOf("=");
        return [p.slice(0, eq), decodeURIComponent(p.slice(eq + 1))] as [string, string];
      }),
    );
    if (kv.has("path")) return kv.get("path");
    if (kv.has("abstract")) return "\0" + kv.get("abstract");
  }
  return undefined;
}

/** SASL line for AUTH EXTERNAL: the uid as decimal ASCII, hex-encoded. */
export function authExternalLine(uid: number): string {
  return `AUTH EXTERNAL ${Buffer.from(String(uid)).toString("hex")}\r\n`;
}

/** One connection; calls are sequential (one in flight at a time). */
export class DBusConnection {
  private serial = 0;
  private inbuf = new Uint8Array(0);
  private waiter: (() => void) | undefined;
  private closed = false;

  private constructor(private sock: import("bun").Socket<undefined>) {}

  static async connect(path: string, uid: number, timeoutMs = 5000): Promise<DBusConnection> {
    let conn!: DBusConnection;
    const sock = await Bun.connect({
      unix: path,
      socket: {
        data(_s, chunk) { conn.push(chunk); },
        close() { conn.closed = true; conn.wake(); },
        error() { conn.closed = true; conn.wake(); },
      },
    });
    conn = new DBusConnection(sock);
    // The server reads our uid with SO_PEERCRED; the leading NUL byte is
    // where credentials could be passed with SCM_CREDS on BSDs.
    sock.write(new Uint8Array([0]));
    sock.write(authExternalLine(uid));
    const line = await conn.readLine(timeoutMs);
    if (!line.startsWith("OK ")) throw new Error(`D-Bus authentication refused: ${line.trim()}`);
    sock.write("BEGIN\r\n");
    await conn.call({ path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello", destination: "org.freedesktop.DBus" }, timeoutMs);
    return conn;
  }

  private push(chunk: Uint8Array) {
    const b = new Uint8Array(this.inbuf.length + chunk.length);
    b.set(this.inbuf);
    b.set(chunk, this.inbuf.length);
    this.inbuf = b;
    this.wake();
  }
  private wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  private async waitData(deadline: number) {
    if (this.closed) throw new Error("D-Bus connection closed");
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("D-Bus call timed out");
    await new Promise<void>((res) => {
      const t = setTimeout(res, left);
      this.waiter = () => { clearTimeout(t); res(); };
    });
  }
  private async readLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.inbuf.indexOf(10);
      if (nl >= 0) {
        const line = dec.decode(this.inbuf.subarray(0, nl + 1));
        this.inbuf = this.inbuf.slice(nl + 1);
        return line;
      }
      await this.waitData(deadline);
    }
  }

  /** Calls a method and returns the reply's body; a D-Bus error is thrown as Error(name: message). */
  async call(m: Omit<Message, "type" | "serial">, timeoutMs = 5000): Promise<DBusValue[]> {
    const serial = ++this.serial;
    this.sock.write(encodeMessage({ ...m, type: MessageType.MethodCall, serial }));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = decodeMessage(this.inbuf);
      if (got) {
        this.inbuf = this.inbuf.slice(got.length);
        const r = got.message;
        if (r.replySerial !== serial) continue; // signals, other replies
        if (r.type === MessageType.Error) throw new Error(`${r.errorName}: ${r.body?.[0] ?? ""}`);
        return r.body ?? [];
      }
      await this.waitData(deadline);
    }
  }

  close() { this.sock.end(); }
}

/** The user's session bus (or the system bus for root), if any. */
export function busSocketPath(env: Record<string, string | undefined>, uid: number): string | undefined {
  if (uid === 0) return "/run/dbus/system_bus_socket";
  if (env.DBUS_SESSION_BUS_ADDRESS) return parseBusAddress(env.DBUS_SESSION_BUS_ADDRESS);
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/bus`;
  return undefined;
}

export function dbusError(what: string, err: unknown, path?: string): BunkerError {
  return new BunkerError(`${what}: ${(err as Error).message ?? String(err)}`, {
    path,
    fix: "check that a user systemd is running (systemctl --user status), or use --cgroup-manager cgroupfs",
  });
}
