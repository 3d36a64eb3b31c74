// bunker serve [--host unix://PATH|tcp://127.0.0.1:PORT]: the Docker Engine API
// until SIGTERM or SIGINT; containers keep running when it stops.  src/cli and
// src/api do not import each other: main.ts gives this command the server
// (src/api/index.ts startApiServer).
import type { RuntimeContext } from "../container/context.ts";
import { BunkerError } from "../errors.ts";
import { flag, parseFlags } from "./args.ts";
import { runtimeContext } from "./context.ts";
import type { GlobalOptions } from "./global.ts";

/** src/api's server, as this command uses it */
export type StartServer = (ctx: RuntimeContext, host: string | undefined) => Promise<{ dockerHost: string; stop(): Promise<void> }>;

export async function serve(argv: string[], g: GlobalOptions, start: StartServer): Promise<number> {
  const p = parseFlags(argv, [{ names: ["host", "H"], value: true, help: "unix:///PATH|tcp://127.0.0.1:PORT  where to listen (default: unix://STATE_ROOT/bunker.sock:\n$XDG_RUNTIME_DIR/bunker/bunker.sock, as root /run/bunker/bunker.sock)" }], "serve");
  const ctx = runtimeContext(g);
  const server = await start(ctx, flag(p, "host"));
  console.log(`DOCKER_HOST=${server.dockerHost}`);
  // Docker's daemon start: containers whose restart policy says so start again (while the server already answers)
  const restarted = import("../container/restart.ts").then((m) => m.restartAtServerStart(ctx)).catch((e) => {
    if (!(e instanceof BunkerError)) throw e;
    ctx.log.warn(e);
  });
  const signal = await new Promise<string>((resolve) => {
    for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve(s));
  });
  await restarted;
  await server.stop();
  console.error(`bunker: note: serve: ${signal}: stopped listening; containers keep running`);
  return 0;
}
