/* bunker shim, process.c: What turns the set-up child into the container's process: cwd, user, capabilities, seccomp,
 * writes to /proc, fds closed, stdio of a detached run, the parent-death signal, execve. */
#define _GNU_SOURCE
#include "child.h"

void op_chdir(struct child *c, const struct op *op) {
  char buf[PATH_BUF];
  if (chdir(op_str(op, BK_S_CHDIR_PATH, NULL)) < 0) fail(c, errno, BK_STEP_CHDIR, 0, 125);
  /* the kernel's getcwd says "(unreachable)..." for a directory outside our
   * root (a leaked host fd used as cwd: the CVE-2024-21626 class) */
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) fail(c, errno, BK_STEP_GETCWD, 0, 125);
  if (buf[0] != '/') fail(c, ENOENT, BK_STEP_OUTSIDE_THE_ROOT, 0, 125);
}

void op_user(struct child *c, const struct op *op) {
  gid_t groups[64];
  uint32_t n = op->nint > 2 ? op->nint - 2 : 0;
  if (n > 64) n = 64;
  for (uint32_t k = 0; k < n; k++) groups[k] = (gid_t)op_int(op, BK_I_USER_GROUPS + k);
  /* with setgroups denied (one-id map) only an empty list can be asked for,
   * and the call itself is refused: that is fine */
  if (syscall(SYS_setgroups, n, groups) < 0 && !(errno == EPERM && n == 0)) fail(c, errno, BK_STEP_SETGROUPS, 0, 125);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_KEEPCAPS, 0, 125);
  if (syscall(SYS_setresgid, (gid_t)op_int(op, BK_I_USER_GID), (gid_t)op_int(op, BK_I_USER_GID), (gid_t)op_int(op, BK_I_USER_GID)) < 0) fail(c, errno, BK_STEP_SETRESGID, 0, 125);
  if (syscall(SYS_setresuid, (uid_t)op_int(op, BK_I_USER_UID), (uid_t)op_int(op, BK_I_USER_UID), (uid_t)op_int(op, BK_I_USER_UID)) < 0) fail(c, errno, BK_STEP_SETRESUID, 0, 125);
}

