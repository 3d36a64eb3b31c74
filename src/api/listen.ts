// Where `bunker serve` listens: a unix socket (mode 0600 in a 0700 directory:
// the API is root-equivalent for whoever can connect) or, asked for
// explicitly, TCP on the loopback interface only.
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { BunkerError, errnoCode, fromSysError } from "../errors.ts";

export type Listen = { unix: string } | { hostname: string; port: number };

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** --host unix:///PATH | tcp://127.0.0.1:PORT (docker's -H syntax) */
export function parseHost(host: string): Listen {
  if (host.startsWith("unix://")) {
    const path = host.slice("unix://".length);
    if (!path.startsWith("/")) throw new BunkerError(`serve: --host ${host}: the socket path must be absolute`, { errno: "EINVAL", fix: "--host unix:///run/user/1000/bunker/bunker.sock" });
    return { unix: path };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(host);
  if (!m) throw new BunkerError(`serve: --host ${host}: not unix:///PATH or tcp://127.0.0.1:PORT`, { errno: "EINVAL" });
  const port = Number(m[2]);
  if (port > 65535) throw new BunkerError(`serve: --host ${host}: port must be 0..65535 (0: a free one)`, { errno: "EINVAL" });
  if (!LOOPBACK.has(m[1]!))
    throw new BunkerError(`serve: --host ${host}: only loopback addresses are served`, { errno: "EINVAL", fix: "the API is root-equivalent for your user: use tcp://127.0.0.1:PORT or a unix socket" });
  return { hostname: m[1] === "localhost" ? "127.0.0.1" : m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** whether a server accepts connections on the unix socket PATH */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ path });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/**
 * Makes PATH ready for a new listener: its directory exists (0700 when made
 * here), nothing listens on it (a live server is refused), and a stale
 * socket of a server that died is removed.  Anything but a socket is refused.
 */
export async function prepareSocket(path: string): Promise<void> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fromSysError("serve: cannot create the socket's directory", e, { path: dirname(path), fix: "give --host unix:///PATH in a directory you own" });
  }
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return;
    throw fromSysError("serve: cannot check the socket path", e, { path });
  }
  if (!st.isSocket()) throw new BunkerError("serve: the socket path is taken by something else than a socket", { errno: "EEXIST", path, fix: "remove it or give another --host unix:///PATH" });
  if (await socketAnswers(path)) throw new BunkerError("serve: another server is listening on the socket", { errno: "EADDRINUSE", path, fix: "stop it first, or give another --host unix:///PATH" });
  try {
    unlinkSync(path);
  } catch (e) {
    throw fromSysError("serve: cannot remove the stale socket", e, { path });
  }
}

/** the socket's inode once it is ours, so shutdown removes only our own socket */
export function secureSocket(path: string): number {
  try {
    chmodSync(path, 0o600);
    return statSync(path).ino;
  } catch (e) {
    throw fromSysError("serve: cannot set the socket's mode to 0600", e, { path });
  }
}

/** removes the socket PATH when it is still the one with inode INO */
export function removeSocket(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch {
    /* gone already: nothing to remove */
  }
}
