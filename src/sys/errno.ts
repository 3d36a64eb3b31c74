// Linux errno numbers (x86_64 / asm-generic) with their names and messages,
// so every error can say `ENOENT (No such file or directory)`.
// One line per errno, "N NAME message": a string constant costs nothing to
// load, where the array of arrays it was cost ~0.02 ms of every command (it
// was built at import); it is split into the indexes on first use.
const TABLE = `1 EPERM Operation not permitted
2 ENOENT No such file or directory
3 ESRCH No such process
4 EINTR Interrupted system call
5 EIO Input/output error
6 ENXIO No such device or address
7 E2BIG Argument list too long
8 ENOEXEC Exec format error
9 EBADF Bad file descriptor
10 ECHILD No child processes
11 EAGAIN Resource temporarily unavailable
12 ENOMEM Cannot allocate memory
13 EACCES Permission denied
14 EFAULT Bad address
15 ENOTBLK Block device required
16 EBUSY Device or resource busy
17 EEXIST File exists
18 EXDEV Invalid cross-device link
19 ENODEV No such device
20 ENOTDIR Not a directory
21 EISDIR Is a directory
22 EINVAL Invalid argument
23 ENFILE Too many open files in system
24 EMFILE Too many open files
25 ENOTTY Inappropriate ioctl for device
26 ETXTBSY Text file busy
27 EFBIG File too large
28 ENOSPC No space left on device
29 ESPIPE Illegal seek
30 EROFS Read-only file system
31 EMLINK Too many links
32 EPIPE Broken pipe
34 ERANGE Numerical result out of range
36 ENAMETOOLONG File name too long
38 ENOSYS Function not implemented
39 ENOTEMPTY Directory not empty
40 ELOOP Too many levels of symbolic links
61 ENODATA No data available
71 EPROTO Protocol error
75 EOVERFLOW Value too large for defined data type
84 EILSEQ Invalid or incomplete multibyte or wide character
95 EOPNOTSUPP Operation not supported
98 EADDRINUSE Address already in use
99 EADDRNOTAVAIL Cannot assign requested address
104 ECONNRESET Connection reset by peer
110 ETIMEDOUT Connection timed out
111 ECONNREFUSED Connection refused
122 EDQUOT Disk quota exceeded`;

// The two indexes are built on first use, not at import: every command loads
// this module (through errors.ts), few print an errno, and the first call of
// a builtin written in JavaScript (Array.prototype.map) costs ~0.2 ms.
let indexes: { byNum: Map<number, { name: string; msg: string }>; byName: Map<string, { n: number; msg: string }> } | undefined;
function index() {
  if (!indexes) {
    indexes = { byNum: new Map(), byName: new Map() };
    for (const line of TABLE.split("\n")) {
      const a = line.indexOf(" "), b = line.indexOf(" ", a + 1);
      const n = Number(line.slice(0, a)), name = line.slice(a + 1, b), msg = line.slice(b + 1);
      indexes.byNum.set(n, { name, msg });
      indexes.byName.set(name, { n, msg });
    }
  }
  return indexes;
}

export function errnoName(n: number): string {
  return index().byNum.get(n)?.name ?? `E${n}`;
}

export function errnoMessage(n: number): string {
  return index().byNum.get(n)?.msg ?? `errno ${n}`;
}

export function errnoNumber(name: string): number | undefined {
  return index().byName.get(name)?.n;
}

export function errnoMessageByName(name: string): string | undefined {
  return index().byName.get(name)?.msg;
}
