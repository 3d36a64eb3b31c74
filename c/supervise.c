/* bunker's supervision: what waits for a container and forwards signals to
 * it.  Linked into the shim (bunker supervises in-process, and hands over to
 * the monitor) and into the monitor (c/monitor.c, a static program that
 * replaces bunker while a container runs, and is an init's PID 1).  Plain
 * libc, no Linux-specific headers: the monitor is built with musl where
 * available, to stay small (it is read from the executable on every run). */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* ------------------------------------------------------------ supervision */

static int sigpipe_r = -1, sigpipe_w = -1;
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NFWD (int)(sizeof forwarded / sizeof forwarded[0])
static struct sigaction saved_actions[NFWD];

static void on_signal(int sig) {
  int e = errno;
  unsigned char b = (unsigned char)sig;
  if (write(sigpipe_w, &b, 1) < 0) { /* the pipe is full: the signal is already pending */ }
  errno = e;
}

static void forwarding_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int k = 0; k < NFWD; k++) sigaction(forwarded[k], &sa, &saved_actions[k]);
}

/* Catch the signals bunker forwards from before the clone on, so one that
 * arrives while the container starts is queued, not lost (SIGWINCH's default
 * is to be ignored, SIGTERM's to kill bunker and orphan the container). */
static int forwarding_begin(void) {
  if (sigpipe_w >= 0) return 0;
  int sp[2];
  if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
  sigpipe_r = sp[0];
  sigpipe_w = sp[1];
  forwarding_install();
  return 0;
}

/* run: start catching the forwarded signals before the clone */
int bk_forward_signals(void) { return forwarding_begin(); }

/* the monitor (c/monitor.c): go on with the self-pipe bunker had before it
 * exec'd the monitor, so a signal caught by bunker is not lost */
void bk_forward_signals_on(int r, int w) {
  sigpipe_r = r;
  sigpipe_w = w;
  (void)fcntl(r, F_SETFD, FD_CLOEXEC);
  (void)fcntl(w, F_SETFD, FD_CLOEXEC);
  forwarding_install();
}

/* IMAGE (the monitor executable) in a sealed memfd (CLOEXEC): what can be
 * exec'd without a file on disk, and what a container cannot rewrite through
 * /proc/1/exe (the CVE-2019-5736 class).  Returns the fd or -errno. */
int bk_sealed_memfd(const uint8_t *image, uint32_t image_len) {
  int fd = memfd_create("bunker-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  for (uint32_t off = 0; off < image_len;) {
    ssize_t w = write(fd, image + off, image_len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return -e;
    }
    off += (uint32_t)w;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* Replaces bunker (a 40 MB Bun process) by the small monitor while the
 * container runs: same pid, so the container stays our child and its
 * parent-death signal stays armed.  IMAGE is the monitor executable, written
 * to a sealed memfd (nothing on disk to go stale or be replaced); ARGS are
 * LEN bytes of NUL-terminated arguments.  The forwarded signals are blocked
 * across the exec and the self-pipe is inherited (its fds are appended to
 * the arguments), so a signal that arrives meanwhile is delivered by the
 * monitor.  KEEP (or -1) is an fd the monitor needs (the pty master).
 * Returns only on failure: -errno, with everything as it was. */
int bk_exec_monitor(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int keep) {
  if (sigpipe_w < 0) return -EINVAL;
  int fd = bk_sealed_memfd(image, image_len);
  if (fd < 0) return fd;
  char *argv[64];
  int argc = 0;
  for (uint32_t off = 0; off < len && argc < 60; off += (uint32_t)strlen(args + off) + 1) argv[argc++] = (char *)args + off;
  char pipes[32];
  snprintf(pipes, sizeof pipes, "--sigpipe=%d,%d", sigpipe_r, sigpipe_w);
  argv[argc++] = pipes;
  argv[argc] = NULL;
  sigset_t block, old;
  sigemptyset(&block);
  for (int k = 0; k < NFWD; k++) sigaddset(&block, forwarded[k]);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  (void)fcntl(sigpipe_r, F_SETFD, 0);
  (void)fcntl(sigpipe_w, F_SETFD, 0);
  if (keep >= 0) (void)fcntl(keep, F_SETFD, 0);
  extern char **environ;
  syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
  int e = errno;
  (void)fcntl(sigpipe_r, F_SETFD, FD_CLOEXEC);
  (void)fcntl(sigpipe_w, F_SETFD, FD_CLOEXEC);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(fd);
  return -e;
}

static void forwarding_end(void) {
  if (sigpipe_w < 0) return;
  for (int k = 0; k < NFWD; k++) sigaction(forwarded[k], &saved_actions[k], NULL);
  close(sigpipe_r);
  close(sigpipe_w);
  sigpipe_r = sigpipe_w = -1;
}

static void write_all(int fd, const char *buf, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, (size_t)n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 100);
        continue;
      }
      return;
    }
    buf += w;
    n -= w;
  }
}

