/* bunker shim, child.c: The container's first process: bk_spawn() clones it, it waits for bunker's "go" on the sync socket,
 * runs the plan's ops in order (each op's code in the dispatch below, its work in the file of its
 * concern) and exec's; errors go back as {op, step, arg, errno}.  Also the parent's end of that
 * socket (bk_send_go, bk_read_msg) and the exec.fifo wait of OCI create. */
#define _GNU_SOURCE
#include "child.h"

void send_msg(int sock, int32_t type, int32_t op, int32_t err, int32_t step, int32_t arg) {
  int32_t m[BK_MSG_INTS] = {type, op, err, step, arg};
  (void)send(sock, m, sizeof m, MSG_NOSIGNAL);
}

/* the op being run failed with ERR at STEP (enum bk_step, named in src/plan/ops.ts; ARG: a capability,
 * an fd, a hook's index): tell bunker, exit with CODE */
__attribute__((noreturn)) void fail(struct child *c, int err, enum bk_step step, int arg, int code) {
  send_msg(c->sock, BK_MSG_ERROR, c->op_index, err, (int32_t)step, arg);
  _exit(code);
}

size_t slen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

/* V in decimal at OUT (no terminator; at most 20 bytes), without snprintf; returns the length */
size_t fmt_uint(char *out, uint64_t v) {
  char d[20];
  size_t n = 0, k = 0;
  do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) out[k++] = d[--n];
  return k;
}

void fdpath(char *out, int fd) {
  /* "/proc/self/fd/N" without snprintf */
  const char *pre = "/proc/self/fd/";
  size_t k = 0;
  while (pre[k]) { out[k] = pre[k]; k++; }
  k += fmt_uint(out + k, (unsigned)fd);
  out[k] = 0;
}

/* "--name=N" into OUT (no snprintf in the child) */
char *int_arg(char *out, const char *name, int v) {
  size_t n = slen(name);
  memcpy(out, name, n);
  if (v < 0) out[n++] = '-';
  n += fmt_uint(out + n, v < 0 ? -(uint64_t)v : (uint64_t)v);
  out[n] = 0;
  return out;
}

/* blocks until `start` opens exec.fifo for reading, then writes "0" */
void fifo_wait_here(struct child *c) {
  char p[32];
  fdpath(p, c->fifofd);
  int fd = open(p, O_WRONLY | O_CLOEXEC); /* blocks until `start` opens it */
  if (fd < 0) fail(c, errno, BK_STEP_OPEN_EXEC_FIFO, 0, 125);
  if (write(fd, "0", 1) != 1) fail(c, errno, BK_STEP_WRITE_EXEC_FIFO, 0, 125);
  /* kept until exec (O_CLOEXEC): start reads on to EOF, which tells it the
   * startContainer hooks passed (op_hook writes their failure here) */
  c->fifowfd = fd;
  close(c->fifofd);
  c->fifofd = -1;
}

/* With the monitor's memfd (i: fd) the wait is deferred to the EXEC op, which
 * exec's the monitor to wait: a process exec'd into the created container
 * then sees a sealed memfd as PID 1's exe, never bunker's executable
 * (CVE-2019-5736), and may look into it (it is dumpable again, as the
 * program will be), which a rootless exec needs to join its namespaces. */
void op_fifo_wait(struct child *c, const struct op *op) {
  /* the open for writing comes after "ready", when create has gone: whether
   * this user may make it is checked now, while the error can still be told */
  if (syscall(SYS_faccessat2, c->fifofd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) < 0 && errno != ENOSYS) fail(c, errno, BK_STEP_FACCESSAT2, 0, 125);
  check_exec(c);
  send_msg(c->sock, BK_MSG_READY, c->op_index, 0, 0, 0);
  if (op_int(op, BK_I_FIFO_WAIT_EXE) >= 0 && c->initfd >= 0) {
    c->fifo_deferred = 1;
    return;
  }
  fifo_wait_here(c);
}

/* blocked until the parent says "go" (it has written the id maps, joined the
 * cgroup and recorded our pid in state.json); EOF: bunker died first, so do we */
void wait_for_go(struct child *c) {
  int32_t go[2];
  if (read(c->sock, go, sizeof go) != sizeof go || go[0] != 'G') _exit(125);
  c->hostpid = go[1];
}

static int child_main(void *arg) {
  struct child *c = arg;
  /* our copy of bunker's end: kept, it would hide bunker's death from the read below */
  close(c->peer);
  wait_for_go(c);
  uint64_t flags;
  memcpy(&flags, c->plan + 8, 8);
  if (flags & BK_JOIN_USERNS) join_userns(c, flags);
  return child_setup(c);
}

