/* The log writer of a detached container (`bunker run -d`): a small process
 * outside the container (in bunker's pid namespace, so the container cannot
 * see it) that holds the read end of a pipe whose write end is the
 * container's stdout and stderr, and appends what it reads to <dir>/log,
 * rotating it as Docker's json-file driver does: when the current file would
 * pass MAX_SIZE it becomes log.1 (log.1 becomes log.2, ... up to
 * log.(MAX_FILE-1); the oldest is dropped).  It exits when the container's
 * last writer closes the pipe (the container is gone), so it keeps nothing
 * alive and needs no one to stop it; `bunker rm` waits for it by its recorded
 * pid (<dir>/log-writer).
 *
 * Two halves, one per binary:
 *  - bk_spawn_log_writer, in the shim (bunker): makes the pipe and starts the
 *    monitor program from a sealed memfd in --log-writer mode with the read
 *    end as its stdin (posix_spawn: nothing runs in the child but exec);
 *  - bk_log_writer, in the monitor (c/monitor.c dispatches to it). */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Starts the monitor program (IMAGE, IMAGE_LEN bytes) from a sealed memfd
 * with ARGS (LEN bytes of NUL-terminated arguments), in a session of its own,
 * with no environment: fd K of the new process is FDS[K] (-1: /dev/null) for
 * K < NFDS, nothing else stays open.  posix_spawn: nothing runs in the child
 * but exec.  *PID = its pid; returns 0 or -errno. */
int bk_spawn_monitor(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, const int *fds, int nfds, int32_t *pid) {
  char *argv[80];
  int argc = 0;
  for (uint32_t off = 0; off < len && argc < 79; off += (uint32_t)strlen(args + off) + 1) argv[argc++] = (char *)args + off;
  argv[argc] = NULL;
  int exe = bk_sealed_memfd(image, image_len);
  if (exe < 0) return exe;
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", exe);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  for (int k = 0; k < nfds; k++) {
    if (fds[k] >= 0) posix_spawn_file_actions_adddup2(&fa, fds[k], k);
    else posix_spawn_file_actions_addopen(&fa, k, "/dev/null", k ? O_WRONLY : O_RDONLY, 0);
  }
  sigset_t none, def;
  sigemptyset(&none);
  sigfillset(&def);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &def);
  /* a session of its own: the terminal's ^C and hang-up are not for it */
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *envp[] = {NULL}; /* it needs none: bunker's environment stays bunker's */
  pid_t child;
  int r = posix_spawn(&child, path, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(exe);
  if (r != 0) return -r;
  *pid = child;
  return 0;
}

/* Starts the writer: IMAGE is the monitor executable, ARGS LEN bytes of
 * NUL-terminated arguments.  out[0] = its pid, out[1] = the pipe's write end
 * (CLOEXEC; the container's stdout/stderr).  Returns 0 or -errno. */
int bk_spawn_log_writer(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int32_t *out) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  /* stdin: the pipe; stdout/stderr: /dev/null (never bunker's: a caller
   * reading `bunker run -d`'s output to its end must not wait for the writer) */
  int fds[3] = {p[0], -1, -1};
  int r = bk_spawn_monitor(image, image_len, args, len, fds, 3, &out[0]);
  close(p[0]);
  if (r < 0) {
    close(p[1]);
    return r;
  }
  out[1] = p[1];
  return 0;
}

/* ----------------------------------------------------------- the writer */

struct log {
  int dir;
  int fd;
  long long size, max_size;
  int max_file;
};

static int open_current(struct log *l, int flags) {
  l->fd = openat(l->dir, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0600);
  struct stat st;
  l->size = l->fd >= 0 && fstat(l->fd, &st) == 0 ? st.st_size : 0;
  return l->fd;
}

/* log -> log.1 -> ... -> log.(max_file-1), the oldest dropped; a new log */
static void rotate(struct log *l) {
  if (l->max_file <= 1) {
    if (l->fd >= 0 && ftruncate(l->fd, 0) < 0) { /* what cannot be cut is written on */ }
    l->size = 0;
    return;
  }
  char from[32], to[32];
  snprintf(to, sizeof to, "log.%d", l->max_file - 1);
  (void)unlinkat(l->dir, to, 0);
  for (int k = l->max_file - 2; k >= 1; k--) {
    snprintf(from, sizeof from, "log.%d", k);
    snprintf(to, sizeof to, "log.%d", k + 1);
    (void)renameat(l->dir, from, l->dir, to);
  }
  (void)renameat(l->dir, "log", l->dir, "log.1");
  if (l->fd >= 0) close(l->fd);
  (void)open_current(l, O_TRUNC);
}

/* what cannot be written (the state dir removed, a full disk) is dropped:
 * the container must never block on its own output */
