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
  // each line's third field found with indexOf, only the matching line split (run's path:
  // splitting all of a host's /etc/passwd into fields cost ~0.05 ms while the container waited)
  const id = String(uid);
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const c1 = text.indexOf(":", start);
    const c2 = c1 >= 0 && c1 < end ? text.indexOf(":", c1 + 1) : -1;
    if (c2 >= 0 && c2 < end) {
      const c3 = text.indexOf(":", c2 + 1);
      const idEnd = c3 >= 0 && c3 < end ? c3 : end;
      if (idEnd - c2 - 1 === id.length && text.startsWith(id, c2 + 1)) return text.slice(start, end).split(":");
    }
    start = end + 1;
  }
  return undefined;
}
