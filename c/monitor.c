/* bunker-monitor: what stays of a foreground `bunker run` while its
 * container runs.
 *
 * Once the container has started, bunker (a Bun process of about 40 MB)
 * exec's this small static program in its place (bk_exec_monitor in supervise.c):
 * the pid stays the same, so the container remains our child, its
 * parent-death signal stays armed and the caller's wait() sees the
 * container's exit status as before.  It does what bunker did from there on:
 * forward signals, relay the pty (bk_supervise), remove the container's state
 * dir and its cgroup, say when the kernel OOM-killed it, and exit with the
 * container's status.  What it cannot remove (a writable layer owned by
 * subordinate ids needs a user namespace) is handed back to bunker:
 * `bunker __finish DIR CODE`.
 *
 * Arguments (built by src/container/monitor.ts):
 *   --pid=N          the container's process (our child)
 *   --pty=FD         the pty master to relay, if any
 *   --stdin          relay stdin to the pty (-i)
 *   --dir=DIR        the container's state dir, removed at exit
 *   --cgroup=PATH    the container's cgroup, removed at exit (src/cgroup made it)
 *   --finish=EXE     bunker's executable, for the clean-up this cannot do
 *   --finish-always  hand all of the clean-up to `bunker __finish` (the container has
 *                    anonymous volumes, which live outside DIR and go with it)
 *   --sigpipe=R,W    bunker's signal self-pipe (appended by bk_exec_monitor)
 *
 * The same program is a container's PID 1 when it has an init (--init, run
 * -d): the shim's init op exec's it from a sealed memfd with
 *   --init=PID       the command, which the init waits for (bk_init_loop)
 *   --exit-fd=FD     where to write its exit status (a detached run), or -1
 *
 * And it is a detached container's log writer (c/logwriter.c):
 *   --log-writer --dir=DIR --max-size=BYTES --max-file=N
 *
 * And it keeps a container's network helper (c/keeper.c):
 *   --keep-while=PID HELPER ARGS...   runs HELPER until PID exits
 *
 * And it holds bunker's shared user namespace (src/container/userns.ts):
 *   --hold-userns    sleep until killed, in a session of its own, with no
 *                    open files, so the namespace (and its newuidmap-written
 *                    maps) stays for the next container to join
 *   --hold-netns     the same for a user network's network namespace
 *                    (src/container/network.ts), named bunker-netns
 */
#define _GNU_SOURCE
#include "shim.h"
#include "tree.h"

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

/* errno's name, as bunker's one-line errors print it (musl has no strerrorname_np) */
static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case ECHILD: return "ECHILD";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EROFS: return "EROFS";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    default: return "EIO";
  }
}

static const char *arg_value(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 ? arg + n : NULL;
}

/* a small file's contents, NUL-terminated; -1 if it cannot be read */
static ssize_t read_small(const char *dir, const char *name, char *buf, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* KEY's value in a "key value" file (memory.events, cgroup.events), else 0 */
static long long key_value(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (!strncmp(p, key, n) && p[n] == ' ') return atoll(p + n + 1);
  return 0;
}

/* the line bunker prints for an OOM kill (src/cgroup oomMessage, formatBytes) */
static void report_oom(const char *cg) {
  char ev[4096], max[64];
  if (read_small(cg, "memory.events", ev, sizeof ev) < 0) return;
  if (key_value(ev, "oom_kill") <= 0 && key_value(ev, "oom_group_kill") <= 0) return;
  if (read_small(cg, "memory.max", max, sizeof max) < 0) snprintf(max, sizeof max, "max");
  max[strcspn(max, "\n")] = 0;
  char shown[64];
  snprintf(shown, sizeof shown, "%s", max);
  if (strcmp(max, "max")) {
    unsigned long long b = strtoull(max, NULL, 10);
    static const struct { char unit; int shift; } units[] = {{'G', 30}, {'M', 20}, {'K', 10}};
    for (int k = 0; k < 3; k++)
      if (b >= (1ull << units[k].shift) && b % (1ull << units[k].shift) == 0) {
        snprintf(shown, sizeof shown, "%llu%c", b >> units[k].shift, units[k].unit);
        break;
      }
  }
  fprintf(stderr, "bunker: container was killed: out of memory (memory.max=%s)\n", shown);
}

/* the subdirectories of the cgroup directory FD removed, deepest first (the tree walker's) */
static int rmdir_children(int fd, int depth);

static int rmdir_one(void *depth, int dirfd, const char *name, unsigned char type) {
  if (type != DT_DIR) return 0; /* a cgroup's files go with it */
  if (*(int *)depth > 32) return -ENAMETOOLONG;
  int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0) return errno == ENOENT ? 0 : -errno;
  int r = rmdir_children(sub, *(int *)depth + 1);
  close(sub);
  if (r < 0) return r;
  return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -errno;
}

