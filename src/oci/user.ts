// A process's user from a USER string ("name", "uid", "name:group",
// "uid:gid": docker's -u and an image's User) and the container's own
// /etc/passwd and /etc/group: the one resolver for an image and a --rootfs,
// with Docker's (runc's GetExecUser) rules: a name's primary group and its
// supplementary groups (those that list it) come from the files, a uid the
// passwd file lacks gets gid 0, a named group replaces both.
import { BunkerError } from "../errors.ts";
import { colonFields, passwdEntry } from "../sys/passwd.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home?: string;
}

/** the container's user files (their texts; undefined: missing) and what to call them in a message */
export interface UserFiles {
  passwd?: string;
  group?: string;
  /** whose files they are, for messages: "the image", "the rootfs" */
  of: string;
  /** the directory they were read from, named in errors */
  etc?: string;
}

/** all ASCII digits (not a regular expression: run IMAGE's hot path, where the first one costs ~0.2 ms) */
function isDigits(s: string): boolean {
  if (!s) return false;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** a uid or gid as a user gives it: decimal, 0 to 4294967294 ((uid_t)-1 means "unchanged" to the kernel) */
export function parseId(s: string, what: string): number {
  if (s.length > 10 || !isDigits(s) || Number(s) > 0xfffffffe) throw new BunkerError(`${what}: "${s}" is not a user or group id`, { errno: "EINVAL", fix: "use a number from 0 to 4294967294" });
  return Number(s);
}


/** the home directory passwd TEXT gives UID, if any */
export function homeOf(text: string, uid: number): string | undefined {
  return passwdEntry(text, uid)?.[5] || undefined;
}

/** Resolves USER (undefined: root) through FILES. */
export function resolveUser(user: string | undefined, files: UserFiles): ResolvedUser {
  const [u, g, more] = (user || "0").split(":") as [string, string | undefined, string | undefined];
  if (more !== undefined || !u || g === "") throw new BunkerError(`user "${user}" is not USER[:GROUP]`, { errno: "EINVAL", fix: "give a name or uid, and optionally :GROUP (a name or gid)" });
  const passwdPath = files.etc && `${files.etc}/passwd`, groupPath = files.etc && `${files.etc}/group`;
  // an id read from the container's own files: a malformed line is its error, not a NaN id
  const idIn = (file: string, name: string, s: string | undefined) => parseId(s ?? "", `${files.of}'s /etc/${file}: ${name}`);
  const passwd = colonFields(files.passwd), group = colonFields(files.group);
  const pw = isDigits(u) ? passwd.find((p) => p[2] === u) : passwd.find((p) => p[0] === u);
  // Docker's (runc's) words, then ours
  if (!pw && !isDigits(u)) throw new BunkerError(`unable to find user ${u}: no matching entries in passwd file`, { errno: "ENOENT", path: passwdPath, fix: `use a numeric uid or a user ${files.of}'s /etc/passwd defines` });
  const uid = pw ? idIn("passwd", u, pw[2]) : parseId(u, "user");
  let gid = pw ? idIn("passwd", u, pw[3]) : 0;
  if (g !== undefined) {
    const gr = isDigits(g) ? undefined : group.find((x) => x[0] === g);
    if (!gr && !isDigits(g)) throw new BunkerError(`unable to find group ${g}: no matching entries in group file`, { errno: "ENOENT", path: groupPath, fix: `use a numeric gid or a group ${files.of}'s /etc/group defines` });
    gid = gr ? idIn("group", g, gr[2]) : parseId(g, "group");
  }
  const name = pw?.[0];
  const additionalGids = g === undefined && name ? group.filter((x) => (x[3] ?? "").split(",").includes(name)).map((x) => idIn("group", x[0]!, x[2])).filter((x) => x !== gid) : [];
  return { uid, gid, additionalGids, home: pw?.[5] };
}
