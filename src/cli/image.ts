// bunker image COMMAND: ls | rm | inspect | tag | load | import | save | pull | push | prune | check
import { BunkerError } from "../errors.ts";
import { Store } from "../image/store.ts";
import { flagBool, HelpRequest, parseFlags } from "./args.ts";
import { pruneImages } from "../container/prune.ts";
import { humanBytes } from "../image/units.ts";
import type { Command, GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";

const SUB: Record<string, () => Promise<{ default: Command }>> = {
  ls: () => import("./images.ts"),
  list: () => import("./images.ts"),
  rm: () => import("./rmi.ts"),
  inspect: () => import("./inspect.ts"),
  tag: () => import("./tag.ts"),
  load: () => import("./load.ts"),
  import: () => import("./import.ts"),
  save: () => import("./save.ts"),
  pull: () => import("./pull.ts"),
  push: () => import("./push.ts"),
};

/** `image prune [-a]`: dangling images (-a: every image) that no container uses, then what nothing needs */
async function prune(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "do not ask (accepted: prune never asks)" }, { names: ["all", "a"], help: "every image no container uses, not only dangling ones" }], "image prune", false);
  const { deleted, reclaimed } = await pruneImages(runtimeContext(g), flagBool(p, "all"));
  for (const id of deleted) console.log(`Deleted: ${id}`);
  console.log(`Total reclaimed space: ${humanBytes(reclaimed)}`);
  return 0;
}

/** `image check`: every image's blobs re-hashed, every unpacked layer present. */
async function check(argv: string[], g: GlobalOptions): Promise<number> {
  parseFlags(argv, [], "image check", false);
  const problems = await Store.open(runtimeContext(g).dataRoot).verify();
  for (const p of problems) console.error(`bunker: store: ${p}`);
  if (problems.length) {
    console.error("bunker: the image store is damaged — fix: bunker rmi the images named above and pull or load them again");
    return 1;
  }
  console.log("image store OK");
  return 0;
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h") throw new HelpRequest("image", []);
  if (sub === "prune") return prune(rest, g);
  if (sub === "check") return check(rest, g);
  const load = sub ? SUB[sub] : undefined;
  if (!load) throw new BunkerError(`image: unknown subcommand "${sub ?? ""}"`, { errno: "EINVAL", fix: "one of: ls, rm, inspect, tag, load, import, save, pull, push, prune, check" });
  return (await load()).default(rest, g);
}

