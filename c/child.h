/* The container's first process, shared by the shim's files (one per concern,
 * crun's split): its state, the error report, the helpers several concerns use.
 *
 * Rules for everything reached from child_main(): raw syscalls and
 * async-signal-safe libc only.  The parent is a multi-threaded Bun process,
 * so no malloc, no stdio, no locks may run in the child (tests/unit/shim-objects.test.ts
 * checks the object files import none). */
#ifndef BUNKER_CHILD_H
#define BUNKER_CHILD_H
#include "shim.h"
#include "wire.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define STACK_SIZE (1 << 20)
#define MAX_ARGS 8192
#define PATH_BUF 4096

struct child {
  const uint8_t *plan;
  uint32_t len;
  int sock;
  int rootfd;   /* the new root, before pivot_root */
  int fifofd;   /* exec.fifo (O_PATH) for OCI create */
  int exitfd;   /* where the init writes the command's exit status (detached run) */
  int op_index; /* the op being run, for error reports */
  int copyfd;   /* tmpcopyup: the directory a tmpfs covers, held across its mount */
  int fifowfd;  /* exec.fifo's write end after start: a failing startContainer hook reports there */
  int hostpid;  /* our pid in the parent's pid namespace (from "go") */
  int initfd;   /* the init executable (a sealed memfd), exec'd as PID 1 */
  int fifo_deferred; /* FIFO_WAIT with the monitor's memfd: EXEC exec's it to wait (op_fifo_wait) */
  int peer;     /* bunker's end of the sync socket: closed first, so bunker's death is our EOF */
};

#pragma GCC visibility push(hidden)

/* child.c: the report, the sync, the helpers */
void send_msg(int sock, int32_t type, int32_t op, int32_t err, int32_t step, int32_t arg);
void fail(struct child *c, int err, enum bk_step step, int arg, int code) __attribute__((noreturn));
size_t slen(const char *s);
size_t fmt_uint(char *out, uint64_t v);
void fdpath(char *out, int fd);
char *int_arg(char *out, const char *name, int v);
void wait_for_go(struct child *c);
int child_setup(void *arg);
void fifo_wait_here(struct child *c);
void op_fifo_wait(struct child *c, const struct op *op);

/* mounts.c */
/* openat2(2) with RESOLVE (IN_ROOT: symlinks and .. resolved as if DIRFD were /, magic links refused) */
#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve);
void op_rootfs(struct child *c, const struct op *op);
void op_mount(struct child *c, const struct op *op);
void op_bind(struct child *c, const struct op *op);
void op_mknod(struct child *c, const struct op *op);
void op_symlink(struct child *c, const struct op *op);
void op_pivot(struct child *c, const struct op *op);
void op_setattr(struct child *c, const struct op *op);
void op_mask(struct child *c, const struct op *op);
void op_copyup_open(struct child *c, const struct op *op);
void op_copyup(struct child *c, const struct op *op);

/* archive.c: docker cp's two ends in a container's root */
void op_chdir_in_root(struct child *c, const struct op *op);
void op_copy_into(struct child *c, const struct op *op) __attribute__((noreturn));

/* namespaces.c */
void op_setns(struct child *c, const struct op *op);
void op_fork(struct child *c, const struct op *op);
void join_userns(struct child *c, uint64_t flags);
void op_lo_up(struct child *c);
void op_lock(struct child *c, const struct op *op);

/* process.c */
void op_chdir(struct child *c, const struct op *op);
void op_user(struct child *c, const struct op *op);
void op_caps(struct child *c, const struct op *op);
void op_seccomp(struct child *c, const struct op *op);
void check_exec(struct child *c);
void op_write(struct child *c, const struct op *op);
void op_close_fds(struct child *c, const struct op *op);
void reset_signals(void);
void op_exec(struct child *c, const struct op *op);
void op_pdeathsig(struct child *c, const struct op *op);
void op_stdio(struct child *c, const struct op *op);

/* terminal.c: fd passing */
struct fd_msg { /* one message of a caller's bytes with room for one fd (SCM_RIGHTS) */
  struct msghdr mh;
  struct iovec iov;
  char cbuf[CMSG_SPACE(sizeof(int))];
};
void fd_msg_init(struct fd_msg *m, void *data, size_t len);
/* the fd a received message carried, or -1 */
int fd_msg_fd(struct fd_msg *m);
ssize_t send_with_fd(int sock, void *data, size_t len, int fd);
void op_pty(struct child *c, const struct op *op);

/* init.c */
void op_init(struct child *c);

/* hooks.c */
void op_hook(struct child *c, const struct op *op);

/* store.c */
int is_store_op(uint32_t code);
void store_op(struct child *c, const struct op *op) __attribute__((noreturn));

#pragma GCC visibility pop

#endif
