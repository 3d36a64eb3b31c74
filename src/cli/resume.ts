// bunker resume ID... (docker's name: unpause): thaw a paused container (cgroup.freeze = 0).
import { BunkerError } from "../errors.ts";
import { resume } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { parseFlags } from "./args.ts";
import type { Command, GlobalOptions } from "./global.ts";

/** the command under NAME (resume, runc's; unpause, docker's) */
export function resumeAs(name: string): Command {
  return (argv: string[], g: GlobalOptions) => {
    const ids = parseFlags(argv, [], name, false).rest;
    if (!ids.length) throw new BunkerError(`${name}: no container id given`, { errno: "EINVAL", fix: `bunker ${name} ID` });
    const ctx = runtimeContext(g);
    for (const id of ids) {
      resume(ctx, containerArg(g, id, name), name);
      if (name === "unpause") console.log(id); // docker's unpause names each container
    }
    return 0;
  };
}

export default resumeAs("resume");
