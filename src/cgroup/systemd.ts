// The systemd manager: ask the user's systemd (the system one for root) for a
// transient scope with Delegate=yes holding bunker itself; the scope is then a
// delegated cgroup like any other (cgroupfs.ts takes over from there).
// Untested end to end: neither this host nor the test VM runs systemd.  The
// message encoding is unit-tested (tests/unit/cgroup-dbus.test.ts).
import { existsSync, readFileSync } from "../sys/fs-sync.ts";
import { busSocketPath, DBusConnection, dbusError, type DBusValue } from "./dbus.ts";
import { processIds } from "../sys/idmap.ts";
import { parseSelfCgroup } from "./locate.ts";

/** StartTransientUnit's arguments for a delegated scope holding PID. */
export function transientScopeArgs(unit: string, pid: number, description: string, slice?: string): DBusValue[] {
  const props: DBusValue[] = [
    ["Description", ["s", description]],
    ["PIDs", ["au", [pid]]],
    ["Delegate", ["b", true]],
    ["CollectMode", ["s", "inactive-or-failed"]],
  ];
  if (slice) props.push(["Slice", ["s", slice]]);
  return [unit, "fail", props, []];
}

export const START_TRANSIENT_UNIT = {
  destination: "org.freedesktop.systemd1",
  path: "/org/freedesktop/systemd1",
  interface: "org.freedesktop.systemd1.Manager",
  member: "StartTransientUnit",
  signature: "ssa(sv)a(sa(sv))",
};

/** A systemd we could ask: booted with systemd and a bus socket exists. */
/** ENV: the caller's (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR) */
export function systemdAvailable(env: Readonly<Record<string, string | undefined>>, uid: number): string | undefined {
  if (!existsSync("/run/systemd/system")) return undefined;
  const bus = busSocketPath(env, uid);
  return bus && (bus.startsWith("\0") || existsSync(bus)) ? bus : undefined;
}

/**
 * Moves this process into a new transient scope UNIT and returns once the
 * kernel shows it there (systemd's job finishing is what moves us).
 */
export async function enterTransientScope(bus: string, unit: string, description: string, timeoutMs = 5000): Promise<void> {
  let conn: DBusConnection | undefined;
  try {
    conn = await DBusConnection.connect(bus, processIds().uid, timeoutMs);
    await conn.call({ ...START_TRANSIENT_UNIT, body: transientScopeArgs(unit, process.pid, description) }, timeoutMs);
  } catch (e) {
    throw dbusError(`cannot create the systemd scope ${unit}`, e, bus);
  } finally {
    conn?.close();
  }
  const deadline = Date.now() + timeoutMs;
  while (!parseSelfCgroup(readFileSync("/proc/self/cgroup", "utf8"))?.endsWith(`/${unit}`)) {
    if (Date.now() > deadline) throw dbusError(`systemd did not move bunker into ${unit}`, new Error("timed out"), bus);
    await Bun.sleep(2);
  }
}
