// bunker system df|prune|info: docker system's commands over the engine's prunes and usage (src/container/prune.ts).
import { BunkerError } from "../errors.ts";
import { systemDf, systemPrune } from "../container/prune.ts";
import { humanBytes } from "../image/units.ts";
import { flag, flagBool, HelpRequest, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { confirm } from "./confirm.ts";
import { printTable } from "./table.ts";
import { listFormat } from "./template.ts";

async function df(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format"], value: true, help: "table|json|TEMPLATE  output format (default table); json a line per type, a template\nof {{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}" }], "system df", false);
  const format = listFormat("system df", flag(p, "format"), "{{.Type}} {{.Size}}");
  const rows = (await systemDf(runtimeContext(g))).map((r) => ({
    Type: r.type,
    TotalCount: String(r.total),
    Active: String(r.active),
    Size: humanBytes(r.size),
    Reclaimable: `${humanBytes(r.reclaimable)}${r.type === "Build Cache" ? "" : ` (${r.size ? Math.round((r.reclaimable * 100) / r.size) : 0}%)`}`,
  }));
  if (format.table) printTable([["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], ...rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])]);
  else for (const r of rows) console.log(format.line(r));
  return 0;
}

async function prune(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["all", "a"], help: "every image no container uses, not only dangling ones (and with --volumes every unused volume)" },
    { names: ["volumes"], help: "also the anonymous volumes no container uses" },
    { names: ["force", "f"], help: "do not ask first" },
  ], "system prune", false);
  if (p.rest.length) throw new BunkerError(`system prune: takes no arguments (got "${p.rest[0]}")`, { errno: "EINVAL", fix: "bunker system prune [-a] [--volumes] [-f]" });
  const all = flagBool(p, "all"), volumes = flagBool(p, "volumes");
  const what = [
    "all stopped containers",
    "all networks not used by at least one container",
    ...(volumes ? [all ? "all volumes not used by at least one container" : "all anonymous volumes not used by at least one container"] : []),
    all ? "all images without at least one container associated to them" : "all dangling images",
    "unused build cache",
  ];
  if (!flagBool(p, "force") && !(await confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}`).join("\n")}\n\nAre you sure you want to continue?`))) return 0;
  const r = await systemPrune(runtimeContext(g), { all, volumes });
  const section = (title: string, items: string[]) => items.length && console.log([title, ...items, ""].join("\n"));
  section("Deleted Containers:", r.containers);
  section("Deleted Networks:", r.networks);
  section("Deleted Volumes:", r.volumes);
  section("Deleted Images:", r.images.map((i) => `deleted: ${i}`));
  section("Deleted build cache objects:", r.buildCache);
  console.log(`Total reclaimed space: ${humanBytes(r.reclaimed)}`);
  return 0;
}

const SUB: Record<string, (argv: string[], g: GlobalOptions) => Promise<number>> = {
  df,
  prune,
  info: async (argv, g) => (await import("./info.ts")).default(argv, g),
};

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") throw new HelpRequest("system", []);
  const fn = sub ? SUB[sub] : undefined;
  if (!fn) throw new BunkerError(`system: unknown subcommand "${sub ?? ""}"`, { errno: "EINVAL", fix: "one of: df, prune, info (bunker system --help)" });
  return fn(rest, g);
}