/* Waits for PID, forwarding bunker's signals to it and relaying the pty.
 * flags: 1 = relay stdin to the pty (-i).  out: exit code or -1, signal or 0.
 * Returns 0 or -errno. */
int bk_supervise(int pid, int pty, int flags, int32_t *out) {
  int r0 = forwarding_begin();
  if (r0 < 0) return r0;
  int sp[2] = {sigpipe_r, sigpipe_w};
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  struct termios saved;
  int raw = 0;
  int relay_in = (flags & 1) && pty >= 0;
  if (pty >= 0 && relay_in && isatty(0) && tcgetattr(0, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    if (tcsetattr(0, TCSANOW, &t) == 0) raw = 1;
  }
  if (pty >= 0 && isatty(0)) {
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) (void)ioctl(pty, TIOCSWINSZ, &ws);
  }
  char buf[16384];
  int done = 0, rc = 0;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (!done) {
    struct pollfd p[4];
    int n = 0, ipid = -1, isig, iin = -1, ipty = -1;
    if (pidfd >= 0) { ipid = n; p[n++] = (struct pollfd){pidfd, POLLIN, 0}; }
    isig = n; p[n++] = (struct pollfd){sp[0], POLLIN, 0};
    if (relay_in) { iin = n; p[n++] = (struct pollfd){0, POLLIN, 0}; }
    if (pty >= 0) { ipty = n; p[n++] = (struct pollfd){pty, POLLIN, 0}; }
    int r = poll(p, (nfds_t)n, pidfd >= 0 ? -1 : 50);
    if (r < 0 && errno != EINTR) { rc = -errno; break; }
    if (r > 0 && (p[isig].revents & POLLIN)) {
      unsigned char sigs[64];
      ssize_t k = read(sp[0], sigs, sizeof sigs);
      for (ssize_t j = 0; j < k; j++) {
        if (sigs[j] == SIGWINCH && pty >= 0) {
          struct winsize ws;
          if (ioctl(0, TIOCGWINSZ, &ws) == 0) (void)ioctl(pty, TIOCSWINSZ, &ws);
        } else {
          kill(pid, sigs[j]);
        }
      }
    }
    if (iin >= 0 && r > 0 && (p[iin].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = read(0, buf, sizeof buf);
      if (k > 0) write_all(pty, buf, k);
      else if (k == 0 || errno != EINTR) {
        relay_in = 0;
        if (!raw) write_all(pty, "\x04", 1); /* EOF for the line discipline */
      }
    }
    if (ipty >= 0 && r > 0 && (p[ipty].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = read(pty, buf, sizeof buf);
      if (k > 0) write_all(1, buf, k);
      else if (k == 0 || (errno != EINTR && errno != EAGAIN)) pty = -1; /* EIO: every slave fd closed */
    }
    int exited = 0;
    if (ipid >= 0 && r > 0 && (p[ipid].revents & POLLIN)) exited = 1;
    if (pidfd < 0 || exited) {
      if (waitid(P_PID, (id_t)pid, &si, WEXITED | (exited ? 0 : WNOHANG)) == 0 && si.si_pid == pid) done = 1;
      else if (errno == ECHILD) { rc = -ECHILD; break; }
    }
  }
  /* drain what the container wrote before it exited */
  while (pty >= 0) {
    struct pollfd p = {pty, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    ssize_t k = read(pty, buf, sizeof buf);
    if (k <= 0) break;
    write_all(1, buf, k);
  }
  if (raw) tcsetattr(0, TCSADRAIN, &saved);
  forwarding_end();
  if (pidfd >= 0) close(pidfd);
  if (done) {
    out[0] = si.si_code == CLD_EXITED ? si.si_status : -1;
    out[1] = si.si_code == CLD_EXITED ? 0 : si.si_status;
  }
  return rc;
}
