/* bunker shim: the part of bunker that runs where JavaScript cannot.
 *
 * TypeScript builds a Plan (src/plan) and encodes it (src/sys/plan-encode.ts)
 * into one flat buffer.  bk_spawn() clones a child with the plan's namespace
 * flags; the child waits for the parent's "go" on the sync socket (sent after
 * the uid/gid maps are written and the cgroup is joined), runs the ops in
 * order with raw syscalls only and execve()s.  Keep the numbers below in step
 * with src/sys/plan-encode.ts.
 *
 * Buffer layout (little endian):
 *   header: u32 magic 'BKP1', u32 nops, u64 clone_flags
 *   op:     u32 code, u32 nint, u32 nstr, u32 pad,
 *           nint x i64,
 *           nstr x { u32 len, bytes[len], '\0', pad to 8 }
 */
#ifndef BUNKER_SHIM_H
#define BUNKER_SHIM_H
#include <stdint.h>

#define BK_MAGIC 0x31504b42u /* "BKP1" */

/* a flag of the header's clone_flags above the kernel's 32 bits: the plan's
 * first op joins an existing user namespace (SETNS of CLONE_NEWUSER); the
 * other CLONE_NEW* flags are then made by unshare() after it (c/shim.c) */
#define BK_JOIN_USERNS (1ull << 40)

enum bk_op {
  BK_OP_MOUNT = 1,      /* s: src, target, fstype, data; i: flags, opflags */
  BK_OP_BIND = 2,       /* s: src, target; i: opflags, attr_set, attr_clr */
  BK_OP_MKDIR = 3,      /* s: path; i: mode */
  BK_OP_SYMLINK = 4,    /* s: target, linkpath */
  BK_OP_PIVOT = 5,      /* i: no_pivot */
  BK_OP_SETATTR = 6,    /* s: path (absolute, after pivot); i: attr_set, attr_clr, recursive */
  BK_OP_MASK = 7,       /* s: path (after pivot) */
  BK_OP_HOSTNAME = 8,   /* s: name */
  BK_OP_DOMAINNAME = 9, /* s: name */
  BK_OP_LO_UP = 10,
  BK_OP_CHDIR = 11,     /* s: dir */
  BK_OP_RLIMIT = 12,    /* i: resource, soft, hard */
  BK_OP_USER = 13,      /* i: uid, gid, groups... */
  BK_OP_CAPS = 14,      /* i: bounding, effective, permitted, inheritable, ambient (bit masks) */
  BK_OP_NNP = 15,
  BK_OP_SECCOMP = 16,   /* s: sock_filter array; i: flags (with SECCOMP_FILTER_FLAG_NEW_LISTENER: BK_MSG_SECCOMP) */
  BK_OP_PTY = 17,       /* i: rows, cols */
  BK_OP_SETSID = 18,
  BK_OP_FIFO_OPEN = 19, /* s: path (host path of exec.fifo, opened O_PATH) */
  BK_OP_FIFO_WAIT = 20, /* tells the parent "ready", then blocks opening the fifo; i: (optional) fd of
                           a sealed memfd of the monitor: the EXEC that follows exec's it to wait and
                           exec the program, so the waiting PID 1 is never bunker's executable */
  BK_OP_WRITE = 21,     /* s: path, content (e.g. /proc/self/oom_score_adj, /proc/sys/...) */
  BK_OP_UMASK = 22,     /* i: mask */
  BK_OP_CLOSE_FDS = 23, /* i: first fd to close on exec (3 + preserve_fds) */
  BK_OP_STDIN_NULL = 24,
  BK_OP_INIT = 25,      /* fork: the parent stays as a reaping, signal forwarding PID 1;
                           i: (optional) fd of the init executable it exec's (a sealed memfd) */
  BK_OP_EXEC = 26,      /* s: file, argv..., env...; i: argc, envc */
  BK_OP_ROOTFS = 27,    /* s: path, fstype, data; i: mount (0: bind path onto itself, 1: mount fstype on it,
                           2: mount a tmpfs on it, then fstype on path/root: an overlay with upper and work
                           dirs path/upper and path/work on that tmpfs), propagation flags for / */
  BK_OP_SETNS = 28,     /* s: /proc/PID/ns/TYPE or a bind-mounted ns file; i: CLONE_NEW* type */
  BK_OP_FORK = 29,      /* fork once more (joining a pid ns takes effect for children); the
                           intermediate reports the new pid (BK_MSG_PID) and exits; i: (optional) 1:
                           the new process waits for a second "go" */
  BK_OP_PDEATHSIG = 30, /* i: signal sent to the process when bunker dies */
  BK_OP_STDIO = 31,     /* s: log file (host path): stdout and stderr append to it, stdin is /dev/null */
  BK_OP_EXIT_FILE = 32, /* s: host path; the init (BK_OP_INIT) writes the command's exit status there */
  BK_OP_COPYUP_OPEN = 33, /* s: path (in root): hold the directory a tmpfs is about to cover (tmpcopyup) */
  BK_OP_COPYUP = 34,      /* s: path (in root): copy the held directory's contents into the tmpfs (or new
                             volume) now there; i: 1: the directory too gets the held one's owner and mode */
  BK_OP_HOOK = 35,        /* s: path, state before pid, state after pid, argv..., env...;
                             i: index, timeout (s, 0 = none), argc, envc.  A startContainer hook,
                             run in the container after exec.fifo, before exec */
  BK_OP_NONDUMPABLE = 36, /* PR_SET_DUMPABLE 0 until execve: a process of the container cannot open
                             /proc/PID/exe (the bunker executable: CVE-2019-5736) nor ptrace this one */
  BK_OP_MKNOD = 37,       /* s: path (in root); i: mode (type and permissions), major, minor, uid, gid */
  BK_OP_LOCK = 38,        /* s: uid_map, gid_map; i: unshare flags.  A nested user namespace (and mount,
                             uts, net namespaces) that locks every mount made so far */
  BK_OP_CHOWN_TREE = 40, /* s: dir; an image-store op, not a container's: every file under DIR that has a
                            user.containers.override_stat record gets that UID:GID, then the child
                            exits 0 (no exec) */
  BK_OP_COPY_LAYERS = 41, /* s: dest, layer dirs (lowest first); an image-store op: the layers (overlay
                             format: 0/0 char-device whiteouts, user.overlay.opaque dirs) merged into the
                             new directory DEST, files reflinked where the filesystem can (FICLONE), else
                             copied in the kernel; owners, modes, times and user xattrs kept; then the
                             child exits 0 (no exec) */
};

