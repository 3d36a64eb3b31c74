// bunker __restart DIR CODE (internal): a container with a restart policy has
// exited with CODE; its log writer (c/logwriter.c) became this command, which
// starts it again when the policy says so (src/container/restart.ts).
import { basename } from "node:path";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { handedOverContext } from "./hand-over-context.ts";
import { restartAfterExit } from "../container/restart.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const [dir, status] = parseFlags(argv, [], "__restart", false).rest;
  if (!dir || !/^\d+$/.test(status ?? "")) throw new BunkerError("__restart is started by a container's log writer: __restart DIR CODE", { errno: "EINVAL" });
  await restartAfterExit(handedOverContext(g, dir), basename(dir), Number(status));
  return 0;
}
