// bunker history [-q] [--no-trunc] [-H=false] [--format table|json|TEMPLATE] IMAGE: docker's history, newest step first.
import { BunkerError } from "../errors.ts";
import { humanDuration } from "../container/inspect.ts";
import { digestHex } from "../image/digest.ts";
import { imageHistory } from "../image/inspect.ts";
import { Store } from "../image/store.ts";
import { humanBytes } from "../image/units.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { ellipsis, printTable } from "./table.ts";
import { listFormat } from "./template.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["human", "H"], help: "sizes and dates for people (default; -H=false: bytes and RFC 3339 times)" },
    { names: ["quiet", "q"], help: "print only the image id" },
    { names: ["no-trunc"], help: "full ids and CREATED BY" },
    { names: ["format"], value: true, help: "table|json|TEMPLATE  output format (default table); json a line per step, a\ntemplate of {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}}" },
  ], "history", false);
  if (p.rest.length !== 1) throw new BunkerError("history: give one IMAGE", { errno: "EINVAL", fix: "bunker history IMAGE" });
  const format = listFormat("history", flag(p, "format"), "{{.CreatedBy}}");
  const human = flag(p, "human") !== "false";
  const trunc = !flagBool(p, "no-trunc");
  const steps = imageHistory(Store.open(runtimeContext(g).dataRoot), p.rest[0]!);
  const now = Date.now();
  const rows = steps.map((s) => ({
    ID: s.Id === "<missing>" || !trunc ? s.Id : digestHex(s.Id).slice(0, 12),
    CreatedSince: s.Created ? `${humanDuration(Math.max(0, now - s.Created * 1000))} ago` : "N/A",
    CreatedAt: s.Created ? new Date(s.Created * 1000).toISOString() : "N/A",
    CreatedBy: trunc ? ellipsis(s.CreatedBy.replace(/\s+/g, " "), 45) : s.CreatedBy,
    Size: human ? humanBytes(s.Size) : String(s.Size),
    Comment: s.Comment,
  }));
  if (flagBool(p, "quiet")) {
    for (const r of rows) console.log(r.ID);
    return 0;
  }
  if (!format.table) {
    for (const r of rows) console.log(format.line(r));
    return 0;
  }
  printTable([["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], ...rows.map((r) => [r.ID, human ? r.CreatedSince : r.CreatedAt, r.CreatedBy, r.Size, r.Comment])]);
  return 0;
}
