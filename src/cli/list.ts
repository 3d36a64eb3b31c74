// bunker list [-f table|json] [-q]
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerStatus, listIds } from "../container/state.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true, help: "table|json  output format (default table)" }, { names: ["quiet", "q"], help: "print only ids" }], "list", false);
  const root = runtimeContext(g).stateRoot;
  const rows = listIds(root).map((id) => {
    const { state, status } = containerStatus(root, id);
    // no state.json: being created, or its create was killed first (delete --force removes it)
    return state ? { ...state, status } : { ociVersion: "", id, pid: 0, status, bundle: "", rootfs: "", created: "", owner: "", annotations: {} };
  });
  if (flagBool(p, "quiet")) {
    for (const r of rows) console.log(r.id);
  } else if ((flag(p, "format") ?? "table") === "json") {
    const out = rows.map((r) => ({ ociVersion: r.ociVersion, id: r.id, pid: r.status === "stopped" ? 0 : r.pid, status: r.status, bundle: r.bundle, rootfs: r.rootfs, created: r.created, annotations: r.annotations ?? {}, owner: r.owner }));
    console.log(JSON.stringify(out));
  } else {
    const table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...rows.map((r) => [r.id, String(r.status === "stopped" ? 0 : r.pid), r.status, r.bundle, r.created, r.owner])];
    const w = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)) + 3);
    for (const row of table) console.log(row.map((c, i) => (i < row.length - 1 ? c.padEnd(w[i]!) : c)).join(""));
  }
  return 0;
}
