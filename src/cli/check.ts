// bunker check: what this machine and user can do, one line each, with a fix
// for what is missing (src/container/check.ts).  Exit 0 when `bunker run` can work.
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { checkMachine } from "../container/check.ts";

export default async function check(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["store"], help: "also verify the image store (re-hash every blob)" }], "check", false);
  const r = await checkMachine(runtimeContext(g), { verifyStore: flagBool(p, "store"), root: g.root });
  for (const l of r.lines) console.log(`${l.verdict.padEnd(4)}  ${l.what.padEnd(22)} ${l.detail}`);
  return r.canRun ? 0 : 125;
}