int child_setup(void *arg) {
  struct child *c = arg;
  uint64_t flags;
  memcpy(&flags, c->plan + 8, 8);
  if (flags & CLONE_NEWCGROUP) {
    /* now, not at clone: the parent has just moved us into the container's
     * cgroup, which becomes the namespace's root ("0::/" inside) */
    if (unshare(CLONE_NEWCGROUP) < 0) {
      c->op_index = -1;
      fail(c, errno, BK_STEP_UNSHARE, 0, 125);
    }
  }
  if (flags & CLONE_NEWUSER) {
    /* become the namespace's root: our ids are still the creator's, which the
     * map need not contain (root creating a 0 -> 1001 map); files the mounts
     * create would get an overflow owner (EOVERFLOW).  A map without 0 keeps
     * the old ids (EINVAL is fine). */
    (void)syscall(SYS_setresgid, 0, 0, 0);
    (void)syscall(SYS_setresuid, 0, 0, 0);
  }
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  if (flags & BK_JOIN_USERNS) (void)plan_next(&it, &op); /* joined already */
  /* an image-store plan is its one op (src/plan/store.ts); in a container's plan a store op is unknown */
  struct plan_iter first = it;
  if (plan_next(&first, &op) && first.left == 0 && is_store_op(op.code)) {
    c->op_index = first.index;
    store_op(c, &op);
  }
  while (plan_next(&it, &op)) {
    c->op_index = (int)it.index;
    switch (op.code) {
      case BK_OP_ROOTFS: op_rootfs(c, &op); break;
      case BK_OP_MOUNT: op_mount(c, &op); break;
      case BK_OP_BIND: op_bind(c, &op); break;
      case BK_OP_SYMLINK: op_symlink(c, &op); break;
      case BK_OP_PIVOT: op_pivot(c, &op); break;
      case BK_OP_SETATTR: op_setattr(c, &op); break;
      case BK_OP_MASK: op_mask(c, &op); break;
      case BK_OP_HOSTNAME: {
        uint32_t n;
        const char *s = op_str(&op, BK_S_HOSTNAME_NAME, &n);
        if (sethostname(s, n) < 0) fail(c, errno, BK_STEP_SETHOSTNAME, 0, 125);
        break;
      }
      case BK_OP_DOMAINNAME: {
        uint32_t n;
        const char *s = op_str(&op, BK_S_DOMAINNAME_NAME, &n);
        if (setdomainname(s, n) < 0) fail(c, errno, BK_STEP_SETDOMAINNAME, 0, 125);
        break;
      }
      case BK_OP_LO_UP: op_lo_up(c); break;
      case BK_OP_LOCK: op_lock(c, &op); break;
      case BK_OP_CHDIR: op_chdir(c, &op); break;
      case BK_OP_CHDIR_IN_ROOT: op_chdir_in_root(c, &op); break;
      case BK_OP_DUP:
        if (dup2((int)op_int(&op, BK_I_DUP_FD), (int)op_int(&op, BK_I_DUP_TO)) < 0) fail(c, errno, BK_STEP_DUP2, 0, 125);
        break;
      case BK_OP_RLIMIT: {
        struct rlimit rl = {(rlim_t)op_int(&op, BK_I_RLIMIT_SOFT), (rlim_t)op_int(&op, BK_I_RLIMIT_HARD)};
        if (prlimit(0, (int)op_int(&op, BK_I_RLIMIT_RESOURCE), &rl, NULL) < 0) fail(c, errno, BK_STEP_PRLIMIT, 0, 125);
        break;
      }
      case BK_OP_USER: op_user(c, &op); break;
      case BK_OP_CAPS: op_caps(c, &op); break;
      case BK_OP_NNP:
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_NO_NEW_PRIVS, 0, 125);
        break;
      case BK_OP_SECCOMP: op_seccomp(c, &op); break;
      case BK_OP_MKNOD: op_mknod(c, &op); break;
      case BK_OP_HOLD:
        send_msg(c->sock, BK_MSG_HOLD, c->op_index, 0, 0, 0);
        wait_for_go(c);
        break;
      case BK_OP_NONDUMPABLE:
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_DUMPABLE, 0, 125);
        break;
      case BK_OP_PTY: op_pty(c, &op); break;
      case BK_OP_SETSID:
        if (setsid() < 0 && errno != EPERM) fail(c, errno, BK_STEP_SETSID, 0, 125);
        break;
      case BK_OP_FIFO_OPEN:
        c->fifofd = open(op_str(&op, BK_S_FIFO_OPEN_PATH, NULL), O_PATH | O_CLOEXEC);
        if (c->fifofd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
        break;
      case BK_OP_FIFO_WAIT: op_fifo_wait(c, &op); break;
      case BK_OP_WRITE: op_write(c, &op); break;
      case BK_OP_UMASK: umask((mode_t)op_int(&op, BK_I_UMASK_MASK)); break;
      case BK_OP_CLOSE_FDS: op_close_fds(c, &op); break;
      case BK_OP_STDIN_NULL: {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0) fail(c, errno, BK_STEP_OPEN_DEV_NULL, 0, 125);
        close(fd);
        break;
      }
      case BK_OP_INIT: op_init(c); break;
      case BK_OP_SETNS: op_setns(c, &op); break;
      case BK_OP_FORK: op_fork(c, &op); break;
      case BK_OP_PDEATHSIG: op_pdeathsig(c, &op); break;
      case BK_OP_STDIO: op_stdio(c, &op); break;
      case BK_OP_EXIT_FILE:
        c->exitfd = open(op_str(&op, BK_S_EXIT_FILE_PATH, NULL), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (c->exitfd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
        break;
      case BK_OP_COPYUP_OPEN: op_copyup_open(c, &op); break;
      case BK_OP_COPYUP: op_copyup(c, &op); break;
      case BK_OP_HOOK: op_hook(c, &op); break;
      case BK_OP_EXEC: op_exec(c, &op); break;
      default: fail(c, EINVAL, BK_STEP_UNKNOWN_OP, (int)op.code, 125);
    }
  }
  fail(c, EINVAL, BK_STEP_NO_EXEC_OP, 0, 125); /* a plan must end in EXEC */
}

