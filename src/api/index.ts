// What main.ts hands to `bunker serve` (src/cli/serve.ts): the API server on
// --host, or on STATE_ROOT/bunker.sock — $XDG_RUNTIME_DIR/bunker/bunker.sock
// rootless, /run/bunker/bunker.sock as root, beside the containers' state.
import { join } from "node:path";
import type { RuntimeContext } from "../container/context.ts";
import { parseHost } from "./listen.ts";
import { ROUTES } from "./routes.ts";
import { hijackRoutes } from "./attach.ts";
import { eventStreams } from "./events.ts";
import { EXEC_HIJACK } from "./exec.ts";
import { serveApi, type ApiServer } from "./server.ts";
import { keepCallerDumpable } from "../sys/launch.ts";

export function startApiServer(ctx: RuntimeContext, host: string | undefined): Promise<ApiServer> {
  // the server launches containers for as long as it runs: no child of its may make it non-dumpable
  keepCallerDumpable();
  const attach = hijackRoutes(ctx, [EXEC_HIJACK]), events = eventStreams(ctx);
  return serveApi(ctx, parseHost(host ?? `unix://${join(ctx.stateRoot, "bunker.sock")}`), ROUTES, (head) => attach(head) ?? events(head));
}
