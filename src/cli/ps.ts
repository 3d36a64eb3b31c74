// bunker ps [-f table|json] ID [PS_ARGS...]
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { containerPids } from "../container/lifecycle.ts";
import { processTable } from "../container/top.ts";
import { containerStatus, notFound, type ContainerState } from "../container/state.ts";
import { humanDuration, listContainers as listContainers_ } from "../container/inspect.ts";
import { flagBool, flagList, type FlagSpec } from "./args.ts";
import { ellipsis, printTable } from "./table.ts";
import { formatPort } from "../net/ports.ts";
import { BunkerError } from "../errors.ts";
import { listFormat } from "./template.ts";

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

/** Go's time.Time as docker ps prints CreatedAt: 2026-12-03 20:17:08 +0000 UTC */
function goTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}

/** list mode's flags that take a value (-f is runc's --format with an ID, docker's --filter without) */
const VALUE_FLAGS = new Set(["--format", "-f", "--filter", "-n", "--last"]);

/** the arguments that are not flags or a flag's value */
function positional(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (VALUE_FLAGS.has(argv[i]!)) i++;
    else if (argv[i] === "--") return [...out, ...argv.slice(i + 1)];
    else if (!argv[i]!.startsWith("-")) out.push(argv[i]!);
  }
  return out;
}

/** --filter K=V flags as Docker's filters (each key's values) */
function filtersOf(values: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new BunkerError(`ps: bad --filter ${JSON.stringify(v)}`, { errno: "EINVAL", fix: "--filter KEY=VALUE, KEY one of status, name, id, label" });
    (out[v.slice(0, eq)] ??= []).push(v.slice(eq + 1));
  }
  return out;
}

const LIST_FLAGS: FlagSpec[] = [
  { names: ["all", "a"], help: "also stopped and created containers" },
  { names: ["quiet", "q"], help: "print only ids" },
  { names: ["filter", "f"], value: true, multi: true, help: "KEY=VALUE  only containers with status=created|running|paused|exited,\nname=REGEXP, id=PREFIX, label=K or label=K=V (repeatable)" },
  { names: ["last", "n"], value: true, help: "N  the N newest containers (any state)" },
  { names: ["latest", "l"], help: "the newest container (any state)" },
  { names: ["no-trunc"], help: "do not cut COMMAND to 20 characters" },
  { names: ["size", "s"], help: "accepted: bunker does not measure containers' sizes (the column is absent)" },
  {
    names: ["format"],
    value: true,
    help: "table|json|TEMPLATE  output format (default table): json a line per\ncontainer, a template of {{.ID}} {{.Names}} {{.Image}} {{.Command}}\n{{.CreatedAt}} {{.RunningFor}} {{.Status}} {{.State}} {{.Ports}}\n{{.Labels}} {{.Networks}}",
  },
];

/** docker's ps: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES; running ones, all with -a, newest first */
function listContainers(argv: string[], g: GlobalOptions): number {
  const p = parseFlags(argv, LIST_FLAGS, "ps", false);
  const format = listFormat("ps", flag(p, "format"), "{{.Names}} {{.Status}}");
  const last = flagBool(p, "latest") ? 1 : flag(p, "last") !== undefined ? Number(flag(p, "last")) : undefined;
  if (last !== undefined && !(Number.isInteger(last) && last >= -1)) throw new BunkerError(`ps: bad --last ${JSON.stringify(flag(p, "last"))}`, { errno: "EINVAL", fix: "--last N, N a whole number" });
  const root = runtimeContext(g).stateRoot;
  let found = listContainers_(root, flagBool(p, "all") || (last !== undefined && last >= 0), filtersOf(flagList(p, "filter")));
  if (last !== undefined && last >= 0) found = found.slice(0, last);
  const now = Date.now();
  const rows = found.map(({ summary: s }) => {
    const name = (s.Names as string[])[0]!.slice(1);
    const ports = ((s.Ports ?? []) as { IP: string; PrivatePort: number; PublicPort: number; Type: "tcp" | "udp" }[]).map((x) => formatPort({ hostIp: x.IP, containerPort: x.PrivatePort, hostPort: x.PublicPort, proto: x.Type })).join(", ");
    const created = (s.Created as number) * 1000;
    const command = flagBool(p, "no-trunc") ? (s.Command as string) : ellipsis(s.Command as string, 20);
    return {
      ID: s.Id as string,
      Image: s.Image as string,
      Command: JSON.stringify(command),
      CreatedAt: goTime(created),
      RunningFor: `${humanDuration(Math.max(0, now - created))} ago`,
      Ports: ports,
      State: s.State as string,
      Status: s.Status as string,
      Names: name,
      Labels: Object.entries((s.Labels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(","),
      Networks: Object.keys(((s.NetworkSettings as { Networks?: object })?.Networks ?? {}) as object).join(","),
    };
  });
  if (flagBool(p, "quiet")) {
    for (const r of rows) console.log(r.ID);
    return 0;
  }
  if (!format.table) {
    for (const r of rows) console.log(format.line(r));
    return 0;
  }
  printTable([["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], ...rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names])]);
  return 0;
}