/* When the plan asks for CLONE_VM (TypeScript does, unless the child stays
 * alive without exec'ing: --init), the child shares bunker's memory, as
 * posix_spawn's does: no page
 * tables of a large Bun process are copied, and its execve has no copy to
 * tear down.  It runs on its own stack in a private region that also holds
 * a copy of the plan and its state, so nothing the parent frees or the
 * garbage collector moves is read; the region is left mapped (the child may
 * outlive this call, e.g. a created container waiting on exec.fifo).  The
 * child's libc calls may still write errno in the parent thread's TLS: the
 * parent only waits on the sync socket meanwhile, with raw syscalls that do
 * not read errno (raw_syscall below). */
int bk_spawn(const uint8_t *plan, uint32_t len, int32_t *out) {
  uint32_t magic;
  uint64_t flags;
  if (len < 16) return -EINVAL;
  memcpy(&magic, plan, 4);
  memcpy(&flags, plan + 8, 8);
  if (magic != BK_MAGIC) return -EINVAL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
  size_t plan_off = STACK_SIZE, child_off = STACK_SIZE + ((len + 63) & ~(size_t)63);
  size_t size = child_off + sizeof(struct child);
  uint8_t *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (region == MAP_FAILED) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return -e;
  }
  memcpy(region + plan_off, plan, len);
  struct child *c = (struct child *)(region + child_off);
  *c = (struct child){region + plan_off, len, sv[1], -1, -1, -1, -1, -1, -1, 0, -1, 0, sv[0]};
  /* the cgroup namespace is made by the child after "go" (see child_main) */
  uint64_t cf = flags & ~(uint64_t)CLONE_NEWCGROUP & 0xffffffffu;
  if (flags & BK_JOIN_USERNS) cf &= ~(uint64_t)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID);
  int pid = clone(child_main, region + STACK_SIZE, (int)cf | SIGCHLD, c);
  int e = errno;
  close(sv[1]);
  if (!(flags & CLONE_VM) || pid < 0) {
    munmap(region, size); /* without CLONE_VM the child has its own copy */
  }
  if (pid < 0) {
    close(sv[0]);
    return -e;
  }
  out[0] = pid;
  out[1] = sv[0];
  return 0;
}

/* a syscall that returns -errno and leaves errno alone */
static long raw_syscall(long n, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

int bk_send_go(int sock, int pid) {
  int32_t go[2] = {'G', pid};
  struct iovec iov = {go, sizeof go};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  long r = raw_syscall(SYS_sendmsg, sock, (long)&mh, MSG_NOSIGNAL);
  return r == (long)sizeof go ? 0 : (r < 0 ? (int)r : -EIO);
}

/* One message from the child: returns its type, 0 at EOF (the child exec'd
 * or exited), or -errno.  out: op, errno, step, arg, received fd (or -1). */
int bk_read_msg(int sock, int32_t *out) {
  int32_t m[BK_MSG_INTS];
  struct fd_msg fm;
  fd_msg_init(&fm, m, sizeof m);
  long n;
  do n = raw_syscall(SYS_recvmsg, sock, (long)&fm.mh, MSG_CMSG_CLOEXEC); while (n == -EINTR);
  if (n < 0) return (int)n;
  if (n == 0) return 0;
  if (n != sizeof m) return -EPROTO;
  for (int k = 1; k < BK_MSG_INTS; k++) out[k - 1] = m[k];
  out[BK_MSG_INTS - 1] = fd_msg_fd(&fm);
  return m[0];
}
