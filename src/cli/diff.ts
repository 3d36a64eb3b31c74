// bunker diff CONTAINER: what the container added (A), changed (C) and deleted (D), as docker diff prints it
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { checkId } from "../container/state.ts";
import { containerChanges } from "../container/commit.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "diff", false);
  const id = checkId(p.rest[0], "diff");
  const changes = await containerChanges(runtimeContext(g), id);
  if (changes.length) console.log(changes.map((c) => `${c.kind} ${c.path}`).join("\n"));
  return 0;
}