static int rmdir_children(int fd, int depth) { return each_entry(fd, rmdir_one, &depth); }

/* rmdir of DIR's cgroup subtree, deepest first: 0, or -1 with errno */
static int rmdir_cgroup_tree(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  int r = rmdir_children(fd, 0);
  close(fd);
  if (r < 0) {
    errno = -r;
    return -1;
  }
  return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* the container's cgroup: what is left in it is killed (cgroup.kill), then
 * it is removed; as src/cgroup's remove() does */
static int remove_cgroup(const char *cg) {
  for (int attempt = 0;; attempt++) {
    if (rmdir_cgroup_tree(cg) == 0) return 0;
    if (errno != EBUSY || attempt >= 3) return -1;
    char path[4096], ev[512];
    snprintf(path, sizeof path, "%s/cgroup.kill", cg);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (write(fd, "1", 1) < 0) { /* an old kernel: wait for the pid namespace to go */ }
      close(fd);
    }
    for (int k = 0; k < 500; k++) {
      if (read_small(cg, "cgroup.events", ev, sizeof ev) < 0 || key_value(ev, "populated") == 0) break;
      usleep(2000);
    }
  }
}

/* the shared user namespace's (or a user network's) holder: it keeps nothing else alive (no cwd,
 * no fds: a caller reading bunker's stdout to EOF is not held up by it) */
static __attribute__((noreturn)) void hold_namespaces(const char *name) {
  (void)prctl(PR_SET_NAME, name, 0, 0, 0);
  (void)setsid();
  (void)chdir("/");
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) {
    if (null >= 0) dup2(null, fd);
    else close(fd);
  }
  for (int fd = 3; fd < 1024; fd++) close(fd);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGTERM);
  sigprocmask(SIG_SETMASK, &all, NULL);
  signal(SIGTERM, SIG_DFL);
  for (;;) pause();
}

/* S with control characters escaped as src/errors.ts oneLine() writes them
 * (C0, DEL, UTF-8 C1 and U+2028/9): a name from config.json must not break
 * the one-line message or move the terminal's cursor */
static void put_escaped(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\n') fputs("\\n", f);
    else if (*p == '\r') fputs("\\r", f);
    else if (*p == '\t') fputs("\\t", f);
    else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
    else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) fprintf(f, "\\x%02x", *++p);
    else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
      fprintf(f, "\\u%x", 0x2000 + (p[2] - 0x80));
      p += 2;
    } else fputc(*p, f);
  }
}

/* OCI create's PID 1 after set-up (c/child.c op_fifo_wait): wait on
 * exec.fifo (FIFOFD, O_PATH) until `start`, write "0", then exec FILE.  It
 * runs as the container's process already is (user, capabilities,
 * no_new_privs, seccomp), so exec'ing the program yields the same process as
 * the shim's exec would; meanwhile PID 1 is this sealed memfd, not bunker. */
