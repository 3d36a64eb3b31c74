// bunker run [-b DIR] [-d] [--pid-file F] [--console-socket S] [--keep] ID: runc's run (create + start, wait)
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { CREATE_FLAGS, createOptions } from "./create.ts";
import { create, deleteContainer, start } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId } from "../container/state.ts";
import { forwardSignals, supervise } from "../sys/shim.ts";

export default async function ociRun(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [...CREATE_FLAGS, { names: ["detach", "d"] }, { names: ["keep"] }], "run", false);
  const id = checkId(p.rest[0], "run");
  const root = stateRoot(g).dir;
  if (!flagBool(p, "detach")) forwardSignals();
  const state = await create(createOptions(p, g, root, id, "run"));
  await start(root, id);
  if (flagBool(p, "detach")) return 0;
  // the container's process is our child: wait for it, forwarding signals
  const st = supervise(state.pid, -1, false);
  if (!flagBool(p, "keep")) await deleteContainer(root, id, true);
  return st.signal ? 128 + st.signal : st.code;
}
