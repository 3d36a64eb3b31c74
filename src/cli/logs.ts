// bunker logs [-f] ID: the output of a detached `run -d` (stdout and stderr, as written)
import { openSync, readSync, closeSync, existsSync } from "node:fs";
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { stateRoot } from "../container/paths.ts";
import { checkId, containerDir, isAlive, readState, notFound } from "../container/state.ts";
import { BunkerError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["follow", "f"] }], "logs", false);
  const id = checkId(p.rest[0], "logs");
  const root = stateRoot(g).dir;
  const state = readState(root, id);
  if (!state) throw notFound(id);
  const file = `${containerDir(root, id)}/log`;
  if (!state.run || !existsSync(file)) throw new BunkerError(`logs: container "${id}" was not started with run -d`, { errno: "ENOENT", fix: "only detached containers keep a log" });
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(65536);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n > 0) {
        process.stdout.write(buf.subarray(0, n));
        continue;
      }
      if (!flagBool(p, "follow") || !isAlive(state)) break;
      await Bun.sleep(100);
    }
  } finally {
    closeSync(fd);
  }
  return 0;
}
