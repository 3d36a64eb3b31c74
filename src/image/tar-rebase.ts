// An archive's entries renamed as it streams through (docker cp's
// RebaseArchiveEntries): the first component OLD of every name (and of a
// hard link's target) becomes NEW, data passed on in the pieces it came in.
// With `confined`, a name or hard link that would leave the directory the
// archive is extracted into (absolute, or a `..` component) ends the stream
// with one error naming it: what the archive endpoints refuse.
import { BunkerError } from "../errors.ts";
import { TarReader, type TarEntry } from "./tar.ts";
import { padding, TAR_END, tarHeader } from "./tarwriter.ts";

export interface Rebase {
  /** the first name component to replace ("." for an archive of a directory's contents); "" keeps names */
  from: string;
  to: string;
}

/** NAME with its first component FROM replaced by TO (a leading "./" of tar's names dropped unless FROM is ".") */
export function rebaseName(name: string, { from, to }: Rebase): string {
  if (!from) return name;
  let parts = name.split("/");
  if (from !== ".") while (parts.length > 1 && parts[0] === ".") parts = parts.slice(1);
  if (parts[0] !== from) return name;
  return [to, ...parts.slice(1)].join("/");
}

/** why NAME would leave the extraction directory, or undefined */
export function unconfined(name: string): string | undefined {
  if (name.startsWith("/")) return "an absolute name";
  if (name.split("/").includes("..")) return "a '..' component";
  return undefined;
}

function refuse(what: string, name: string, why: string): BunkerError {
  return new BunkerError(`archive ${what} "${name}" has ${why}: it would be extracted outside the destination`, {
    errno: "EINVAL",
    fix: "make the archive with names relative to the directory it is extracted into",
  });
}

/** SOURCE (a tar stream) with every entry renamed by REBASE; CONFINED refuses names that leave the destination */
export async function* rebaseTar(source: AsyncIterable<Uint8Array>, rebase: Rebase, confined = false): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const name = (e: TarEntry, what: string, n: string) => {
    const why = confined ? unconfined(n) : undefined;
    if (why) throw refuse(what, n, why);
    return rebaseName(n, rebase);
  };
  const reader = new TarReader({
    entry(e) {
      const xattrs = e.xattrs.size ? Object.fromEntries(e.xattrs) : undefined;
      const linkname = e.type === "hardlink" ? name(e, "hard link target", e.linkname) : e.linkname;
      out.push(tarHeader({ ...e, name: name(e, "entry", e.name), linkname, xattrs }));
    },
    data(chunk) {
      out.push(chunk);
    },
    entryEnd(e) {
      if (e.size) out.push(padding(e.size));
    },
  });
  for await (const chunk of source) {
    reader.push(chunk);
    if (out.length) yield Buffer.concat(out.splice(0));
  }
  reader.end();
  if (out.length) yield Buffer.concat(out.splice(0));
  yield TAR_END;
}
