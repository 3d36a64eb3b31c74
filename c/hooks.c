/* bunker shim, hooks.c: OCI startContainer hooks, run in the container after exec.fifo and before the program. */
#define _GNU_SOURCE
#include "child.h"

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the hook failed: tell `bunker start` (through exec.fifo) and end here, so
 * the container's program never runs */
static __attribute__((noreturn)) void hook_failed(struct child *c, int32_t index, int32_t kind, int32_t value,
                                                  const char *output, size_t len) {
  int32_t rec[3] = {index, kind, value};
  if (c->fifowfd >= 0) {
    if (write(c->fifowfd, rec, sizeof rec) == (ssize_t)sizeof rec && len > 0 && write(c->fifowfd, output, len) < 0) {
      /* start has the record; the output is a nicety */
    }
  }
  fail(c, kind == BK_HOOK_NOEXEC ? value : ECANCELED, BK_STEP_HOOK, index, 125);
}

/* Runs the hook with the state JSON ({before}{host pid}{after}) on its stdin
 * and its stdout+stderr captured, killing it at the timeout. */
void op_hook(struct child *c, const struct op *op) {
  if (c->fifo_deferred) { /* hooks run here, after start: wait in place */
    c->fifo_deferred = 0;
    fifo_wait_here(c);
  }
  char *argv[MAX_ARGS + 1], *envp[MAX_ARGS + 1]; /* on the child's stack; op_exec's frame is not live yet */
  int32_t index = (int32_t)op_int(op, BK_I_HOOK_INDEX);
  int64_t timeout_ms = op_int(op, BK_I_HOOK_TIMEOUT) * 1000;
  uint32_t argc = (uint32_t)op_int(op, BK_I_HOOK_ARGC), envc = (uint32_t)op_int(op, BK_I_HOOK_ENVC);
  if (argc > MAX_ARGS || envc > MAX_ARGS) hook_failed(c, index, BK_HOOK_NOEXEC, E2BIG, NULL, 0);
  const char *path, *state[3];
  uint32_t slen3[3];
  const uint8_t *p = str_next(op->s, &path, NULL);
  p = str_next(p, &state[0], &slen3[0]);
  p = str_next(p, &state[2], &slen3[2]);
  for (uint32_t k = 0; k < argc; k++) p = str_next(p, (const char **)&argv[k], NULL);
  argv[argc] = NULL;
  for (uint32_t k = 0; k < envc; k++) p = str_next(p, (const char **)&envp[k], NULL);
  envp[envc] = NULL;
  char pid[10];
  state[1] = pid;
  slen3[1] = (uint32_t)fmt_uint(pid, (unsigned)c->hostpid);

  /* a hook that exits without reading its stdin must give EPIPE, not kill us (op_exec resets it) */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  (void)sigaction(SIGPIPE, &ign, NULL);
  int in[2], out[2], ex[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0)
    hook_failed(c, index, BK_HOOK_NOEXEC, errno, NULL, 0);
  /* raw clone: glibc's fork() takes malloc locks another Bun thread may have held */
  pid_t h = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (h < 0) hook_failed(c, index, BK_HOOK_NOEXEC, errno, NULL, 0);
  if (h == 0) {
    reset_signals();
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0) _exit(127);
    execve(path, argc ? argv : (char *[]){(char *)path, NULL}, envp);
    int e = errno;
    if (write(ex[1], &e, sizeof e) < 0) { /* the exit status still says it failed */ }
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(ex[1]);
  (void)fcntl(in[1], F_SETFL, O_NONBLOCK); /* a hook that does not read its stdin must not block us past the timeout */
  int pidfd = (int)syscall(SYS_pidfd_open, h, 0);
  char said[BK_HOOK_OUTPUT], scratch[512];
  size_t nsaid = 0;
  int part = 0, wfd = in[1], rfd = out[0], timed_out = 0;
  uint32_t done = 0;
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
  for (;;) {
    struct pollfd pf[3];
    int n = 0, ipid = -1, iw = -1, ir = -1;
    if (pidfd >= 0) { ipid = n; pf[n++] = (struct pollfd){pidfd, POLLIN, 0}; }
    if (wfd >= 0) { iw = n; pf[n++] = (struct pollfd){wfd, POLLOUT, 0}; }
    if (rfd >= 0) { ir = n; pf[n++] = (struct pollfd){rfd, POLLIN, 0}; }
    int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
    if (deadline >= 0 && wait <= 0) { timed_out = 1; break; }
    if (pidfd < 0 && (wait < 0 || wait > 50)) wait = 50; /* no pidfd: poll for the exit */
    int r = poll(pf, (nfds_t)n, wait);
    if (r < 0 && errno != EINTR) break;
    if (iw >= 0 && r > 0 && pf[iw].revents) {
      while (part < 3) {
        ssize_t w = write(wfd, state[part] + done, slen3[part] - done);
        if (w < 0) break;
        done += (uint32_t)w;
        if (done == slen3[part]) { part++; done = 0; }
      }
      if (part == 3 || (errno != EAGAIN && errno != EINTR)) { close(wfd); wfd = -1; }
    }
    if (ir >= 0 && r > 0 && pf[ir].revents) {
      ssize_t k = read(rfd, nsaid < sizeof said ? said + nsaid : scratch, nsaid < sizeof said ? sizeof said - nsaid : sizeof scratch);
      if (k > 0 && nsaid < sizeof said) nsaid += (size_t)k;
      else if (k == 0 || (k < 0 && errno != EINTR)) { close(rfd); rfd = -1; }
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* exited: once its output is read (a grandchild holding the pipe open is not waited for) */
    if ((ipid < 0 || (r > 0 && pf[ipid].revents)) && rfd < 0 &&
        waitid(P_PID, (id_t)h, &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid == h)
      break;
    if (ipid >= 0 && r > 0 && pf[ipid].revents && rfd >= 0) {
      /* drain what it wrote, then stop listening */
      struct pollfd q = {rfd, POLLIN, 0};
      if (poll(&q, 1, 0) <= 0) { close(rfd); rfd = -1; }
    }
  }
  if (timed_out) kill(h, SIGKILL);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, (id_t)h, &si, WEXITED) < 0 && errno == EINTR) {}
  if (pidfd >= 0) close(pidfd);
  if (wfd >= 0) close(wfd);
  if (rfd >= 0) close(rfd);
  int exec_errno = 0;
  ssize_t k = read(ex[0], &exec_errno, sizeof exec_errno);
  close(ex[0]);
  if (timed_out) hook_failed(c, index, BK_HOOK_TIMEOUT, (int32_t)(timeout_ms / 1000), said, nsaid);
  if (k == (ssize_t)sizeof exec_errno) hook_failed(c, index, BK_HOOK_NOEXEC, exec_errno, said, nsaid);
  if (si.si_code != CLD_EXITED) hook_failed(c, index, BK_HOOK_SIGNALED, si.si_status, said, nsaid);
  if (si.si_status != 0) hook_failed(c, index, BK_HOOK_EXITED, si.si_status, said, nsaid);
}
