// The colon-separated files of user and group names (/etc/passwd, /etc/group:
// the host's, a rootfs's, an image's), as text split into fields, and the
// lookup by uid that the host's (idmap.ts) and a container's (oci/user.ts)
// share.
/** TEXT's lines, each as its fields */
export function colonFields(text: string | undefined): string[][] {
  const out: string[][] = [];
  for (const l of (text ?? "").split("\n")) out.push(l.split(":")); // a plain loop: run's path (src/loops.ts)
  return out;
}

/** the first entry of passwd TEXT for UID, as getpwuid finds it: its fields (name, password, uid, gid, gecos, home, shell) */
export function passwdEntry(text: string, uid: number): string[] | undefined {
  const id = String(uid);
  for (const f of colonFields(text)) if (f.length >= 3 && f[2] === id) return f;
  return undefined;
}
