// bunker ps [-f table|json] ID [PS_ARGS...]
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { containerPids } from "../container/lifecycle.ts";
import { processTable } from "../container/top.ts";
import { containerNames, containerStatus, listIds, notFound, type ContainerState } from "../container/state.ts";
import { exitRecord } from "../container/exit-record.ts";
import { flagBool } from "./args.ts";
import { formatPort } from "../net/ports.ts";
import { BunkerError } from "../errors.ts";
import { applyTemplate, isTemplate, parseTemplate } from "./template.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  // without an ID: docker's `ps` (the containers), with one: runc's (its processes)
  if (!positional(argv).length) return listContainers(argv, g);
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true, help: "table|json  (with ID) ps(1) output or the pids as JSON" }], "ps");
  const id = containerArg(g, p.rest[0], "ps");
  const { state } = containerStatus(runtimeContext(g).stateRoot, id);
  if (!state) throw notFound(id);
  if ((flag(p, "format") ?? "table") === "json") {
    console.log(JSON.stringify(containerPids(state)));
    return 0;
  }
  printProcesses(state, p.rest.slice(1));
  return 0;
}

/** ps(1)'s table of the container's processes (`ps ID`, docker's `top ID`) */
export function printProcesses(state: ContainerState, psArgs: string[]): void {
  const table = processTable(state, psArgs);
  console.log(table.header);
  for (const l of table.lines) console.log(l);
}

/** the arguments that are not flags or --format/-f's value */
function positional(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--format" || argv[i] === "-f") i++;
    else if (argv[i] === "--") return [...out, ...argv.slice(i + 1)];
    else if (!argv[i]!.startsWith("-")) out.push(argv[i]!);
  }
  return out;
}

/** docker-style: ID, IMAGE, COMMAND, CREATED, STATUS, PORTS; running ones, all with -a */
function listContainers(argv: string[], g: GlobalOptions): number {
  const p = parseFlags(argv, [{ names: ["all", "a"], help: "also stopped containers" }, { names: ["quiet", "q"], help: "print only ids" }, { names: ["format"], value: true, help: "table|json|TEMPLATE  (without ID) output format (default table): json a line\nper container, a template {{.ID}} {{.Names}} {{.Image}} {{.Command}}\n{{.CreatedAt}} {{.Status}} {{.Ports}}" }], "ps", false);
  const format = flag(p, "format") ?? "table";
  if (format !== "table" && format !== "json" && !isTemplate(format)) throw new BunkerError(`ps: unknown --format ${JSON.stringify(format)}`, { errno: "EINVAL", fix: "--format table, json or a template such as '{{.Names}} {{.Status}}'" });
  const template = isTemplate(format) ? parseTemplate(format) : undefined;
  const root = runtimeContext(g).stateRoot;
  const rows: string[][] = [];
  const names = containerNames(root);
  for (const id of listIds(root)) {
    const { state, status, dir } = containerStatus(root, id);
    if ((status === "stopped" || !state) && !flagBool(p, "all")) continue;
    // no state.json: being created, or its run was killed first (rm -f removes it)
    if (!state) {
      rows.push([id, "", "", "", "Creating", "", id]);
      continue;
    }
    const exit = status === "stopped" ? exitRecord(dir) : undefined;
    const st = status === "running" ? "Up" : status === "stopped" ? (exit ? `Exited (${exit.code})` : "Exited") : status;
    const command = (state.run?.command ?? state.process?.args ?? []).join(" ");
    const ports = (state.run?.network?.ports ?? []).map(formatPort).join(", ");
    rows.push([id, state.run?.image ?? state.bundle, command.length > 30 ? `${command.slice(0, 29)}…` : command, state.created, st, ports, names.get(id) ?? id]);
  }
  if (flagBool(p, "quiet")) {
    for (const r of rows) console.log(r[0]);
    return 0;
  }
  if (format === "json" || template) {
    for (const [id, image, command, created, status, ports, name] of rows) {
      const row = { ID: id, Names: name, Image: image, Command: command, CreatedAt: created, Status: status, Ports: ports };
      console.log(template ? applyTemplate(template, row) : JSON.stringify(row));
    }
    return 0;
  }
  // a NAMES column once a container was renamed (its id stays)
  const named = rows.some((r) => r[6] !== r[0]);
  const table = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], ...rows].map((r) => (named ? r : r.slice(0, 6)));
  const w = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)) + 3);
  // trimmed: a container without published ports ends its line with its status
  for (const row of table) console.log(row.map((c, i) => (i < row.length - 1 ? c.padEnd(w[i]!) : c)).join("").trimEnd());
  return 0;
}
