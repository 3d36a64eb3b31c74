/* bunker shim, host.c: Small helpers bunker calls through bun:ffi in its own process (never in the child): mkfifo,
 * the shared user namespace's check, stat of the launch record, reaping, subreaper, pidfd waits, and an API
 * server's pipes, window sizes and exit polls for the execs it runs. */
#define _GNU_SOURCE
#include "child.h"

#include <termios.h>


int bk_mkfifo(const char *path, int mode) { return mkfifo(path, (mode_t)mode) < 0 ? -errno : 0; }

/* the shared user namespace's every-run check (src/container/userns.ts) in
 * one call, as bk_stat_dirs: PATH (/proc/PID/ns/user) opened if its inode
 * number, as decimal text, is INO (the holder record's).  The fd
 * (close-on-exec), or -errno; -ESTALE: another namespace. */
int bk_open_ns(const char *path, const char *ino) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  char text[24];
  text[fmt_uint(text, (uint64_t)st.st_ino)] = 0;
  if (strcmp(text, ino) != 0) {
    close(fd);
    return -ESTALE;
  }
  return fd;
}

int bk_close(int fd) { return close(fd) < 0 ? -errno : 0; }

/* run IMAGE's launch record check (src/image/launch-cache.ts) in one call
 * instead of a JavaScript stat and a stat per layer, whose first calls cost
 * about a millisecond: BUF is LEN bytes of NUL-terminated paths, a file then
 * directories.  out[0..7]: the file's inode, size, mtime seconds and
 * nanoseconds, each as low and high 32 bits.  Returns 0, -errno of the
 * file's stat, or K >= 1 when the K-th directory is not one. */
int bk_stat_dirs(const char *buf, uint32_t len, uint32_t *out) {
  struct stat st;
  if (len == 0 || buf[len - 1] != 0) return -EINVAL;
  if (stat(buf, &st) < 0) return -errno;
  const uint64_t v[4] = {(uint64_t)st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
  for (int k = 0; k < 4; k++) {
    out[2 * k] = (uint32_t)v[k];
    out[2 * k + 1] = (uint32_t)(v[k] >> 32);
  }
  int k = 0;
  for (uint32_t off = (uint32_t)strlen(buf) + 1; off < len; off += (uint32_t)strlen(buf + off) + 1) {
    k++;
    if (stat(buf + off, &st) < 0 || !S_ISDIR(st.st_mode)) return k;
  }
  return 0;
}

/* waits for our child PID to exit (no signal forwarding, unlike bk_supervise):
 * its wait status, or -errno */
int bk_reap(int pid) {
  int st;
  int r;
  do r = waitpid(pid, &st, __WALL); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : st;
}

int bk_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0; }

/* waits up to TIMEOUT_MS (-1: forever) for PID (not necessarily our child) to
 * exit; out[0] = 1 if it exited.  Returns 0 or -errno. */
int bk_pidfd_wait(int pid, int timeout_ms, int32_t *out) {
  out[0] = 0;
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    if (errno == ESRCH) { out[0] = 1; return 0; }
    return -errno;
  }
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (r < 0) return -e;
  out[0] = r > 0;
  return 0;
}

/* PID, our child (or ours as subreaper), if it has exited: out[0] = 1, out[1]
 * its exit code, out[2] its signal; out[0] = 0 while it runs.  Never blocks
 * (an API server polls the execs it started).  Returns 0 or -errno. */
int bk_try_reap(int pid, int32_t *out) {
  int st, r;
  do r = waitpid(pid, &st, WNOHANG | __WALL); while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  out[0] = r > 0;
  out[1] = r > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 0;
  out[2] = r > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return 0;
}

/* a pipe, both ends CLOEXEC: out[0] read, out[1] write.  Returns 0 or -errno. */
int bk_pipe(int32_t *out) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  out[0] = p[0];
  out[1] = p[1];
  return 0;
}

/* the window size of the terminal whose master is FD.  Returns 0 or -errno. */
int bk_set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* bunker attach: FD's terminal settings into SAVED (LEN bytes), then FD made
 * raw as docker's client makes it (cfmakeraw: no echo, no signals, no output
 * processing, so the container's terminal alone turns \n into \r\n).
 * Returns 0 or -errno. */
int bk_tty_raw(int fd, uint8_t *saved, uint32_t len) {
  struct termios t;
  if (len < sizeof t) return -EINVAL;
  if (tcgetattr(fd, &t) < 0) return -errno;
  memcpy(saved, &t, sizeof t);
  cfmakeraw(&t);
  return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

/* FD's terminal settings back as bk_tty_raw saved them (after what was written is sent) */
int bk_tty_restore(int fd, const uint8_t *saved, uint32_t len) {
  struct termios t;
  if (len < sizeof t) return -EINVAL;
  memcpy(&t, saved, sizeof t);
  return tcsetattr(fd, TCSADRAIN, &t) < 0 ? -errno : 0;
}
