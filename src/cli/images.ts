// bunker images [--format table|json] [-q] [--digests] [-a]
import { digestHex } from "../image/digest.ts";
import { humanBytes } from "../image/units.ts";
import { parseReference, shortName } from "../image/reference.ts";
import { Store, type ImageRecord } from "../image/store.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { applyTemplate, isTemplate, parseTemplate } from "./template.ts";
import { BunkerError } from "../errors.ts";
import { printTable } from "./table.ts";

interface Row {
  repository: string;
  tag: string;
  id: string;
  digest: string;
  created: string;
  size: number;
}

function rowsOf(store: Store, rec: ImageRecord): Row[] {
  let created = "";
  let size = 0;
  try {
    const m = store.manifestOf(rec);
    size = m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
    created = store.configOf(rec).created ?? "";
  } catch {
    created = "(broken: run bunker rmi)";
  }
  const names = rec.names.length ? rec.names : [""];
  return names.map((n) => {
    const r = n ? parseReference(n) : undefined;
    return { repository: r ? shortName(`${r.registry}/${r.repository}`) : "<none>", tag: r?.tag ?? "<none>", id: rec.id, digest: rec.digest, created, size };
  });
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format"], value: true, help: "table|json|TEMPLATE  output format (default table); a template\nprints a line per image of {{.Repository}} {{.Tag}} {{.ID}}\n{{.Digest}} {{.CreatedAt}} {{.Size}}" }, { names: ["quiet", "q"], help: "print only image ids" }, { names: ["digests"], help: "show digests" }, { names: ["all", "a"], help: "also intermediate images" }, { names: ["no-trunc"], help: "full image ids" }], "images", false);
  const store = Store.open(runtimeContext(g).dataRoot);
  const rows = store.listImages().flatMap((rec) => rowsOf(store, rec));
  const short = (id: string) => (flagBool(p, "no-trunc") ? id : digestHex(id).slice(0, 12));
  if (flagBool(p, "quiet")) {
    for (const id of new Set(rows.map((r) => short(r.id)))) console.log(id);
    return 0;
  }
  const format = flag(p, "format") ?? "table";
  if (isTemplate(format)) {
    const t = parseTemplate(format);
    for (const r of rows) console.log(applyTemplate(t, { Repository: r.repository, Tag: r.tag, ID: short(r.id), Digest: r.digest, CreatedAt: r.created, Size: humanBytes(r.size) }));
    return 0;
  }
  if (format !== "table" && format !== "json") throw new BunkerError(`images: unknown --format ${JSON.stringify(format)}`, { errno: "EINVAL", fix: "--format table, json or a template such as '{{.Repository}}:{{.Tag}}'" });
  if (format === "json") {
    const out = store.listImages().map((rec) => ({ Id: rec.id, Digest: rec.digest, Names: rec.names, RepoDigests: rec.repoDigests ?? [], Created: rowsOf(store, rec)[0]!.created, Size: rowsOf(store, rec)[0]!.size }));
    console.log(JSON.stringify(out));
    return 0;
  }
  const head = ["REPOSITORY", "TAG", ...(flagBool(p, "digests") ? ["DIGEST"] : []), "IMAGE ID", "CREATED", "SIZE"];
  const table = [head, ...rows.map((r) => [r.repository, r.tag, ...(flagBool(p, "digests") ? [r.digest] : []), short(r.id), r.created, humanBytes(r.size)])];
  printTable(table);
  return 0;
}
