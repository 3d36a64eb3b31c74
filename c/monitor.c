/* bunker-monitor: what stays of a foreground `bunker run` while its
 * container runs.
 *
 * Once the container has started, bunker (a Bun process of about 40 MB)
 * exec's this small static program in its place (bk_exec_monitor in shim.c):
 * the pid stays the same, so the container remains our child, its
 * parent-death signal stays armed and the caller's wait() sees the
 * container's exit status as before.  It does what bunker did from there on:
 * forward signals, relay the pty (bk_supervise), remove the container's state
 * dir and exit with the container's status.  Clean-up that needs bunker's
 * TypeScript (a cgroup to remove, an OOM to explain, a writable layer owned
 * by subordinate ids) is handed back to it: `bunker __finish DIR CODE`.
 *
 * Arguments (built by src/container/monitor.ts):
 *   --pid=N          the container's process (our child)
 *   --pty=FD         the pty master to relay, if any
 *   --stdin          relay stdin to the pty (-i)
 *   --dir=DIR        the container's state dir, removed at exit
 *   --finish=EXE     bunker's executable, for the clean-up this cannot do
 *   --finish-always  always hand the clean-up to bunker (the container has a cgroup)
 *   --sigpipe=R,W    bunker's signal self-pipe (appended by bk_exec_monitor)
 *
 * The same program is a container's PID 1 when it has an init (--init, run
 * -d): the shim's init op exec's it from a sealed memfd with
 *   --init=PID       the command, which the init waits for (bk_init_loop)
 *   --exit-fd=FD     where to write its exit status (a detached run), or -1
 */
#define _GNU_SOURCE
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *arg_value(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 ? arg + n : NULL;
}

/* rm -rf of one entry of PARENT, without following symlinks; -1 with errno
 * on the first thing that cannot be removed (bunker then takes over) */
static int remove_tree(int parent, const char *name, int depth) {
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR) return -1;
  if (depth > 128) {
    errno = ELOOP;
    return -1;
  }
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES && fchmodat(parent, name, 0700, 0) == 0)
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    rc = remove_tree(fd, e->d_name, depth + 1);
  }
  int saved = errno;
  closedir(d);
  if (rc < 0) {
    errno = saved;
    return -1;
  }
  return unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

int main(int argc, char **argv) {
  /* comm, else "memfd:bunker-mo" in ps */
  if (argc == 3 && arg_value(argv[1], "--init=") && arg_value(argv[2], "--exit-fd=")) {
    (void)prctl(PR_SET_NAME, "bunker-init", 0, 0, 0);
    bk_init_loop(atoi(arg_value(argv[1], "--init=")), atoi(arg_value(argv[2], "--exit-fd=")));
  }
  (void)prctl(PR_SET_NAME, "bunker-monitor", 0, 0, 0);
  int pid = -1, pty = -1, flags = 0, always = 0, sr = -1, sw = -1;
  const char *dir = NULL, *finish = NULL, *v;
  for (int k = 1; k < argc; k++) {
    if ((v = arg_value(argv[k], "--pid="))) pid = atoi(v);
    else if ((v = arg_value(argv[k], "--pty="))) pty = atoi(v);
    else if (!strcmp(argv[k], "--stdin")) flags |= 1;
    else if ((v = arg_value(argv[k], "--dir="))) dir = v;
    else if ((v = arg_value(argv[k], "--finish="))) finish = v;
    else if (!strcmp(argv[k], "--finish-always")) always = 1;
    else if ((v = arg_value(argv[k], "--sigpipe="))) sscanf(v, "%d,%d", &sr, &sw);
  }
  if (pid <= 0) {
    fprintf(stderr, "bunker-monitor: started without --pid (it is started by bunker run)\n");
    return 125;
  }
  if (sr >= 0 && sw >= 0) bk_forward_signals_on(sr, sw);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* the signals bunker blocked across the exec arrive now */

  int32_t out[2] = {-1, 0};
  int r = bk_supervise(pid, pty, flags, out);
  int code = r < 0 ? 125 : out[1] ? 128 + out[1] : out[0];
  if (r < 0) fprintf(stderr, "bunker: cannot wait for the container process %d: %s (%s)\n", pid, strerrorname_np(-r), strerror(-r));
  if (!dir) return code;
  if (!always && remove_tree(AT_FDCWD, dir, 0) == 0) return code;
  if (finish) {
    char status[16];
    snprintf(status, sizeof status, "%d", code);
    execl(finish, "bunker", "__finish", dir, status, (char *)NULL);
  }
  fprintf(stderr, "bunker: cannot remove %s: %s (%s)\n", dir, strerrorname_np(errno), strerror(errno));
  return code;
}
