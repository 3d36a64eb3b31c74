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
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
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
 * NUL-terminated arguments.  TTY >= 0: a terminal's master, the writer's one
 * stream (fd 0), read and written; otherwise a pipe for stdout (fd 0), with
 * FLAGS & 1 one for stderr (fd 3), with FLAGS & 2 one for stdin (fd 4: the
 * writer holds its write end).  out[0] = its pid, out[1] = stdout's write end,
 * out[2] = stderr's, out[3] = stdin's read end (CLOEXEC, -1 when not made:
 * the container's ends).  Returns 0 or -errno. */
int bk_spawn_log_writer(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int flags, int tty, int32_t *out) {
  int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int r = 0;
  for (int k = 0; k < 3 && tty < 0 && r == 0; k++)
    if ((k == 0 || flags & k) && pipe2(p[k], O_CLOEXEC) < 0) r = -errno;
  /* fd 0: stdout (or the terminal); 1, 2: /dev/null (never bunker's: a caller
   * reading `bunker run -d`'s output to its end must not wait for the writer);
   * 3: stderr; 4: stdin's write end */
  int fds[5] = {tty >= 0 ? tty : p[0][0], -1, -1, p[1][0], p[2][1]};
  if (r == 0) r = bk_spawn_monitor(image, image_len, args, len, fds, 5, &out[0]);
  for (int k = 0; k < 3; k++) {
    int ours = k == 2 ? p[k][1] : p[k][0], theirs = k == 2 ? p[k][0] : p[k][1];
    if (ours >= 0) close(ours);
    if (r < 0 && theirs >= 0) close(theirs);
    out[k + 1] = r < 0 ? -1 : theirs;
  }
  return r;
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

/* Records are gathered here and written once per read (a line per write
 * would be a system call per line of a chatty container). */
static char out_buf[1 << 18];
static size_t out_len;

/* what cannot be written (the state dir removed, a full disk) is dropped:
 * the container must never block on its own output */
static void put(struct log *l, const char *p, size_t n) {
  while (n > 0 && l->fd >= 0) {
    ssize_t w = write(l->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    l->size += w;
    p += w;
    n -= (size_t)w;
  }
}

static void flush_out(struct log *l) {
  put(l, out_buf, out_len);
  out_len = 0;
}

/* the time of what the last read brought, as records begin with it */
static char stamp[64];

static void take_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* One record of the CRI log format (what conmon and containerd write for
 * Kubernetes): "TIME STREAM F|P CONTENT\n", TIME RFC 3339 in UTC with
 * nanoseconds (fixed width: records sort as text), F a whole line (its
 * newline is the record's), P a part of one (no newline yet).  A file is
 * rotated between records. */
static void record(struct log *l, const char *stream, const char *p, size_t n, int whole) {
  char head[96];
  int h = snprintf(head, sizeof head, "%s %s %c ", stamp, stream, whole ? 'F' : 'P');
  size_t total = (size_t)h + n + 1;
  if (l->max_size > 0 && l->size + (long long)out_len > 0 && l->size + (long long)(out_len + total) > l->max_size) {
    flush_out(l);
    rotate(l);
  }
  if (out_len + total > sizeof out_buf) flush_out(l);
  if (total > sizeof out_buf) { /* a record larger than the buffer: written as it is */
    put(l, head, (size_t)h);
    put(l, p, n);
    put(l, "\n", 1);
    return;
  }
  memcpy(out_buf + out_len, head, (size_t)h);
  memcpy(out_buf + out_len + h, p, n);
  out_buf[out_len + h + n] = '\n';
  out_len += total;
}

/* One output stream.  A pipe's line cut by a read waits here for its end,
 * for up to PARTIAL_MS or until PARTIAL_MAX bytes of it came: a line is one
 * record then (what `logs --tail N` counts), and a prompt still shows soon.  A
 * terminal's output is recorded as it comes (its echo must show at once). */
#define PARTIAL_MAX 16384
#define PARTIAL_MS 50

struct stream {
  int fd;
  const char *name;
  int wait_lines;
  char part[PARTIAL_MAX];
  size_t len;
};

static void flush_part(struct log *l, struct stream *s) {
  if (s->len) record(l, s->name, s->part, s->len, 0);
  s->len = 0;
  flush_out(l);
}

/* a chunk read from S: a record per line; the rest (no newline yet) kept, or a partial record */
static void chunk(struct log *l, struct stream *s, const char *p, size_t n) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    if (!nl) {
      if (!s->wait_lines || s->len + n > PARTIAL_MAX) {
        flush_part(l, s);
        if (!s->wait_lines || n >= PARTIAL_MAX) return record(l, s->name, p, n, 0);
      }
      memcpy(s->part + s->len, p, n);
      s->len += n;
      return;
    }
    size_t len = (size_t)(nl - p);
    if (s->len) {
      if (s->len + len <= PARTIAL_MAX) {
        memcpy(s->part + s->len, p, len);
        s->len += len;
        record(l, s->name, s->part, s->len, 1);
        s->len = 0;
      } else {
        flush_part(l, s);
        record(l, s->name, p, len, 1);
      }
    } else {
      record(l, s->name, p, len, 1);
    }
    p += len + 1;
    n -= len + 1;
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

/* ------------------------------------------------- stdin and the window */

/* Who may write to the container's stdin (a pipe, or the terminal): clients
 * of the unix socket DIR/attach, each starting with one line: "stdin\n" and
 * then its bytes (its end of input, with --stdin-once, closes the pipe, as
 * Docker's StdinOnce: `docker run -i` ends its container's input so), or
 * "resize ROWS COLS\n" for the terminal's window.  One read is passed on
 * before the next is taken, so a container that does not read holds its
 * writers up instead of this process's memory. */
#define MAX_CLIENTS 16

struct input {
  int fd;      /* the pipe's write end or the terminal's master; -1 once closed */
  int tty;     /* fd is the master: resize applies, it is never closed */
  int once;
  int stdin_open; /* -i: "stdin" clients are taken (a terminal without it is only resized) */
  int listen;
  int client[MAX_CLIENTS];
  int streaming[MAX_CLIENTS];
  char pend[4096];
  size_t len, off;
};

static void drop_client(struct input *in, int k) {
  close(in->client[k]);
  in->client[k] = -1;
  in->streaming[k] = 0;
}

/* the first line of client K: what it is */
static void client_head(struct input *in, int k) {
  char b[sizeof in->pend];
  ssize_t n = read(in->client[k], b, sizeof b);
  if (n <= 0) return drop_client(in, k);
  char *nl = memchr(b, '\n', (size_t)n);
  if (!nl) return drop_client(in, k);
  *nl = 0;
  unsigned rows, cols;
  if (sscanf(b, "resize %u %u", &rows, &cols) == 2) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    int ok = in->tty && ioctl(in->fd, TIOCSWINSZ, &ws) == 0;
    if (write(in->client[k], ok ? "ok\n" : "no terminal\n", ok ? 3 : 12) < 0) { /* it has gone */ }
    return drop_client(in, k);
  }
  if (strcmp(b, "stdin") != 0 || in->fd < 0 || !in->stdin_open) return drop_client(in, k);
  in->streaming[k] = 1;
  size_t rest = (size_t)n - (size_t)(nl + 1 - b);
  memcpy(in->pend, nl + 1, rest);
  in->len = rest;
  in->off = 0;
}

static void client_data(struct input *in, int k) {
  ssize_t n = read(in->client[k], in->pend, sizeof in->pend);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) {
    in->len = (size_t)n;
    in->off = 0;
    return;
  }
  drop_client(in, k);
  if (in->once && !in->tty && in->fd >= 0) {
    close(in->fd);
    in->fd = -1;
  }
}

static void flush_input(struct input *in) {
  while (in->off < in->len && in->fd >= 0) {
    ssize_t w = write(in->fd, in->pend + in->off, in->len - in->off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w < 0) { /* the container closed its stdin: what comes is dropped */
      in->off = in->len;
      break;
    }
    in->off += (size_t)w;
  }
  if (in->off >= in->len) in->len = in->off = 0;
}

static int listen_attach(int dir) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d/attach", dir);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  (void)unlinkat(dir, "attach", 0);
  mode_t old = umask(0177);
  int r = s >= 0 ? bind(s, (struct sockaddr *)&a, sizeof a) : -1;
  umask(old);
  if (r < 0 || listen(s, 8) < 0) {
    if (s >= 0) close(s);
    return -1;
  }
  return s;
}

/* the --log-writer mode: --dir=DIR --max-size=BYTES (0: unbounded) --max-file=N
 * [--rm-finish=BUNKER | --restart=BUNKER] [--events=FILE --event-id=ID --event-attrs=MEMBERS]
 * [--stderr: fd 3 is stderr's pipe] [--stdin: fd 4 stdin's, or with --tty the terminal takes input]
 * [--tty: fd 0 is a terminal's master]
 * [--stdin-once] */
int bk_log_writer(int argc, char **argv) {
  (void)prctl(PR_SET_NAME, "bunker-log", 0, 0, 0);
  const char *dir = NULL, *rm_finish = NULL, *restart = NULL;
  struct bk_event_target ev = {0};
  struct log l = {.dir = -1, .fd = -1, .max_size = 0, .max_file = 1};
  int err_fd = -1, tty = 0;
  struct input in = {.fd = -1, .listen = -1};
  for (int k = 1; k < argc; k++) {
    if (!strncmp(argv[k], "--dir=", 6)) dir = argv[k] + 6;
    if (!strncmp(argv[k], "--rm-finish=", 12)) rm_finish = argv[k] + 12;
    if (!strncmp(argv[k], "--restart=", 10)) restart = argv[k] + 10;
    (void)bk_event_arg(&ev, argv[k]);
    if (!strcmp(argv[k], "--stderr")) err_fd = 3;
    if (!strcmp(argv[k], "--stdin")) in.stdin_open = 1;
    if (!strcmp(argv[k], "--tty")) tty = 1;
    if (!strcmp(argv[k], "--stdin-once")) in.once = 1;
    l.max_size = arg_ll(argv[k], "--max-size=", l.max_size);
    l.max_file = (int)arg_ll(argv[k], "--max-file=", l.max_file);
  }
  if (!dir) {
    fprintf(stderr, "bunker-log: started without --dir (it is started by bunker run -d)\n");
    return 125;
  }
  if (tty) {
    in.fd = 0;
    in.tty = 1;
    err_fd = -1;
  } else if (in.stdin_open) {
    in.fd = 4;
  }
  /* nothing inherited but the streams (0, 3, 4) and /dev/null (1, 2) */
  int first_closed = in.fd == 4 ? 5 : err_fd == 3 ? 4 : 3;
  if (syscall(SYS_close_range, first_closed, ~0U, 0) < 0)
    for (int fd = first_closed; fd < 1024; fd++) close(fd);
  if (err_fd < 0 && in.fd != 4) (void)close(3);
  if (in.fd != 4) (void)close(4);
  if (chdir("/") < 0) { /* a relative --dir is never given */ }
  l.dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (l.dir >= 0) (void)open_current(&l, 0);
  if (in.fd >= 0) {
    (void)fcntl(in.fd, F_SETFL, fcntl(in.fd, F_GETFL) | O_NONBLOCK);
    in.listen = l.dir >= 0 ? listen_attach(l.dir) : -1;
  }
  for (int k = 0; k < MAX_CLIENTS; k++) in.client[k] = -1;
  signal(SIGPIPE, SIG_IGN); /* a stdin whose reader has gone: EPIPE, dropped */
  static char buf[65536];
  static struct stream out[2];
  out[0] = (struct stream){.fd = 0, .name = "stdout", .wait_lines = !tty};
  out[1] = (struct stream){.fd = err_fd, .name = "stderr", .wait_lines = 1};
  for (;;) {
    struct pollfd p[3 + MAX_CLIENTS];
    int n = 0, at[3 + MAX_CLIENTS], waiting = 0;
    for (int s = 0; s < 2; s++) {
      if (out[s].fd >= 0) p[n] = (struct pollfd){out[s].fd, POLLIN, 0}, at[n++] = -1 - s;
      waiting |= out[s].len > 0;
    }
    if (!n) break; /* every writer closed: the container is gone */
    if (in.len && in.fd >= 0) p[n] = (struct pollfd){in.fd, POLLOUT, 0}, at[n++] = -10;
    if (in.listen >= 0) p[n] = (struct pollfd){in.listen, POLLIN, 0}, at[n++] = -11;
    for (int k = 0; k < MAX_CLIENTS; k++)
      if (in.client[k] >= 0 && !in.len) p[n] = (struct pollfd){in.client[k], POLLIN, 0}, at[n++] = k;
    int ready = poll(p, (nfds_t)n, waiting ? PARTIAL_MS : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (ready == 0)
      for (int s = 0; s < 2; s++) flush_part(&l, &out[s]); /* a line that has waited long enough */
    for (int j = 0; j < n; j++) {
      if (!p[j].revents) continue;
      if (at[j] <= -1 && at[j] >= -2) {
        struct stream *s = &out[-1 - at[j]];
        ssize_t r = read(s->fd, buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) { /* EOF, or EIO: the terminal's last slave closed */
          flush_part(&l, s);
          if (s->fd != in.fd) close(s->fd);
          s->fd = -1;
          continue;
        }
        take_time();
        chunk(&l, s, buf, (size_t)r);
        flush_out(&l);
      } else if (at[j] == -10) {
        flush_input(&in);
      } else if (at[j] == -11) {
        int c = accept4(in.listen, NULL, NULL, SOCK_CLOEXEC);
        int k = 0;
        while (k < MAX_CLIENTS && in.client[k] >= 0) k++;
        if (c >= 0 && k < MAX_CLIENTS) in.client[k] = c;
        else if (c >= 0) close(c);
      } else if (in.client[at[j]] >= 0) {
        if (!in.streaming[at[j]]) client_head(&in, at[j]);
        else client_data(&in, at[j]);
        flush_input(&in);
      }
    }
  }
  if (in.listen >= 0) (void)unlinkat(l.dir, "attach", 0);
  /* every writer closed: the container is gone */
  char code[16] = "0";
  if (!rm_finish && !restart && !ev.file) return 0;
  if (wait_exit_code(dir, rm_finish ? "bunker-rm" : restart ? "bunker-restart" : "bunker-exit", code, sizeof code) < 0) return 0;
  bk_container_event(&ev, "die", atoi(code));
  if (rm_finish) hand_over(rm_finish, "__finish", dir, code);
  if (restart) hand_over(restart, "__restart", dir, code);
  return 0;
}