static __attribute__((noreturn)) void start_after_fifo(int fifofd, const char *file, char **argv) {
  extern char **environ;
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fifofd);
  int fd = open(p, O_WRONLY | O_CLOEXEC); /* blocks until `start` opens it */
  if (fd < 0 || write(fd, "0", 1) != 1) {
    fprintf(stderr, "bunker: cannot wait for start on exec.fifo: %s (%s)\n", errno_name(errno), strerror(errno));
    _exit(125);
  }
  close(fifofd);
  int err = bk_exec_path(file, argv, environ);
  int missing = err == ENOENT || err == ENOTDIR;
  /* the line `bunker run --rootfs` gives (src/container/launch.ts childError) */
  fputs("bunker: exec \"", stderr);
  put_escaped(stderr, file);
  fprintf(stderr, "\": %s: %s (%s) [", missing ? (strchr(file, '/') ? "executable file not found" : "executable file not found in $PATH") : "cannot execute",
          errno_name(err), strerror(err));
  put_escaped(stderr, file);
  fputs(missing ? "] — check the command and the image's PATH\n" : "]\n", stderr);
  _exit(missing ? 127 : 126);
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "--log-writer")) return bk_log_writer(argc, argv); /* c/logwriter.c */
  if (argc >= 5 && arg_value(argv[1], "--proxy=")) return bk_port_proxy(argc, argv); /* c/proxy.c */
  if (argc >= 3 && arg_value(argv[1], "--keep-while=")) return bk_keep_while(atoi(arg_value(argv[1], "--keep-while=")), argv + 2); /* c/keeper.c */
  /* comm, else "memfd:bunker-mo" in ps */
  if (argc == 3 && arg_value(argv[1], "--init=") && arg_value(argv[2], "--exit-fd=")) {
    (void)prctl(PR_SET_NAME, "bunker-init", 0, 0, 0);
    bk_init_loop(atoi(arg_value(argv[1], "--init=")), atoi(arg_value(argv[2], "--exit-fd=")));
  }
  if (argc == 2 && !strcmp(argv[1], "--hold-userns")) hold_namespaces("bunker-userns");
  if (argc == 2 && !strcmp(argv[1], "--hold-netns")) {
    /* a user network's (src/container/network.ts): exec'd from a memfd it is not dumpable, and
     * pasta (which drops its capabilities first) could not open its /proc/PID/ns; it holds no
     * secret and no container's process can see it */
    (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    hold_namespaces("bunker-netns");
  }
  if (argc >= 4 && arg_value(argv[1], "--start-fifo=")) (void)prctl(PR_SET_NAME, "bunker-start", 0, 0, 0);
  if (argc >= 4 && arg_value(argv[1], "--start-fifo=")) start_after_fifo(atoi(arg_value(argv[1], "--start-fifo=")), argv[2], argv + 3);
  (void)prctl(PR_SET_NAME, "bunker-monitor", 0, 0, 0);
  int pid = -1, pty = -1, flags = 0, sr = -1, sw = -1, always = 0;
  const char *dir = NULL, *finish = NULL, *cgroup = NULL, *v;
  for (int k = 1; k < argc; k++) {
    if ((v = arg_value(argv[k], "--pid="))) pid = atoi(v);
    else if ((v = arg_value(argv[k], "--pty="))) pty = atoi(v);
    else if (!strcmp(argv[k], "--stdin")) flags |= 1;
    else if ((v = arg_value(argv[k], "--dir="))) dir = v;
    else if ((v = arg_value(argv[k], "--finish="))) finish = v;
    else if (!strcmp(argv[k], "--finish-always")) always = 1;
    else if ((v = arg_value(argv[k], "--cgroup="))) cgroup = v;
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
  if (r < 0) fprintf(stderr, "bunker: cannot wait for the container process %d: %s (%s)\n", pid, errno_name(-r), strerror(-r));
  int cgroup_left = 0;
  if (cgroup) {
    if (code == 128 + SIGKILL) report_oom(cgroup);
    cgroup_left = remove_cgroup(cgroup) < 0;
  }
  if (!dir) return code;
  /* the state directory (the tree walker's rm -rf); what cannot be removed is left to bunker __finish,
   * and everything is with --finish-always (anonymous volumes go with the container) */
  int removed = cgroup_left ? -errno : (always && finish) ? -EAGAIN : remove_at(AT_FDCWD, dir, 0); /* errno: the cgroup's removal's */
  if (removed == 0) return code;
  errno = -removed;
  if (finish) {
    char status[16];
    snprintf(status, sizeof status, "%d", code);
    execl(finish, "bunker", "__finish", dir, status, (char *)NULL);
  }
  fprintf(stderr, "bunker: cannot remove %s: %s (%s)\n", dir, errno_name(errno), strerror(errno));
  return code;
}
