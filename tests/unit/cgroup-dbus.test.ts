// D-Bus wire format used for systemd's StartTransientUnit (src/cgroup/dbus.ts,
// systemd.ts).  Byte layouts are checked by hand against the D-Bus
// specification; when dbus-daemon is installed, a private bus also checks
// that the daemon (which validates every message against its signature)
// accepts what we send.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  authExternalLine, busSocketPath, DBusConnection, decodeMessage, encodeMessage, marshal, MessageType, parseBusAddress, splitSignature, unmarshal,
} from "../../src/cgroup/dbus.ts";
import { START_TRANSIENT_UNIT, transientScopeArgs } from "../../src/cgroup/systemd.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("marshalling", () => {
  test("signatures split into complete types", () => {
    expect(splitSignature("ssa(sv)a(sa(sv))")).toEqual(["s", "s", "a(sv)", "a(sa(sv))"]);
    expect(splitSignature("a{sv}u")).toEqual(["a{sv}", "u"]);
    expect(() => splitSignature("a(s")).toThrow();
    expect(() => splitSignature("z")).toThrow();
  });
  test("basic types: little endian, aligned, strings NUL-terminated", () => {
    // y=1, pad to 4, u32 2, string "ab": len 2, 'a' 'b' NUL
    expect(hex(marshal("yus", [1, 2, "ab"]))).toBe("01000000" + "02000000" + "02000000" + "616200");
    // signature: 1-byte length
    expect(hex(marshal("g", ["au"]))).toBe("02617500");
    // boolean is 4 bytes; int64 aligned to 8
    expect(hex(marshal("bt", [true, 5n]))).toBe("01000000" + "00000000" + "0500000000000000");
  });
  test("array length excludes the padding before 8-aligned elements", () => {
    // a(yy) with one struct: u32 len=2, pad to 8, then 2 bytes
    expect(hex(marshal("a(yy)", [[[7, 8]]]))).toBe("02000000" + "00000000" + "0708");
    // empty array of structs still pads to 8
    expect(hex(marshal("a(sv)", [[]]))).toBe("00000000" + "00000000");
  });
  test("variant: signature then value", () => {
    expect(hex(marshal("v", [["au", [1000]]]))).toBe("02617500" + "04000000" + "e8030000");
  });
  test("round trip of StartTransientUnit's arguments", () => {
    const args = transientScopeArgs("bunker-x.scope", 4242, "bunker container x");
    const body = marshal(START_TRANSIENT_UNIT.signature, args);
    expect(unmarshal(START_TRANSIENT_UNIT.signature, body)).toEqual([
      "bunker-x.scope",
      "fail",
      [
        ["Description", ["s", "bunker container x"]],
        ["PIDs", ["au", [4242]]],
        ["Delegate", ["b", true]],
        ["CollectMode", ["s", "inactive-or-failed"]],
      ],
      [],
    ]);
  });
});

