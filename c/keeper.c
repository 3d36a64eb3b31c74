/* The keeper of a container's network helper (pasta or slirp4netns): a small
 * process outside the container that runs the helper as its child and ends
 * it when the container's process exits, so no helper outlives its
 * container (src/net/helper.ts).  Neither helper notices by itself that its
 * namespace went away (pasta 2023-03 keeps running after its target pid
 * exits), and a detached container's bunker is long gone when it ends.
 *
 *  - the container's process is watched through a pidfd (poll), whoever
 *    its parent is: a SIGKILL of bunker (the container dies with it) or of
 *    the container ends the helper within the helper's SIGTERM grace;
 *  - the helper has PR_SET_PDEATHSIG = SIGKILL: should the keeper itself
 *    be killed, the helper goes too;
 *  - fd 3 is the helper's readiness pipe (pasta -P /proc/self/fd/3 writes its
 *    pid once the namespace is configured, slirp4netns --ready-fd=3 writes
 *    "1"): the keeper closes its copy, so bunker reads EOF when the helper
 *    dies before it is ready.
 *
 * Two halves, one per binary:
 *  - bk_spawn_keeper, in the shim (bunker): the pipe, and the monitor program
 *    started from a sealed memfd (bk_spawn_monitor, c/logwriter.c);
 *  - bk_keep_while, in the monitor (c/monitor.c dispatches --keep-while=PID). */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* out[0] = the keeper's pid, out[1] = the readiness pipe's read end
 * (CLOEXEC); the keeper's stderr (and the helper's) is ERRFD.  0 or -errno. */
int bk_spawn_keeper(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int errfd, int32_t *out) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  int fds[4] = {-1, -1, errfd, p[1]};
  int r = bk_spawn_monitor(image, image_len, args, len, fds, 4, &out[0]);
  close(p[1]);
  if (r < 0) {
    close(p[0]);
    return r;
  }
  out[1] = p[0];
  return 0;
}

/* the helper got SIGTERM: this long to exit before SIGKILL */
#define GRACE_MS 2000

static int wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {}
  return r;
}

int bk_keep_while(int target, char **argv) {
  (void)prctl(PR_SET_NAME, "bunker-net", 0, 0, 0);
  (void)syscall(SYS_close_range, 4, ~0U, 0); /* stdio and the readiness pipe only */
  /* no cwd of bunker's kept alive (nor the helper's): a keeper that ends a moment after the
   * container must not hold the file system bunker ran in busy (an umount right after rm fails EBUSY) */
  if (chdir("/") < 0) { /* "/" is always there */ }
  int tfd = (int)syscall(SYS_pidfd_open, target, 0);
  if (tfd < 0) {
    fprintf(stderr, "bunker: cannot watch the container process %d: %s\n", target, strerror(errno));
    return 125;
  }
  pid_t self = getpid();
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "bunker: cannot start %s: %s\n", argv[0], strerror(errno));
    return 125;
  }
  if (child == 0) {
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != self) _exit(125); /* the keeper died before the prctl */
    close(tfd);
    char *envp[] = {NULL};
    execve(argv[0], argv, envp);
    fprintf(stderr, "bunker: cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(3);
  int cfd = (int)syscall(SYS_pidfd_open, child, 0);
  struct pollfd p[2] = {{tfd, POLLIN, 0}, {cfd, POLLIN, 0}};
  for (;;) {
    if (poll(p, cfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break; /* the helper ended by itself */
    if (p[0].revents) {      /* the container is gone: so goes its helper */
      (void)syscall(SYS_pidfd_send_signal, cfd, SIGTERM, NULL, 0);
      if (wait_readable(cfd, GRACE_MS) == 0) (void)syscall(SYS_pidfd_send_signal, cfd, SIGKILL, NULL, 0);
      break;
    }
  }
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
