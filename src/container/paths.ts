// Where bunker keeps per-container state: runc's --root.
import { mkdirSync, statSync } from "node:fs";
import type { GlobalOptions } from "../cli/global.ts";
import { fromSysError } from "../errors.ts";

export interface StateRoot {
  dir: string;
  /** why the default was not used (printed with --debug) */
  note?: string;
}

/** --root, else /run/bunker for root, $XDG_RUNTIME_DIR/bunker, else a private dir under /tmp */
export function stateRoot(g: GlobalOptions): StateRoot {
  const uid = process.getuid!();
  let dir = g.root;
  let note: string | undefined;
  if (!dir) {
    if (uid === 0) dir = "/run/bunker";
    else {
      const xdg = process.env.XDG_RUNTIME_DIR;
      let ours = false;
      if (xdg) {
        try {
          ours = statSync(xdg).uid === uid;
        } catch {
          ours = false;
        }
      }
      if (ours) dir = `${xdg}/bunker`;
      else {
        dir = `/tmp/bunker-${uid}`;
        note = `XDG_RUNTIME_DIR ${xdg ? `(${xdg}) is not owned by uid ${uid}` : "is unset"}: using ${dir}`;
      }
    }
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (st.uid !== uid) throw Object.assign(new Error("not ours"), { code: "EPERM", path: dir });
  } catch (e) {
    throw fromSysError("cannot use the state directory", e, { path: dir, fix: "pass --root DIR with a directory you own" });
  }
  return { dir, note };
}
