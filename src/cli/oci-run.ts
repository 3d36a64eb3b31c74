// bunker run [-b DIR] [-d] [--pid-file F] [--console-socket S] [--keep] ID: runc's run (create + start, wait)
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { CREATE_FLAGS, createOptions } from "./create.ts";
import { create, deleteContainer, start } from "../container/lifecycle.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId } from "../container/state.ts";
import { becomeSubreaper, forwardSignals, exitCode, supervise } from "../sys/shim.ts";

export default async function ociRun(argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [...CREATE_FLAGS, { names: ["detach", "d"], help: "(runc's run) do not wait: create and start, then exit" }, { names: ["keep"], help: "(runc's run) keep the container's state after it exits" }, { names: ["no-subreaper"], help: "(runc's run) accepted; bunker stays the subreaper: a container forked into a joined pid namespace is re-parented to it, and run waits for it" }], "run", false);
  const id = checkId(p.rest[0], "run");
  const root = stateRoot(g).dir;
  const detach = flagBool(p, "detach");
  if (!detach) {
    forwardSignals();
    // a container that joins a pid namespace is forked by an intermediate that exits: it is re-parented to us
    becomeSubreaper();
  }
  // process.terminal without --console-socket: runc proxies its own terminal to the container's
  let pty = -1;
  const o = createOptions(p, g, root, id, "run");
  if (!detach && !o.consoleSocket) o.onPty = (fd) => (pty = fd);
  const state = await create(o);
  try {
    await start(root, id);
  } catch (e) {
    // a run that failed leaves nothing behind (runc's run deletes it too)
    await deleteContainer(root, id, true).catch(() => {});
    throw e;
  }
  if (detach) return 0;
  // the container's process is our child: wait for it, forwarding signals (and the terminal)
  const st = supervise(state.pid, pty, pty >= 0);
  if (!flagBool(p, "keep")) await deleteContainer(root, id, true);
  return exitCode(st);
}
