// bunker start ID...: OCI's start of a created container; docker's of a created or stopped docker-style one.
// -a/-i (docker start -a, -ai): one container's output (and stdin) attached from its start until it exits.
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { startContainer } from "../container/start.ts";
// OCI's start loads neither node:tty nor state.ts (node:fs): -a's path imports them
import { checkId } from "../container/state-read.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(
    argv,
    [
      { names: ["a", "attach"], help: "attach its output (docker's start -a): until it exits, with its status" },
      { names: ["i", "interactive"], help: "attach its stdin too (and its output)" },
      { names: ["detach-keys"], value: true, help: "KEYS  the keys that detach with -a/-i on a terminal (default ctrl-p,ctrl-q)" },
    ],
    "start",
    false,
  );
  if (!p.rest.length) checkId(undefined, "start");
  const ctx = runtimeContext(g);
  const attach = flagBool(p, "a") || flagBool(p, "i");
  if (!attach) {
    // docker's start prints each name it started; OCI's prints nothing
    for (const arg of p.rest) {
      const id = containerArg(g, arg, "start");
      if (await startContainer(ctx, id)) console.log(arg);
    }
    return 0;
  }
  if (p.rest.length > 1) throw new BunkerError("start: you cannot start and attach multiple containers at once", { errno: "EINVAL", fix: "start -a one container at a time (or start them without -a)" });
  const arg = p.rest[0]!;
  const id = containerArg(g, arg, "start");
  const [{ isatty }, { containerStatus }] = await Promise.all([import("node:tty"), import("../container/state.ts")]);
  const { state, status } = containerStatus(ctx.stateRoot, id);
  if (!state?.run) throw new BunkerError(`start: -a works on docker-style containers: "${arg}" is an OCI bundle's`, { errno: "EINVAL", fix: `bunker start ${arg}` });
  const stdin = flagBool(p, "i");
  // a terminal's container needs this terminal for -i: said before anything starts
  if (stdin && state.process?.terminal && state.run.stdin && !isatty(0)) throw new BunkerError("the input device is not a TTY", { errno: "ENOTTY", fix: `start -ai from a terminal, or start -a ${arg}` });
  const { prepareAttach } = await import("./attach.ts");
  const opts = { stdin, sigProxy: true, keys: flag(p, "detach-keys"), keysFlag: "start: --detach-keys", created: true };
  let session: { run: () => Promise<number> } | undefined;
  if (status === "running" || status === "paused") session = prepareAttach(ctx, id, arg, opts); // docker start -a of a running one attaches (a paused one: attach's line)
  else await startContainer(ctx, id, undefined, () => (session = prepareAttach(ctx, id, arg, opts)));
  return await session!.run();
}
