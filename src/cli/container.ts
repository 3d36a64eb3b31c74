// bunker container SUBCOMMAND: docker container's names for the container commands (the same commands), and prune.
import { BunkerError } from "../errors.ts";
import { pruneContainers } from "../container/stop.ts";
import { flagBool, HelpRequest, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { confirm } from "./confirm.ts";
import { runCommand } from "./commands.ts";

/** docker container's subcommand -> bunker's command */
const ALIASES: Record<string, string> = {
  ls: "ps", list: "ps", ps: "ps", rm: "rm", remove: "rm", inspect: "inspect", start: "start", stop: "stop", restart: "restart", logs: "logs", exec: "exec", run: "run",
  create: "create", kill: "kill", top: "top", port: "port", cp: "cp", diff: "diff", export: "export", rename: "rename", wait: "wait", stats: "stats", pause: "pause",
  unpause: "unpause", commit: "commit", update: "update", attach: "attach",
};

async function prune(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "do not ask first" }], "container prune", false);
  if (p.rest.length) throw new BunkerError(`container prune: takes no arguments (got "${p.rest[0]}")`, { errno: "EINVAL", fix: "bunker container prune [-f]" });
  if (!flagBool(p, "force") && !(await confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"))) return 0;
  const gone = await pruneContainers(runtimeContext(g));
  if (gone.length) console.log(["Deleted Containers:", ...gone, ""].join("\n"));
  console.log("Total reclaimed space: 0B");
  return 0;
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") throw new HelpRequest("container", []);
  if (sub === "prune") return prune(rest, g);
  const cmd = sub ? ALIASES[sub] : undefined;
  if (!cmd) throw new BunkerError(`container: unknown subcommand "${sub ?? ""}"`, { errno: "EINVAL", fix: `one of: ${[...Object.keys(ALIASES), "prune"].join(", ")}` });
  // inspect: a container's, never an image of that name
  return runCommand(cmd, cmd === "inspect" && !rest.includes("--help") ? ["--type", "container", ...rest] : rest, g);
}
