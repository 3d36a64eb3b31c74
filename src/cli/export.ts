// bunker export [-o FILE] ID: a container's root as a tar, on stdout or into
// FILE (src/container/export.ts)
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { isatty } from "node:tty";
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { exportContainer } from "../container/export.ts";
import { BunkerError, fromSysError } from "../errors.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["output", "o"], value: true, help: "FILE  write the tar to FILE instead of stdout" }], "export");
  const id = containerArg(g, p.rest[0], "export");
  const output = flag(p, "output");
  if (output === undefined && isatty(1)) throw new BunkerError("export: refusing to write a tar to a terminal", { errno: "ENOTTY", fix: `redirect it: bunker export ${id} > rootfs.tar, or bunker export -o rootfs.tar ${id}` });
  const tar = await exportContainer(runtimeContext(g), id);
  let fd = 1;
  if (output !== undefined) {
    try {
      fd = openSync(output, "w", 0o666);
    } catch (e) {
      await tar.return(undefined);
      throw fromSysError("export: cannot create the output file", e, { path: output });
    }
  }
  try {
    for await (const chunk of tar) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    }
  } catch (e) {
    await tar.return(undefined);
    if (output !== undefined) rmSync(output, { force: true }); // no half archive left
    if (e instanceof BunkerError) throw e;
    throw fromSysError(`export: cannot write the tar${output === undefined ? " to stdout" : ""}`, e, { path: output });
  } finally {
    if (fd !== 1) closeSync(fd);
  }
  return 0;
}