static void put(struct log *l, const char *buf, size_t n) {
  while (n > 0 && l->fd >= 0) {
    ssize_t w = write(l->fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    buf += w;
    n -= (size_t)w;
    l->size += w;
  }
}

static long long arg_ll(const char *arg, const char *name, long long dflt) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 ? atoll(arg + n) : dflt;
}

/* Once the container's output has ended: its exit status, which its init
 * writes to DIR/exit (or the bunker that SIGKILLed the init, once it is
 * gone), as a number in CODE; 0, or -1 when DIR was removed meanwhile (rm -f).
 * No longer the log writer that rm waits for (NAME): an rm -f meanwhile
 * removes DIR, and this ends. */
static int wait_exit_code(const char *dir, const char *name, char *code, size_t size) {
  char path[4096];
  (void)prctl(PR_SET_NAME, name, 0, 0, 0);
  if (snprintf(path, sizeof path, "%s/exit", dir) >= (int)sizeof path) return -1;
  for (;;) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return -1; /* removed already (rm -f) */
    ssize_t n = fd >= 0 ? read(fd, code, size - 1) : -1;
    if (fd >= 0) close(fd);
    if (n > 0) {
      code[n] = 0;
      break;
    }
    usleep(100 * 1000); /* stdout closed, the command still runs (a daemon): wait for its end */
  }
  for (char *p = code; *p; p++)
    if (*p < '0' || *p > '9') *p = 0;
  return 0;
}

/* run -d --rm (VERB __finish: bunker removes what the container leaves, the
 * state dir, owned by subordinate ids maybe, and its cgroup) or a restart
 * policy (VERB __restart: bunker decides, and starts it again): this writer
 * becomes that bunker, outside the container as it is */
static __attribute__((noreturn)) void hand_over(const char *bunker, const char *verb, const char *dir, char *code) {
  char *argv[] = {"bunker", (char *)verb, (char *)dir, code, NULL};
  char *envp[] = {NULL};
  execve(bunker, argv, envp);
  _exit(0);
}

/* the --log-writer mode: --dir=DIR --max-size=BYTES (0: unbounded) --max-file=N
 * [--rm-finish=BUNKER | --restart=BUNKER] [--events=FILE --event-id=ID --event-attrs=MEMBERS] */
int bk_log_writer(int argc, char **argv) {
  (void)prctl(PR_SET_NAME, "bunker-log", 0, 0, 0);
  const char *dir = NULL, *rm_finish = NULL, *restart = NULL;
  struct bk_event_target ev = {0};
  struct log l = {.dir = -1, .fd = -1, .max_size = 0, .max_file = 1};
  for (int k = 1; k < argc; k++) {
    if (!strncmp(argv[k], "--dir=", 6)) dir = argv[k] + 6;
    if (!strncmp(argv[k], "--rm-finish=", 12)) rm_finish = argv[k] + 12;
    if (!strncmp(argv[k], "--restart=", 10)) restart = argv[k] + 10;
    (void)bk_event_arg(&ev, argv[k]);
    l.max_size = arg_ll(argv[k], "--max-size=", l.max_size);
    l.max_file = (int)arg_ll(argv[k], "--max-file=", l.max_file);
  }
  if (!dir) {
    fprintf(stderr, "bunker-log: started without --dir (it is started by bunker run -d)\n");
    return 125;
  }
  /* nothing inherited but the pipe (fd 0) and /dev/null (1, 2) */
  if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
    for (int fd = 3; fd < 1024; fd++) close(fd);
  if (chdir("/") < 0) { /* a relative --dir is never given */ }
  l.dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (l.dir >= 0) (void)open_current(&l, 0);
  static char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { /* every writer closed: the container is gone */
      char code[16] = "0";
      if (!rm_finish && !restart && !ev.file) return 0;
      if (wait_exit_code(dir, rm_finish ? "bunker-rm" : restart ? "bunker-restart" : "bunker-exit", code, sizeof code) < 0) return 0;
      bk_container_event(&ev, "die", atoi(code));
      if (rm_finish) hand_over(rm_finish, "__finish", dir, code);
      if (restart) hand_over(restart, "__restart", dir, code);
      return 0;
    }
    const char *p = buf;
    size_t left = (size_t)n;
    while (left > 0) {
      if (l.max_size <= 0 || l.size + (long long)left <= l.max_size) {
        put(&l, p, left);
        break;
      }
      /* what fits, cut after its last newline when it has one, then rotate */
      size_t room = l.size < l.max_size ? (size_t)(l.max_size - l.size) : 0;
      size_t cut = room;
      const char *nl = room ? memrchr(p, '\n', room) : NULL;
      if (nl) cut = (size_t)(nl - p) + 1;
      put(&l, p, cut);
      p += cut;
      left -= cut;
      rotate(&l);
    }
  }
}