describe("messages", () => {
  test("Hello: the exact bytes of the header", () => {
    const m = encodeMessage({ type: MessageType.MethodCall, serial: 1, path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello", destination: "org.freedesktop.DBus" });
    const b = Buffer.from(m);
    expect(b.subarray(0, 12).toString("hex")).toBe("6c" + "01" + "00" + "01" + "00000000" + "01000000");
    // header field array length, then field 1 (PATH) as (y v(o))
    const fieldsLen = b.readUInt32LE(12);
    expect(b[16]).toBe(1);
    expect(b.subarray(17, 20).toString("latin1")).toBe("\x01o\x00");
    expect(m.length).toBe(16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8));
    expect(m.length % 8).toBe(0);
  });
  test("encode -> decode keeps every header field and the body", () => {
    const call = {
      type: MessageType.MethodCall,
      serial: 7,
      ...START_TRANSIENT_UNIT,
      body: transientScopeArgs("bunker-y.scope", 1, "d", "user.slice"),
    };
    const bytes = encodeMessage(call);
    const got = decodeMessage(bytes)!;
    expect(got.length).toBe(bytes.length);
    expect(got.message).toMatchObject({ type: 1, serial: 7, path: START_TRANSIENT_UNIT.path, member: "StartTransientUnit", destination: "org.freedesktop.systemd1", signature: "ssa(sv)a(sa(sv))" });
    expect(got.message.body).toEqual(unmarshal(call.signature, marshal(call.signature, call.body)));
    // incomplete input waits for more
    expect(decodeMessage(bytes.subarray(0, bytes.length - 1))).toBeNull();
  });
  test("error replies decode to name + message", () => {
    const err = encodeMessage({ type: MessageType.Error, serial: 3, replySerial: 2, errorName: "org.freedesktop.DBus.Error.AccessDenied", signature: "s", body: ["nope"] });
    const { message } = decodeMessage(err)!;
    expect(message).toMatchObject({ type: 3, replySerial: 2, errorName: "org.freedesktop.DBus.Error.AccessDenied", body: ["nope"] });
  });
});

describe("addresses and auth", () => {
  test("bus addresses", () => {
    expect(parseBusAddress("unix:path=/run/user/1000/bus")).toBe("/run/user/1000/bus");
    expect(parseBusAddress("tcp:host=x,port=1;unix:abstract=/tmp/dbus-XYZ,guid=1")).toBe("\0/tmp/dbus-XYZ");
    expect(parseBusAddress("unix:path=/tmp/a%20b")).toBe("/tmp/a b");
    expect(parseBusAddress("tcp:host=x")).toBeUndefined();
    expect(busSocketPath({ XDG_RUNTIME_DIR: "/run/user/5" }, 5)).toBe("/run/user/5/bus");
    expect(busSocketPath({ DBUS_SESSION_BUS_ADDRESS: "unix:path=/x" , XDG_RUNTIME_DIR: "/r" }, 5)).toBe("/x");
    expect(busSocketPath({}, 0)).toBe("/run/dbus/system_bus_socket");
  });
  test("AUTH EXTERNAL sends the uid as hex-encoded decimal", () => {
    expect(authExternalLine(1000)).toBe("AUTH EXTERNAL 31303030\r\n");
  });
});

// A real dbus-daemon validates each message against its signature and drops
// malformed ones, so a reply (even an error) proves the encoding is right.
const daemon = ["/usr/bin/dbus-daemon", "/bin/dbus-daemon"].find((p) => existsSync(p));
describe.if(!!daemon)("against a private dbus-daemon", () => {
  test("Hello, a call with a reply, and StartTransientUnit reaching routing", async () => {
    const dir = mkdtempSync(`${tmpdir()}/bunker-dbus-`);
    const sock = `${dir}/bus`;
    const conf = `${dir}/bus.conf`;
    await Bun.write(conf, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=${sock}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`);
    const proc = Bun.spawn([daemon!, `--config-file=${conf}`, "--nofork", "--print-address"], { stdout: "pipe", stderr: "pipe" });
    try {
      // --print-address prints once the daemon listens (the socket file exists a moment earlier)
      const reader = proc.stdout.getReader();
      let printed = "";
      while (!printed.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        printed += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      expect(printed).toContain(sock);
      const conn = await DBusConnection.connect(sock, process.getuid!(), 15000);
      const [names] = await conn.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "ListNames" }, 15000);
      expect(names as string[]).toContain("org.freedesktop.DBus");
      const [has] = await conn.call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NameHasOwner", signature: "s", body: ["org.freedesktop.systemd1"] }, 15000);
      expect(has).toBe(false);
      // validated by the daemon, then refused for lack of a systemd on this bus
      const err = await conn.call({ ...START_TRANSIENT_UNIT, body: transientScopeArgs("bunker-t.scope", process.pid, "test") }, 15000).catch((e: Error) => e);
      expect(String(err)).toContain("org.freedesktop.DBus.Error.ServiceUnknown");
      conn.close();
    } finally {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
