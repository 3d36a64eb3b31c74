/* bunker shim, init.c: --init: the child stays as PID 1 (c/monitor.c exec'd from a sealed memfd, or bk_init_loop here)
 * and the command runs as its child. */
#define _GNU_SOURCE
#include "child.h"

/* --init: stay as PID 1, reap everything, forward signals to the command.
 * PID 1 exec's the init executable (c/monitor.c from a sealed memfd, i: fd)
 * so it does not keep a copy of bunker's 40 MB for the container's life;
 * where that exec is refused (seccomp, vm.memfd_noexec) the loop runs here. */
void op_init(struct child *c) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  /* the command waits for EOF here: the exec of PID 1 closes the write end
   * (CLOEXEC), so the command never sees a half-started init */
  int execd[2] = {-1, -1};
  if (c->initfd >= 0 && pipe2(execd, O_CLOEXEC) < 0) fail(c, errno, BK_STEP_PIPE, 0, 125);
  /* raw clone: glibc's fork() takes malloc locks another Bun thread may have held */
  pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (child < 0) fail(c, errno, BK_STEP_CLONE, 0, 125);
  if (child == 0) {
    if (execd[0] >= 0) {
      char b;
      close(execd[1]);
      while (read(execd[0], &b, 1) < 0 && errno == EINTR) {}
      close(execd[0]);
    }
    /* the command: its own process group, the terminal's foreground */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    setpgid(0, 0);
    sigaction(SIGTTOU, &ign, &old);
    pid_t pg = getpgrp();
    (void)ioctl(0, TIOCSPGRP, &pg);
    sigaction(SIGTTOU, &old, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* the monitor's memfd stays (CLOEXEC: the program never gets it): a fifo-wait after this
     * (docker-style create) waits as the sealed monitor, bunker-start, never as bunker's own
     * executable, which a process exec'd into the created container could otherwise open
     * through /proc/PID/exe (CVE-2019-5736) */
    return;
  }
  close(c->sock); /* the command's copy tells the parent about exec */
  if (c->initfd >= 0) {
    close(execd[0]);
    char a1[32], a2[32];
    char *argv[] = {"bunker-init", int_arg(a1, "--init=", child), int_arg(a2, "--exit-fd=", c->exitfd), NULL};
    char *envp[] = {NULL};
    if (c->exitfd >= 0) (void)fcntl(c->exitfd, F_SETFD, 0);
    syscall(SYS_execveat, c->initfd, "", argv, envp, AT_EMPTY_PATH);
    close(execd[1]); /* refused: the loop runs here */
  }
  bk_init_loop(child, c->exitfd);
}