void op_caps(struct child *c, const struct op *op) {
  uint64_t bounding = (uint64_t)op_int(op, BK_I_CAPS_BOUNDING), eff = (uint64_t)op_int(op, BK_I_CAPS_EFFECTIVE), perm = (uint64_t)op_int(op, BK_I_CAPS_PERMITTED);
  uint64_t inh = (uint64_t)op_int(op, BK_I_CAPS_INHERITABLE), amb = (uint64_t)op_int(op, BK_I_CAPS_AMBIENT);
  if (op_int(op, BK_I_CAPS_STAGE) == 0) {
    /* stage 0, still uid 0: shrink the bounding set.  The kernel's caps are
     * 0..cap_last_cap, and it refuses a drop with EINVAL only for a cap above
     * that (cap_valid): the first EINVAL ends the loop, every higher cap is
     * unknown too (a run's 50 drops were 28 here: 23 of them were EINVAL) */
    for (int cap = 0; cap <= 63; cap++) {
      if (bounding & (1ull << cap)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
        if (errno == EINVAL) break;
        fail(c, errno, BK_STEP_PR_CAPBSET_DROP, cap, 125);
      }
    }
    return;
  }
  /* stage 1, after setresuid: the process's own sets, then ambient */
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  d[0].effective = (uint32_t)eff;
  d[1].effective = (uint32_t)(eff >> 32);
  d[0].permitted = (uint32_t)perm;
  d[1].permitted = (uint32_t)(perm >> 32);
  d[0].inheritable = (uint32_t)inh;
  d[1].inheritable = (uint32_t)(inh >> 32);
  if (syscall(SYS_capset, &h, d) < 0) fail(c, errno, BK_STEP_CAPSET, 0, 125);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail(c, errno, BK_STEP_PR_CAP_AMBIENT_CLEAR_ALL, 0, 125);
  for (int cap = 0; cap <= 63; cap++) {
    if (!(amb & (1ull << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) fail(c, errno, BK_STEP_PR_CAP_AMBIENT_RAISE, cap, 125);
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_KEEPCAPS, 0, 125);
}

void op_seccomp(struct child *c, const struct op *op) {
  uint32_t len;
  const char *prog = op_str(op, BK_S_SECCOMP_FILTER, &len);
  /* the string record is 8-byte aligned + 4: copy to an aligned stack buffer */
  struct sock_filter filt[4096]; /* on the child's own stack: no static, the memory is shared (CLONE_VM) */
  if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 4096) fail(c, EINVAL, BK_STEP_FILTER_SIZE, 0, 125);
  memcpy(filt, prog, len);
  struct sock_fprog fp = {(unsigned short)(len / sizeof(struct sock_filter)), filt};
  unsigned flags = (unsigned)op_int(op, BK_I_SECCOMP_FLAGS);
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
  if (listener < 0) fail(c, errno, BK_STEP_SECCOMP, 0, 125);
  if (!(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return;
  /* SCMP_ACT_NOTIFY: the listener goes to bunker, which hands it with the
   * state to the agent at listenerPath; we go on at its "go", so a notified
   * syscall of ours or the program's finds the agent listening (until then
   * bunker holds the fd, and such a syscall would only wait) */
  int32_t msg[BK_MSG_INTS] = {BK_MSG_SECCOMP, 0, 0, 0, 0};
  if (send_with_fd(c->sock, msg, sizeof msg, (int)listener) < 0) fail(c, errno, BK_STEP_SEND_LISTENER, 0, 125);
  close((int)listener);
  wait_for_go(c);
}

/* the EXEC op's command can be found now (as runc's LookPath before the
 * fifo): a missing one fails create, reported as that op's error */
void check_exec(struct child *c) {
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  while (plan_next(&it, &op)) {
    if (op.code != BK_OP_EXEC) continue;
    uint32_t argc = (uint32_t)op_int(&op, BK_I_EXEC_ARGC), envc = (uint32_t)op_int(&op, BK_I_EXEC_ENVC);
    if (argc > MAX_ARGS || envc > MAX_ARGS) return; /* op_exec reports it */
    char *envp[MAX_ARGS + 1];
    const uint8_t *p = op.s;
    const char *file, *arg;
    p = str_next(p, &file, NULL);
    for (uint32_t k = 0; k < argc; k++) p = str_next(p, &arg, NULL);
    for (uint32_t k = 0; k < envc; k++) p = str_next(p, (const char **)&envp[k], NULL);
    envp[envc] = NULL;
    int err = bk_exec_lookup(file, envp);
    if (err) {
      c->op_index = it.index;
      fail(c, err, BK_STEP_LOOK_UP, 0, (err == ENOENT || err == ENOTDIR) ? 127 : 126);
    }
    return;
  }
}

void op_write(struct child *c, const struct op *op) {
  uint32_t len;
  const char *content = op_str(op, BK_S_WRITE_CONTENT, &len);
  int fd = open(op_str(op, BK_S_WRITE_PATH, NULL), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  if (write(fd, content, len) != (ssize_t)len) fail(c, errno, BK_STEP_WRITE, 0, 125);
  close(fd);
}

static void close_between(unsigned long long from, unsigned long long to) { /* [from, to) */
  if (from >= to) return;
  if (syscall(SYS_close_range, (unsigned)from, (unsigned)(to - 1), 0) < 0)
    for (unsigned long long fd = from; fd < to && fd < 65536; fd++) close((int)fd);
}

/* close every fd >= FROM except the sync socket and exec.fifo */
static void close_from_except(struct child *c, unsigned from) {
  unsigned long long lo = from, keep[4] = {(unsigned)c->sock, c->fifofd >= 0 ? (unsigned)c->fifofd : ~0ull,
                                           c->exitfd >= 0 ? (unsigned)c->exitfd : ~0ull,
                                           c->initfd >= 0 ? (unsigned)c->initfd : ~0ull};
  for (int i = 0; i < 4; i++) /* sort the four */
    for (int j = i + 1; j < 4; j++)
      if (keep[j] < keep[i]) { unsigned long long t = keep[i]; keep[i] = keep[j]; keep[j] = t; }
  for (int k = 0; k < 4; k++) {
    if (keep[k] == ~0ull || keep[k] < lo) continue;
    close_between(lo, keep[k]);
    lo = keep[k] + 1;
  }
  close_between(lo, 1ull << 32);
}

/* the monitor's memfd of the init or fifo-wait op (op_init, op_fifo_wait), which close-fds must keep; -1 if none */
static int plan_init_fd(struct child *c) {
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  while (plan_next(&it, &op))
    if (op.code == BK_OP_INIT || op.code == BK_OP_FIFO_WAIT) return (int)op_int(&op, op.code == BK_OP_INIT ? BK_I_INIT_EXE : BK_I_FIFO_WAIT_EXE);
  return -1;
}

/* Everything but stdio, the preserved fds, our sync socket and exec.fifo is
 * closed now, not only marked CLOEXEC: a create'd container may wait on the
 * fifo for a long time and must not hold bunker's lock or pipes meanwhile. */
void op_close_fds(struct child *c, const struct op *op) {
  unsigned first = (unsigned)op_int(op, BK_I_CLOSE_FDS_FIRST);
  if ((unsigned)c->sock < first) {
    /* keep our socket out of the preserved range */
    int s = fcntl(c->sock, F_DUPFD_CLOEXEC, (int)first);
    if (s < 0) fail(c, errno, BK_STEP_F_DUPFD_CLOEXEC, 0, 125);
    close(c->sock);
    c->sock = s;
  }
  c->initfd = plan_init_fd(c);
  int *kept[3] = {&c->fifofd, &c->exitfd, &c->initfd};
  for (int k = 0; k < 3; k++) {
    if (*kept[k] < 0 || (unsigned)*kept[k] >= first) continue;
    int f = fcntl(*kept[k], F_DUPFD_CLOEXEC, (int)first);
    if (f < 0) fail(c, errno, BK_STEP_F_DUPFD_CLOEXEC, 0, 125);
    close(*kept[k]);
    *kept[k] = f;
  }
  for (unsigned fd = 3; fd < first; fd++)
    if (fcntl((int)fd, F_SETFD, 0) < 0) fail(c, errno, BK_STEP_F_SETFD, (int)fd, 125);
  if (c->rootfd >= (int)first) c->rootfd = -1; /* closed below; no op after this resolves paths */
  close_from_except(c, first);
}

void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; s++)
    if (s != SIGKILL && s != SIGSTOP) (void)sigaction(s, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

void op_exec(struct child *c, const struct op *op) {
  /* on the child's stack (1 MiB); the first three slots are for the monitor's
   * wait (op_fifo_wait): bunker-start --start-fifo=FD FILE ARGV... */
  char *argv[MAX_ARGS + 4], *envp[MAX_ARGS + 1];
  uint32_t argc = (uint32_t)op_int(op, BK_I_EXEC_ARGC), envc = (uint32_t)op_int(op, BK_I_EXEC_ENVC);
  if (argc > MAX_ARGS || envc > MAX_ARGS) fail(c, E2BIG, BK_STEP_ARGUMENT_COUNT, 0, 125);
  const uint8_t *p = op->s;
  const char *file;
  p = str_next(p, &file, NULL);
  for (uint32_t k = 0; k < argc; k++) p = str_next(p, (const char **)&argv[k + 3], NULL);
  argv[argc + 3] = NULL;
  for (uint32_t k = 0; k < envc; k++) p = str_next(p, (const char **)&envp[k], NULL);
  envp[envc] = NULL;
  reset_signals();
  if (c->fifo_deferred) {
    char a1[32];
    argv[0] = "bunker-start";
    argv[1] = int_arg(a1, "--start-fifo=", c->fifofd);
    argv[2] = (char *)file;
    (void)fcntl(c->fifofd, F_SETFD, 0);
    syscall(SYS_execveat, c->initfd, "", argv, envp, AT_EMPTY_PATH);
    /* refused (seccomp, vm.memfd_noexec): wait here, exec directly */
    (void)fcntl(c->fifofd, F_SETFD, FD_CLOEXEC);
    c->fifo_deferred = 0;
    fifo_wait_here(c);
  }
  int err = bk_exec_path(file, argv + 3, envp);
  fail(c, err, BK_STEP_EXECVE, 0, (err == ENOENT || err == ENOTDIR) ? 127 : 126);
}

/* run: the container dies with bunker (SIGKILL to bunker must not orphan it).
 * Set last: a credential change (the user op) clears it.  A bunker that died
 * before this point sent no signal: its end of the sync socket is closed then
 * (a process's files go before its children are re-parented), so a hang-up
 * on ours means bunker is gone, and we go too. */
void op_pdeathsig(struct child *c, const struct op *op) {
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)op_int(op, BK_I_PDEATHSIG_SIGNAL), 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_PDEATHSIG, 0, 125);
  struct pollfd p = {c->sock, POLLRDHUP, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP))) _exit(125);
}

/* a detached run's or an exec's stdio: fds bunker made (the log writer's
 * pipes, an API exec's), stdin -1 from /dev/null */
void op_stdio(struct child *c, const struct op *op) {
  int in = (int)op_int(op, BK_I_STDIO_STDIN), out = (int)op_int(op, BK_I_STDIO_STDOUT), err = (int)op_int(op, BK_I_STDIO_STDERR);
  int null = -1;
  if (in < 0 && (in = null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) fail(c, errno, BK_STEP_OPEN_DEV_NULL, 0, 125);
  /* each moved above 2 first: a source that is one of 0..2 must not be overwritten before it is copied */
  int src[3] = {in, out, err};
  for (int k = 0; k < 3; k++)
    if ((src[k] = fcntl(src[k], F_DUPFD_CLOEXEC, 3)) < 0) fail(c, errno, BK_STEP_DUP2, k, 125);
  for (int k = 0; k < 3; k++)
    if (dup2(src[k], k) < 0) fail(c, errno, BK_STEP_DUP2, k, 125);
  for (int k = 0; k < 3; k++) close(src[k]);
  if (null >= 0) close(null);
}