/* opflags for MOUNT and BIND */
#define BK_IN_ROOT 1u   /* target is resolved inside the rootfs (RESOLVE_IN_ROOT) */
#define BK_MKDIR 2u     /* create the target directory (and parents) if missing */
#define BK_MKFILE 4u    /* create the target as an empty file if missing */
#define BK_RECURSIVE 8u /* rbind / recursive attributes */
#define BK_OPTIONAL 16u /* a missing source is not an error */

/* a startContainer hook failed: written to exec.fifo after the "0" (see
 * op_hook), then up to BK_HOOK_OUTPUT bytes of what the hook printed.
 * i32 index, i32 kind, i32 value */
#define BK_HOOK_EXITED 1   /* value: exit status */
#define BK_HOOK_SIGNALED 2 /* value: signal */
#define BK_HOOK_TIMEOUT 3  /* value: the timeout in seconds */
#define BK_HOOK_NOEXEC 4   /* value: errno of execve (or of the pipe/clone before it) */
#define BK_HOOK_OUTPUT 1024

/* the parent's "go" on the sync socket: i32 'G', i32 the child's pid in the
 * parent's pid namespace (the state's pid, for startContainer hooks) */

/* messages on the sync socket, child -> parent: u32 type, i32 a, i32 b, i32 c */
#define BK_MSG_ERROR 'E' /* a = op index, b = errno, c = detail (e.g. which step) */
#define BK_MSG_PTY 'P'   /* the pty master comes with SCM_RIGHTS */
#define BK_MSG_READY 'R' /* create: set up, now waiting on exec.fifo */
#define BK_MSG_PID 'K'   /* a = the pid (in bunker's pid namespace) of the forked process */
#define BK_MSG_SECCOMP 'S' /* the seccomp listener (SCM_RIGHTS) of a filter with SCMP_ACT_NOTIFY; the
                             child waits for a "go" once bunker has passed it to the agent */

int bk_spawn(const uint8_t *plan, uint32_t len, int32_t *out);
int bk_send_go(int sock, int pid);
int bk_forward_signals(void);
void bk_forward_signals_on(int r, int w);
int bk_sealed_memfd(const uint8_t *image, uint32_t image_len);
void bk_init_loop(int child, int exitfd) __attribute__((noreturn));
int bk_exec_monitor(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int keep);
int bk_read_msg(int sock, int32_t *out);
int bk_supervise(int pid, int pty, int flags, int32_t *out);
int bk_exec_path(const char *file, char *const argv[], char *const envp[]);
int bk_exec_lookup(const char *file, char *const envp[]);
int bk_errno(void);
int bk_flock(int fd, int op);
int bk_stat_dirs(const char *buf, uint32_t len, uint32_t *out);
int bk_open_ns(const char *path, const char *ino);
int bk_close(int fd);
int bk_mkfifo(const char *path, int mode);
int bk_send_fd(const char *socket_path, int fd);
int bk_send_fd_with(const char *socket_path, int fd, const uint8_t *data, uint32_t len);
int bk_subreaper(void);
int bk_pidfd_wait(int pid, int timeout_ms, int32_t *out);
int bk_spawn_log_writer(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int32_t *out);
int bk_log_writer(int argc, char **argv);

#endif
