/* bunker shim, pid1.c: the reaping, signal forwarding PID 1 of a container with --init: the
 * child's init op (init.c) when the monitor cannot be exec'd, and the monitor's init mode. */
#define _GNU_SOURCE
#include "shim.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* PID 1 of a container with an init: reap everything, forward every signal
 * to CHILD, exit with its status (128+N when killed: a PID 1 cannot die of
 * the command's signal) after writing it to EXITFD (>= 0: detached run).
 * Expects every signal blocked.  Also the init mode of c/monitor.c. */
void bk_init_loop(int child, int exitfd) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p != child) continue;
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (exitfd >= 0) {
        char b[8];
        int n = 0;
        if (code >= 100) b[n++] = (char)('0' + code / 100);
        if (code >= 10) b[n++] = (char)('0' + code / 10 % 10);
        b[n++] = (char)('0' + code % 10);
        b[n++] = '\n';
        if (write(exitfd, b, (size_t)n) < 0) { /* nowhere to report it */ }
      }
      _exit(code);
    }
  }
}
