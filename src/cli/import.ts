// bunker import [-c 'INSTRUCTION']... [-m MSG] FILE|- [REPOSITORY[:TAG]]: a
// tarball of a root filesystem as a one-layer image (src/container/import.ts),
// as docker import; prints the image's id
import { statSync } from "node:fs";
import { isatty } from "node:tty";
import { BunkerError, fromSysError } from "../errors.ts";
import { flag, flagList, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { importImage } from "../container/import.ts";
import { normalJit } from "../jit.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["change", "c"], value: true, multi: true, help: "'INSTRUCTION ARGS'  apply a Dockerfile instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL" },
    { names: ["message", "m"], value: true, help: "MSG  the history entry's comment (default \"Imported from -\")" },
  ], "import", false);
  const [file, ref, ...extra] = p.rest;
  if (!file || extra.length) throw new BunkerError("import: takes FILE|- [REPOSITORY[:TAG]]", { errno: "EINVAL", fix: "bunker import rootfs.tar myimage:1, or bunker export ID | bunker import - myimage" });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) throw new BunkerError(`import: importing from a URL is not supported (${file})`, { errno: "EOPNOTSUPP", fix: `download it first: curl -fLo rootfs.tar '${file}' && bunker import rootfs.tar` });
  if (file === "-" && isatty(0)) throw new BunkerError("import: refusing to read a tar from a terminal", { errno: "ENOTTY", fix: "pipe it in: bunker export ID | bunker import - myimage, or give FILE" });
  if (file !== "-") {
    let st;
    try {
      st = statSync(file);
    } catch (e) {
      throw fromSysError("import: cannot read the tarball", e, { path: file });
    }
    if (!st.isFile()) throw new BunkerError("import: not a file", { errno: "EINVAL", path: file, fix: "give a tarball (a directory: tar -C DIR -c . | bunker import -)" });
  }
  normalJit(); // the tarball is read, hashed and unpacked in long loops
  const rec = await importImage(runtimeContext(g), {
    source: file === "-" ? Bun.stdin.stream() : Bun.file(file).stream(),
    sourceName: file,
    changes: flagList(p, "change"),
    message: flag(p, "message"),
    ref,
  });
  console.log(rec.id);
  return 0;
}
