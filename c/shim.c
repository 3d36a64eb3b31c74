/* bunker shim: clone the container's first process, run the Plan's ops in it,
 * execve.  See shim.h for the wire format; waiting for the container and
 * forwarding signals to it is c/supervise.c.
 *
 * Rules for everything reached from child_main(): raw syscalls and
 * async-signal-safe libc only.  The parent is a multi-threaded Bun process,
 * so no malloc, no stdio, no locks may run in the child. */
#define _GNU_SOURCE
#include "shim.h"
#include "wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#define STACK_SIZE (1 << 20)
#define MAX_ARGS 8192
#define PATH_BUF 4096

/* ------------------------------------------------------------- child state */

struct child {
  const uint8_t *plan;
  uint32_t len;
  int sock;
  int rootfd;   /* the new root, before pivot_root */
  int fifofd;   /* exec.fifo (O_PATH) for OCI create */
  int exitfd;   /* where the init writes the command's exit status (detached run) */
  int op_index; /* the op being run, for error reports */
  int copyfd;   /* tmpcopyup: the directory a tmpfs covers, held across its mount */
  int fifowfd;  /* exec.fifo's write end after start: a failing startContainer hook reports there */
  int hostpid;  /* our pid in the parent's pid namespace (from "go") */
  int initfd;   /* the init executable (a sealed memfd), exec'd as PID 1 */
  int fifo_deferred; /* FIFO_WAIT with the monitor's memfd: EXEC exec's it to wait (op_fifo_wait) */
  int peer;     /* bunker's end of the sync socket: closed first, so bunker's death is our EOF */
};

static void send_msg(int sock, int32_t type, int32_t op, int32_t err, int32_t step, int32_t arg) {
  int32_t m[BK_MSG_INTS] = {type, op, err, step, arg};
  (void)send(sock, m, sizeof m, MSG_NOSIGNAL);
}

/* the op being run failed with ERR at STEP (enum bk_step, named in src/plan/ops.ts; ARG: a capability,
 * an fd, a hook's index): tell bunker, exit with CODE */
static __attribute__((noreturn)) void fail(struct child *c, int err, enum bk_step step, int arg, int code) {
  send_msg(c->sock, BK_MSG_ERROR, c->op_index, err, (int32_t)step, arg);
  _exit(code);
}

static size_t slen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)flags;
  how.resolve = resolve;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/* Open PATH inside the rootfs as an O_PATH fd, every component resolved with
 * RESOLVE_IN_ROOT so no symlink can lead out of it.  With BK_MKDIR, missing
 * directories are created; with BK_MKFILE, a missing last component becomes
 * an empty file.  Returns the fd or -errno. */
static int open_in_root_depth(struct child *c, const char *path, unsigned how, int depth);
static int open_in_root(struct child *c, const char *path, unsigned how) { return open_in_root_depth(c, path, how, 0); }

/* NAME in PARENT (the directory DIR, LEN bytes of it) is a dangling symlink:
 * create what it points to inside the root, as runc does for a bind onto it */
static int follow_dangling(struct child *c, int parent, const char *dir, size_t len, const char *name, unsigned how, int depth) {
  char target[PATH_BUF], next[PATH_BUF];
  ssize_t t = readlinkat(parent, name, target, sizeof target - 1);
  if (t <= 0) return -ENOENT;
  target[t] = 0;
  if (depth >= 8) return -ELOOP;
  size_t k = 0;
  if (target[0] != '/') { /* relative to the link's directory */
    if (len + 1 + (size_t)t + 1 > sizeof next) return -ENAMETOOLONG;
    memcpy(next, dir, len);
    k = len;
    next[k++] = '/';
  }
  memcpy(next + k, target, (size_t)t + 1);
  return open_in_root_depth(c, next, how, depth + 1);
}

static int open_in_root_depth(struct child *c, const char *path, unsigned how, int depth) {
  char buf[PATH_BUF];
  size_t n = slen(path);
  if (n + 2 >= sizeof buf) return -ENAMETOOLONG;
  int fd = sys_openat2(c->rootfd, path, O_PATH | O_CLOEXEC, IN_ROOT);
  if (fd >= 0 || errno != ENOENT || !(how & (BK_MKDIR | BK_MKFILE))) return fd >= 0 ? fd : -errno;
  /* walk the prefixes, creating what is missing */
  memcpy(buf, path, n + 1);
  size_t i = 0;
  while (buf[i] == '/') i++;
  while (i < n) {
    size_t j = i;
    while (j < n && buf[j] != '/') j++;
    int last = (j >= n);
    char save = buf[j];
    buf[j] = 0;
    fd = sys_openat2(c->rootfd, buf, O_PATH | O_CLOEXEC, IN_ROOT);
    if (fd < 0 && errno == ENOENT) {
      /* create it in its parent, which was resolved safely above */
      size_t k = i;
      char psave = 0;
      int parent;
      if (k > 0) {
        psave = buf[k - 1];
        buf[k - 1] = 0;
        parent = sys_openat2(c->rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
        buf[k - 1] = psave;
      } else {
        parent = sys_openat2(c->rootfd, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
      }
      if (parent < 0) return -errno;
      int r;
      if (last && (how & BK_MKFILE)) {
        r = mknodat(parent, buf + i, S_IFREG | 0644, 0);
      } else {
        r = mkdirat(parent, buf + i, 0755);
      }
      int e = errno;
      if (r < 0 && e != EEXIST) {
        close(parent);
        return -e;
      }
      fd = sys_openat2(c->rootfd, buf, O_PATH | O_CLOEXEC, IN_ROOT);
      if (fd < 0 && errno == ENOENT && r < 0) {
        /* it exists, yet cannot be opened: a dangling symlink */
        if (last) {
          int f = follow_dangling(c, parent, buf, k > 0 ? k - 1 : 0, buf + i, how, depth);
          close(parent);
          return f;
        }
        errno = ENOENT;
      }
      close(parent);
    }
    if (fd < 0) return -errno;
    buf[j] = save;
    if (!last) close(fd);
    else return fd;
    i = j;
    while (i < n && buf[i] == '/') i++;
  }
  fd = sys_openat2(c->rootfd, "/", O_PATH | O_CLOEXEC, IN_ROOT); /* PATH was "/" */
  return fd >= 0 ? fd : -errno;
}

/* V in decimal at OUT (no terminator; at most 20 bytes), without snprintf; returns the length */
static size_t fmt_uint(char *out, uint64_t v) {
  char d[20];
  size_t n = 0, k = 0;
  do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) out[k++] = d[--n];
  return k;
}

static void fdpath(char *out, int fd) {
  /* "/proc/self/fd/N" without snprintf */
  const char *pre = "/proc/self/fd/";
  size_t k = 0;
  while (pre[k]) { out[k] = pre[k]; k++; }
  k += fmt_uint(out + k, (unsigned)fd);
  out[k] = 0;
}

static int setattr_fd(int fd, uint64_t set, uint64_t clr, int recursive) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.attr_clr = clr;
  return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}

/* ------------------------------------------------------------------- ops */

static void op_rootfs(struct child *c, const struct op *op) {
  const char *path = op_str(op, BK_S_ROOTFS_PATH, NULL);
  unsigned long prop = (unsigned long)op_int(op, BK_I_ROOTFS_PROPAGATION);
  if (!prop) prop = MS_PRIVATE;
  if (mount(NULL, "/", NULL, MS_REC | prop, NULL) < 0) fail(c, errno, BK_STEP_MAKE_PRIVATE, 0, 125);
  char sub[PATH_BUF];
  if (op_int(op, BK_I_ROOTFS_MOUNT) == 2) {
    /* an overlay whose upper and work dirs live on a tmpfs of this mount
     * namespace only (as bwrap's --tmp-overlay): nothing to create on the
     * host, nothing to remove there when the container ends (the data names
     * PATH/upper and PATH/work); the root is PATH/root */
    size_t n = slen(path);
    if (n + 8 > sizeof sub) fail(c, ENAMETOOLONG, BK_STEP_MOUNT_TMPFS, 0, 125);
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) fail(c, errno, BK_STEP_MOUNT_TMPFS, 0, 125);
    static const char *const dirs[] = {"/upper", "/work", "/root"};
    for (int k = 0; k < 3; k++) {
      memcpy(sub, path, n);
      memcpy(sub + n, dirs[k], slen(dirs[k]) + 1);
      if (mkdir(sub, 0755) < 0) fail(c, errno, BK_STEP_MKDIR, 0, 125);
    }
    path = sub; /* PATH/root */
  }
  if (op_int(op, BK_I_ROOTFS_MOUNT)) {
    /* a filesystem as the root: tmpfs (host sandbox) or overlay (image layers, userxattr) */
    const char *fstype = op_str(op, BK_S_ROOTFS_FSTYPE, NULL), *data = op_str(op, BK_S_ROOTFS_DATA, NULL);
    if (mount(fstype, path, fstype, MS_NOSUID | MS_NODEV, data) < 0) fail(c, errno, BK_STEP_MOUNT, 0, 125);
  } else if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    fail(c, errno, BK_STEP_BIND, 0, 125);
  }
  c->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
}

static void op_mount(struct child *c, const struct op *op) {
  const char *src = op_str(op, BK_S_MOUNT_SOURCE, NULL), *tgt = op_str(op, BK_S_MOUNT_TARGET, NULL);
  const char *fstype = op_str(op, BK_S_MOUNT_FSTYPE, NULL), *data = op_str(op, BK_S_MOUNT_DATA, NULL);
  unsigned long flags = (unsigned long)op_int(op, BK_I_MOUNT_FLAGS);
  unsigned how = (unsigned)op_int(op, BK_I_MOUNT_OPFLAGS);
  char p[32];
  int fd = -1;
  if ((how & BK_IN_ROOT) && *fstype && (!strcmp(fstype, "proc") || !strcmp(fstype, "sysfs"))) {
    /* proc or sysfs on a symlink would land wherever the rootfs points it (CVE-2019-19921) */
    int l = sys_openat2(c->rootfd, tgt, O_PATH | O_NOFOLLOW | O_CLOEXEC, IN_ROOT);
    struct stat st;
    if (l >= 0 && fstat(l, &st) == 0 && S_ISLNK(st.st_mode)) fail(c, ELOOP, BK_STEP_TARGET_IS_A_SYMLINK, 0, 125);
    if (l >= 0) close(l);
  }
  if (how & BK_IN_ROOT) {
    fd = open_in_root(c, tgt, how);
    if (fd < 0) fail(c, -fd, BK_STEP_OPEN_TARGET, 0, 125);
    fdpath(p, fd);
    tgt = p;
  }
  if (mount(*src ? src : NULL, tgt, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0 && !(how & BK_OPTIONAL))
    fail(c, errno, BK_STEP_MOUNT, 0, 125);
  if (fd >= 0) close(fd);
}

static void op_bind(struct child *c, const struct op *op) {
  const char *src = op_str(op, BK_S_BIND_SOURCE, NULL), *tgt = op_str(op, BK_S_BIND_TARGET, NULL);
  unsigned how = (unsigned)op_int(op, BK_I_BIND_OPFLAGS);
  uint64_t set = (uint64_t)op_int(op, BK_I_BIND_ATTR_SET), clr = (uint64_t)op_int(op, BK_I_BIND_ATTR_CLR);
  struct stat st;
  int sfd = open(src, O_PATH | O_CLOEXEC);
  if (sfd < 0) {
    if (errno == ENOENT && (how & BK_OPTIONAL)) return;
    fail(c, errno, BK_STEP_OPEN_SOURCE, 0, 125);
  }
  if (fstat(sfd, &st) < 0) fail(c, errno, BK_STEP_OPEN_SOURCE, 0, 125);
  how = (how & ~(BK_MKDIR | BK_MKFILE)) | (S_ISDIR(st.st_mode) ? BK_MKDIR : BK_MKFILE);
  int tfd = open_in_root(c, tgt, how);
  if (tfd < 0) fail(c, -tfd, BK_STEP_OPEN_TARGET, 0, 125);
  char sp[32], tp[32];
  fdpath(sp, sfd);
  fdpath(tp, tfd);
  if (mount(sp, tp, NULL, MS_BIND | ((how & BK_RECURSIVE) ? MS_REC : 0), NULL) < 0) fail(c, errno, BK_STEP_BIND, 0, 125);
  close(sfd);
  close(tfd);
  if (set || clr) {
    /* reopen: the fd above is the directory under the new mount */
    tfd = open_in_root(c, tgt, 0);
    if (tfd < 0) fail(c, -tfd, BK_STEP_OPEN_TARGET, 0, 125);
    if (setattr_fd(tfd, set, clr, how & BK_RECURSIVE) < 0) fail(c, errno, BK_STEP_MOUNT_SETATTR, 0, 125);
    close(tfd);
  }
}

/* PATH's directory opened in the root (made when missing); its last component at *NAME, in BUF */
static int open_parent_in_root(struct child *c, const char *path, char buf[PATH_BUF], const char **name) {
  size_t n = slen(path), k = n;
  if (n >= PATH_BUF) return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  while (k > 0 && buf[k - 1] != '/') k--;
  *name = buf + k;
  if (k > 1) {
    buf[k - 1] = 0;
    return open_in_root(c, buf, BK_MKDIR);
  }
  return open_in_root(c, "/", 0);
}

/* linux.devices as root (no user namespace): the node made inside the root
 * (RESOLVE_IN_ROOT for its directory), an existing file replaced, as runc */
static void op_mknod(struct child *c, const struct op *op) {
  const char *path = op_str(op, BK_S_MKNOD_PATH, NULL);
  char buf[PATH_BUF];
  const char *name;
  int dfd = open_parent_in_root(c, path, buf, &name);
  if (dfd < 0) fail(c, -dfd, BK_STEP_OPEN_PARENT, 0, 125);
  if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) fail(c, EINVAL, BK_STEP_NAME, 0, 125);
  mode_t mode = (mode_t)op_int(op, BK_I_MKNOD_MODE);
  dev_t dev = makedev((unsigned)op_int(op, BK_I_MKNOD_MAJOR), (unsigned)op_int(op, BK_I_MKNOD_MINOR));
  if (mknodat(dfd, name, mode, dev) < 0) {
    if (errno != EEXIST || unlinkat(dfd, name, 0) < 0 || mknodat(dfd, name, mode, dev) < 0) fail(c, errno, BK_STEP_MKNOD, 0, 125);
  }
  if (fchownat(dfd, name, (uid_t)op_int(op, BK_I_MKNOD_UID), (gid_t)op_int(op, BK_I_MKNOD_GID), AT_SYMLINK_NOFOLLOW) < 0) fail(c, errno, BK_STEP_FCHOWNAT, 0, 125);
  /* mknod's mode went through the umask */
  if (fchmodat(dfd, name, mode & 07777, 0) < 0) fail(c, errno, BK_STEP_FCHMODAT, 0, 125);
  close(dfd);
}

static void op_symlink(struct child *c, const struct op *op) {
  const char *target = op_str(op, BK_S_SYMLINK_TARGET, NULL), *link = op_str(op, BK_S_SYMLINK_LINK, NULL);
  char buf[PATH_BUF];
  const char *base;
  int dfd = open_parent_in_root(c, link, buf, &base);
  if (dfd < 0) fail(c, -dfd, BK_STEP_OPEN_PARENT, 0, 125);
  if (symlinkat(target, dfd, base) < 0 && errno != EEXIST) fail(c, errno, BK_STEP_SYMLINKAT, 0, 125);
  close(dfd);
}

/* after pivot_root, "in root" paths resolve against the new / */
static void reopen_root(struct child *c) {
  close(c->rootfd);
  c->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0) fail(c, errno, BK_STEP_REOPEN_ROOT, 0, 125);
}

static void op_pivot(struct child *c, const struct op *op) {
  if (fchdir(c->rootfd) < 0) fail(c, errno, BK_STEP_FCHDIR, 0, 125);
  if (!op_int(op, BK_I_PIVOT_NO_PIVOT)) {
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
      if (umount2(".", MNT_DETACH) < 0) fail(c, errno, BK_STEP_UMOUNT_OLD_ROOT, 0, 125);
      if (chdir("/") < 0) fail(c, errno, BK_STEP_CHDIR, 0, 125);
      reopen_root(c);
      return;
    }
    if (errno != EINVAL) fail(c, errno, BK_STEP_PIVOT_ROOT, 0, 125);
    /* initramfs root: pivot_root cannot work; tell the parent (--debug) */
    send_msg(c->sock, BK_MSG_NOTE, c->op_index, EINVAL, BK_STEP_PIVOT_ROOT, 0);
  }
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) fail(c, errno, BK_STEP_MS_MOVE, 0, 125);
  if (chroot(".") < 0) fail(c, errno, BK_STEP_CHROOT, 0, 125);
  if (chdir("/") < 0) fail(c, errno, BK_STEP_CHDIR, 0, 125);
  reopen_root(c);
}

static void op_setattr(struct child *c, const struct op *op) {
  int fd = open(op_str(op, BK_S_SETATTR_PATH, NULL), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail(c, errno, BK_STEP_OPEN, 0, 125);
  }
  if (setattr_fd(fd, (uint64_t)op_int(op, BK_I_SETATTR_ATTR_SET), (uint64_t)op_int(op, BK_I_SETATTR_ATTR_CLR), (int)op_int(op, BK_I_SETATTR_RECURSIVE)) < 0) fail(c, errno, BK_STEP_MOUNT_SETATTR, 0, 125);
  close(fd);
}

static void op_mask(struct child *c, const struct op *op) {
  const char *path = op_str(op, BK_S_MASK_PATH, NULL);
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT) return;
    fail(c, errno, BK_STEP_STAT, 0, 125);
  }
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0")
                              : mount("/dev/null", path, NULL, MS_BIND, NULL);
  if (r < 0) fail(c, errno, BK_STEP_MOUNT, 0, 125);
}

static void op_lo_up(struct child *c) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail(c, errno, BK_STEP_SOCKET, 0, 125);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail(c, errno, BK_STEP_SIOCGIFFLAGS, 0, 125);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail(c, errno, BK_STEP_SIOCSIFFLAGS, 0, 125);
  close(s);
}

/* write S (LEN bytes) to the file at PATH; 0 or an errno */
static int write_file(const char *path, const char *s, uint32_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = write(fd, s, len) == (ssize_t)len ? 0 : (errno ? errno : EIO);
  close(fd);
  return err;
}

/* Lock the mounts made so far: a mount namespace copied into a new user
 * namespace has every mount locked (MNT_LOCK_READONLY & co, MNT_LOCKED: no
 * remount rw, no umount that reveals what is under), even for a process that
 * holds CAP_SYS_ADMIN there.  So: unshare a user namespace (and the mount,
 * uts and, with its own, network namespaces: the container keeps
 * capabilities over them) whose ids are those of the current one; its maps
 * need CAP_SETUID/CAP_SETGID over the current namespace, which only a
 * process still in it has: a helper forked before the unshare writes them.
 * i: unshare flags; s: uid_map, gid_map (identity lines of the current maps) */
static void op_lock(struct child *c, const struct op *op) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) fail(c, errno, BK_STEP_PIPE, 0, 125);
  pid_t self = (pid_t)syscall(SYS_getpid);
  /* raw clone: glibc's fork() takes malloc locks another Bun thread may have held */
  pid_t h = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (h < 0) fail(c, errno, BK_STEP_CLONE, 0, 125);
  if (h == 0) {
    char b, path[64];
    close(go[1]);
    ssize_t n;
    while ((n = read(go[0], &b, 1)) < 0 && errno == EINTR) {}
    if (n != 1) _exit(EPIPE);
    uint32_t ulen, glen;
    const char *um = op_str(op, BK_S_LOCK_UID_MAP, &ulen), *gm = op_str(op, BK_S_LOCK_GID_MAP, &glen);
    memcpy(path, "/proc/", 6);
    size_t k = 6 + fmt_uint(path + 6, (unsigned)self);
    size_t base = k;
    const char *u = "/uid_map", *g = "/gid_map";
    for (int j = 0; u[j]; j++) path[k++] = u[j];
    path[k] = 0;
    int err = write_file(path, um, ulen);
    if (err) _exit(err);
    k = base;
    for (int j = 0; g[j]; j++) path[k++] = g[j];
    path[k] = 0;
    _exit(write_file(path, gm, glen));
  }
  close(go[0]);
  int uerr = unshare((int)op_int(op, BK_I_LOCK_FLAGS)) < 0 ? errno : 0;
  if (!uerr && write(go[1], "x", 1) != 1) uerr = errno;
  close(go[1]);
  int st = 0;
  while (waitpid(h, &st, 0) < 0 && errno == EINTR) {}
  if (uerr) fail(c, uerr, BK_STEP_UNSHARE, 0, 125);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail(c, WIFEXITED(st) ? WEXITSTATUS(st) : EINTR, BK_STEP_WRITE_ID_MAPS, 0, 125);
  /* the ids the maps gave: the namespace's root again */
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) fail(c, errno, BK_STEP_SETRESGID, 0, 125);
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) fail(c, errno, BK_STEP_SETRESUID, 0, 125);
  if ((int)op_int(op, BK_I_LOCK_FLAGS) & CLONE_NEWNET) op_lo_up(c);
}

static void op_chdir(struct child *c, const struct op *op) {
  char buf[PATH_BUF];
  if (chdir(op_str(op, BK_S_CHDIR_PATH, NULL)) < 0) fail(c, errno, BK_STEP_CHDIR, 0, 125);
  /* the kernel's getcwd says "(unreachable)..." for a directory outside our
   * root (a leaked host fd used as cwd: the CVE-2024-21626 class) */
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) fail(c, errno, BK_STEP_GETCWD, 0, 125);
  if (buf[0] != '/') fail(c, ENOENT, BK_STEP_OUTSIDE_THE_ROOT, 0, 125);
}

static void op_user(struct child *c, const struct op *op) {
  gid_t groups[64];
  uint32_t n = op->nint > 2 ? op->nint - 2 : 0;
  if (n > 64) n = 64;
  for (uint32_t k = 0; k < n; k++) groups[k] = (gid_t)op_int(op, BK_I_USER_GROUPS + k);
  /* with setgroups denied (one-id map) only an empty list can be asked for,
   * and the call itself is refused: that is fine */
  if (syscall(SYS_setgroups, n, groups) < 0 && !(errno == EPERM && n == 0)) fail(c, errno, BK_STEP_SETGROUPS, 0, 125);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_KEEPCAPS, 0, 125);
  if (syscall(SYS_setresgid, (gid_t)op_int(op, BK_I_USER_GID), (gid_t)op_int(op, BK_I_USER_GID), (gid_t)op_int(op, BK_I_USER_GID)) < 0) fail(c, errno, BK_STEP_SETRESGID, 0, 125);
  if (syscall(SYS_setresuid, (uid_t)op_int(op, BK_I_USER_UID), (uid_t)op_int(op, BK_I_USER_UID), (uid_t)op_int(op, BK_I_USER_UID)) < 0) fail(c, errno, BK_STEP_SETRESUID, 0, 125);
}

static void op_caps(struct child *c, const struct op *op) {
  uint64_t bounding = (uint64_t)op_int(op, BK_I_CAPS_BOUNDING), eff = (uint64_t)op_int(op, BK_I_CAPS_EFFECTIVE), perm = (uint64_t)op_int(op, BK_I_CAPS_PERMITTED);
  uint64_t inh = (uint64_t)op_int(op, BK_I_CAPS_INHERITABLE), amb = (uint64_t)op_int(op, BK_I_CAPS_AMBIENT);
  if (op_int(op, BK_I_CAPS_STAGE) == 0) {
    /* stage 0, still uid 0: shrink the bounding set */
    for (int cap = 0; cap <= 63; cap++) {
      if (bounding & (1ull << cap)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(c, errno, BK_STEP_PR_CAPBSET_DROP, cap, 125);
    }
    return;
  }
  /* stage 1, after setresuid: the process's own sets, then ambient */
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  d[0].effective = (uint32_t)eff;
  d[1].effective = (uint32_t)(eff >> 32);
  d[0].permitted = (uint32_t)perm;
  d[1].permitted = (uint32_t)(perm >> 32);
  d[0].inheritable = (uint32_t)inh;
  d[1].inheritable = (uint32_t)(inh >> 32);
  if (syscall(SYS_capset, &h, d) < 0) fail(c, errno, BK_STEP_CAPSET, 0, 125);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail(c, errno, BK_STEP_PR_CAP_AMBIENT_CLEAR_ALL, 0, 125);
  for (int cap = 0; cap <= 63; cap++) {
    if (!(amb & (1ull << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) fail(c, errno, BK_STEP_PR_CAP_AMBIENT_RAISE, cap, 125);
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_KEEPCAPS, 0, 125);
}

/* one message carrying FD (SCM_RIGHTS); async-signal-safe */
static ssize_t send_with_fd(int sock, void *data, size_t len, int fd) {
  struct iovec iov = {data, len};
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static void wait_for_go(struct child *c);

static void op_seccomp(struct child *c, const struct op *op) {
  uint32_t len;
  const char *prog = op_str(op, BK_S_SECCOMP_FILTER, &len);
  /* the string record is 8-byte aligned + 4: copy to an aligned stack buffer */
  struct sock_filter filt[4096]; /* on the child's own stack: no static, the memory is shared (CLONE_VM) */
  if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 4096) fail(c, EINVAL, BK_STEP_FILTER_SIZE, 0, 125);
  memcpy(filt, prog, len);
  struct sock_fprog fp = {(unsigned short)(len / sizeof(struct sock_filter)), filt};
  unsigned flags = (unsigned)op_int(op, BK_I_SECCOMP_FLAGS);
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
  if (listener < 0) fail(c, errno, BK_STEP_SECCOMP, 0, 125);
  if (!(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return;
  /* SCMP_ACT_NOTIFY: the listener goes to bunker, which hands it with the
   * state to the agent at listenerPath; we go on at its "go", so a notified
   * syscall of ours or the program's finds the agent listening (until then
   * bunker holds the fd, and such a syscall would only wait) */
  int32_t msg[BK_MSG_INTS] = {BK_MSG_SECCOMP, 0, 0, 0, 0};
  if (send_with_fd(c->sock, msg, sizeof msg, (int)listener) < 0) fail(c, errno, BK_STEP_SEND_LISTENER, 0, 125);
  close((int)listener);
  wait_for_go(c);
}

static void op_pty(struct child *c, const struct op *op) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) fail(c, errno, BK_STEP_TIOCSPTLCK, 0, 125);
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (s < 0) fail(c, errno, BK_STEP_TIOCGPTPEER, 0, 125);
  if (op_int(op, BK_I_PTY_ROWS) > 0 && op_int(op, BK_I_PTY_COLS) > 0) {
    struct winsize ws = {(unsigned short)op_int(op, BK_I_PTY_ROWS), (unsigned short)op_int(op, BK_I_PTY_COLS), 0, 0};
    (void)ioctl(m, TIOCSWINSZ, &ws);
  }
  if (setsid() < 0 && errno != EPERM) fail(c, errno, BK_STEP_SETSID, 0, 125);
  if (ioctl(s, TIOCSCTTY, 0) < 0) fail(c, errno, BK_STEP_TIOCSCTTY, 0, 125);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(s, fd) < 0) fail(c, errno, BK_STEP_DUP2, 0, 125);
  if (s > 2) close(s);
  /* hand the master to the parent (which passes it on to a console socket) */
  int32_t msg[BK_MSG_INTS] = {BK_MSG_PTY, 0, 0, 0, 0};
  if (send_with_fd(c->sock, msg, sizeof msg, m) < 0) fail(c, errno, BK_STEP_SEND_TERMINAL, 0, 125);
  close(m);
}

/* blocks until `start` opens exec.fifo for reading, then writes "0" */
static void fifo_wait_here(struct child *c) {
  char p[32];
  fdpath(p, c->fifofd);
  int fd = open(p, O_WRONLY | O_CLOEXEC); /* blocks until `start` opens it */
  if (fd < 0) fail(c, errno, BK_STEP_OPEN_EXEC_FIFO, 0, 125);
  if (write(fd, "0", 1) != 1) fail(c, errno, BK_STEP_WRITE_EXEC_FIFO, 0, 125);
  /* kept until exec (O_CLOEXEC): start reads on to EOF, which tells it the
   * startContainer hooks passed (op_hook writes their failure here) */
  c->fifowfd = fd;
  close(c->fifofd);
  c->fifofd = -1;
}

/* With the monitor's memfd (i: fd) the wait is deferred to the EXEC op, which
 * exec's the monitor to wait: a process exec'd into the created container
 * then sees a sealed memfd as PID 1's exe, never bunker's executable
 * (CVE-2019-5736), and may look into it (it is dumpable again, as the
 * program will be), which a rootless exec needs to join its namespaces. */
/* the EXEC op's command can be found now (as runc's LookPath before the
 * fifo): a missing one fails create, reported as that op's error */
static void check_exec(struct child *c) {
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  while (plan_next(&it, &op)) {
    if (op.code != BK_OP_EXEC) continue;
    uint32_t argc = (uint32_t)op_int(&op, BK_I_EXEC_ARGC), envc = (uint32_t)op_int(&op, BK_I_EXEC_ENVC);
    if (argc > MAX_ARGS || envc > MAX_ARGS) return; /* op_exec reports it */
    char *envp[MAX_ARGS + 1];
    const uint8_t *p = op.s;
    const char *file, *arg;
    p = str_next(p, &file, NULL);
    for (uint32_t k = 0; k < argc; k++) p = str_next(p, &arg, NULL);
    for (uint32_t k = 0; k < envc; k++) p = str_next(p, (const char **)&envp[k], NULL);
    envp[envc] = NULL;
    int err = bk_exec_lookup(file, envp);
    if (err) {
      c->op_index = it.index;
      fail(c, err, BK_STEP_LOOK_UP, 0, (err == ENOENT || err == ENOTDIR) ? 127 : 126);
    }
    return;
  }
}

static void op_fifo_wait(struct child *c, const struct op *op) {
  /* the open for writing comes after "ready", when create has gone: whether
   * this user may make it is checked now, while the error can still be told */
  if (syscall(SYS_faccessat2, c->fifofd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) < 0 && errno != ENOSYS) fail(c, errno, BK_STEP_FACCESSAT2, 0, 125);
  check_exec(c);
  send_msg(c->sock, BK_MSG_READY, c->op_index, 0, 0, 0);
  if (op_int(op, BK_I_FIFO_WAIT_EXE) >= 0 && c->initfd >= 0) {
    c->fifo_deferred = 1;
    return;
  }
  fifo_wait_here(c);
}

static void op_write(struct child *c, const struct op *op) {
  uint32_t len;
  const char *content = op_str(op, BK_S_WRITE_CONTENT, &len);
  int fd = open(op_str(op, BK_S_WRITE_PATH, NULL), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  if (write(fd, content, len) != (ssize_t)len) fail(c, errno, BK_STEP_WRITE, 0, 125);
  close(fd);
}

static void close_between(unsigned long long from, unsigned long long to) { /* [from, to) */
  if (from >= to) return;
  if (syscall(SYS_close_range, (unsigned)from, (unsigned)(to - 1), 0) < 0)
    for (unsigned long long fd = from; fd < to && fd < 65536; fd++) close((int)fd);
}

/* close every fd >= FROM except the sync socket and exec.fifo */
static void close_from_except(struct child *c, unsigned from) {
  unsigned long long lo = from, keep[4] = {(unsigned)c->sock, c->fifofd >= 0 ? (unsigned)c->fifofd : ~0ull,
                                           c->exitfd >= 0 ? (unsigned)c->exitfd : ~0ull,
                                           c->initfd >= 0 ? (unsigned)c->initfd : ~0ull};
  for (int i = 0; i < 4; i++) /* sort the four */
    for (int j = i + 1; j < 4; j++)
      if (keep[j] < keep[i]) { unsigned long long t = keep[i]; keep[i] = keep[j]; keep[j] = t; }
  for (int k = 0; k < 4; k++) {
    if (keep[k] == ~0ull || keep[k] < lo) continue;
    close_between(lo, keep[k]);
    lo = keep[k] + 1;
  }
  close_between(lo, 1ull << 32);
}

/* the monitor's memfd of the init or fifo-wait op (op_init, op_fifo_wait), which close-fds must keep; -1 if none */
static int plan_init_fd(struct child *c) {
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  while (plan_next(&it, &op))
    if (op.code == BK_OP_INIT || op.code == BK_OP_FIFO_WAIT) return (int)op_int(&op, op.code == BK_OP_INIT ? BK_I_INIT_EXE : BK_I_FIFO_WAIT_EXE);
  return -1;
}

/* Everything but stdio, the preserved fds, our sync socket and exec.fifo is
 * closed now, not only marked CLOEXEC: a create'd container may wait on the
 * fifo for a long time and must not hold bunker's lock or pipes meanwhile. */
static void op_close_fds(struct child *c, const struct op *op) {
  unsigned first = (unsigned)op_int(op, BK_I_CLOSE_FDS_FIRST);
  if ((unsigned)c->sock < first) {
    /* keep our socket out of the preserved range */
    int s = fcntl(c->sock, F_DUPFD_CLOEXEC, (int)first);
    if (s < 0) fail(c, errno, BK_STEP_F_DUPFD_CLOEXEC, 0, 125);
    close(c->sock);
    c->sock = s;
  }
  c->initfd = plan_init_fd(c);
  int *kept[3] = {&c->fifofd, &c->exitfd, &c->initfd};
  for (int k = 0; k < 3; k++) {
    if (*kept[k] < 0 || (unsigned)*kept[k] >= first) continue;
    int f = fcntl(*kept[k], F_DUPFD_CLOEXEC, (int)first);
    if (f < 0) fail(c, errno, BK_STEP_F_DUPFD_CLOEXEC, 0, 125);
    close(*kept[k]);
    *kept[k] = f;
  }
  for (unsigned fd = 3; fd < first; fd++)
    if (fcntl((int)fd, F_SETFD, 0) < 0) fail(c, errno, BK_STEP_F_SETFD, (int)fd, 125);
  if (c->rootfd >= (int)first) c->rootfd = -1; /* closed below; no op after this resolves paths */
  close_from_except(c, first);
}

static void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; s++)
    if (s != SIGKILL && s != SIGSTOP) (void)sigaction(s, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* "--name=N" into OUT (no snprintf in the child) */
static char *int_arg(char *out, const char *name, int v) {
  size_t n = slen(name);
  memcpy(out, name, n);
  char digits[12];
  int k = 0;
  unsigned u = v < 0 ? (unsigned)-v : (unsigned)v;
  do digits[k++] = (char)('0' + u % 10); while ((u /= 10));
  if (v < 0) out[n++] = '-';
  while (k) out[n++] = digits[--k];
  out[n] = 0;
  return out;
}

/* --init: stay as PID 1, reap everything, forward signals to the command.
 * PID 1 exec's the init executable (c/monitor.c from a sealed memfd, i: fd)
 * so it does not keep a copy of bunker's 40 MB for the container's life;
 * where that exec is refused (seccomp, vm.memfd_noexec) the loop runs here. */
static void op_init(struct child *c) {
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
    if (c->initfd >= 0) close(c->initfd);
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

#ifndef NS_GET_PARENT
#define NS_GET_PARENT _IO(0xb7, 0x2) /* linux/nsfs.h */
#endif

/* i: nstype, parent (1: join the parent of that user namespace: the
 * namespaces a locked container's init keeps are owned by it, op lock) */
static void op_setns(struct child *c, const struct op *op) {
  int fd = open(op_str(op, BK_S_SETNS_PATH, NULL), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  if (op_int(op, BK_I_SETNS_PARENT)) {
    int parent = ioctl(fd, NS_GET_PARENT);
    if (parent < 0) fail(c, errno, BK_STEP_NS_GET_PARENT, 0, 125);
    close(fd);
    fd = parent;
  }
  if (setns(fd, (int)op_int(op, BK_I_SETNS_NSTYPE)) < 0) fail(c, errno, BK_STEP_SETNS, 0, 125);
  close(fd);
}

/* after setns(CLONE_NEWPID) only children are in the pid namespace: fork,
 * tell the parent the child's pid, and let the intermediate exit so the
 * child is adopted by bunker (a subreaper) or its caller's subreaper. */
static void op_fork(struct child *c, const struct op *op) {
  pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (child < 0) fail(c, errno, BK_STEP_CLONE, 0, 125);
  if (child > 0) {
    send_msg(c->sock, BK_MSG_PID, child, 0, 0, 0);
    _exit(0);
  }
  /* i: wait for a second "go": bunker records this pid before it runs on (create) */
  if (op_int(op, BK_I_FORK_WAIT_GO)) wait_for_go(c);
}

/* ------------------------------------------------ image owners (a store op) */

/* Rootless, unpacked layer files belong to the caller and the image's owner
 * is recorded in this xattr ("UID:GID:0MODE:TYPE", src/image/unpack.ts).  In
 * a user namespace whose map holds the caller's subordinate ids, each file
 * gets its recorded owner, so a container with that map sees the image's
 * owners.  C, not a re-exec of bunker: nothing but raw syscalls runs between
 * clone and exit, and it costs no 20 MB process start per layer. */
#define OVERRIDE_XATTR "user.containers.override_stat"
#define CHOWN_MAX_DEPTH 1024

struct dirent64_raw {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* "UID:GID:0MODE:TYPE" -> uid, gid, mode; 0 when malformed */
static int parse_override(const char *s, ssize_t n, uint32_t *out) {
  uint64_t v[3] = {0, 0, 0};
  int field = 0, digits = 0;
  for (ssize_t k = 0; k < n && field < 3; k++) {
    char ch = s[k];
    if (ch == ':') {
      if (!digits) return 0;
      field++;
      digits = 0;
      continue;
    }
    if (ch < '0' || ch > (field == 2 ? '7' : '9') || ++digits > 11) return 0;
    v[field] = v[field] * (field == 2 ? 8 : 10) + (uint64_t)(ch - '0');
  }
  if (field < 3 || v[0] > 0xfffffffeu || v[1] > 0xfffffffeu) return 0;
  out[0] = (uint32_t)v[0];
  out[1] = (uint32_t)v[1];
  out[2] = (uint32_t)v[2];
  return 1;
}

/* gives FD the owner its record names; 0 or -errno.  An id the map does not
 * hold (above the subordinate range) leaves the file the caller's (EINVAL). */
static int apply_override(int fd) {
  char rec[64];
  ssize_t n = fgetxattr(fd, OVERRIDE_XATTR, rec, sizeof rec);
  if (n < 0) return errno == ENODATA || errno == EOPNOTSUPP ? 0 : -errno;
  uint32_t v[3];
  if (!parse_override(rec, n, v)) return -EBADMSG;
  if (fchown(fd, v[0], v[1]) < 0) return errno == EINVAL ? 0 : -errno;
  /* a chown clears a file's set-user-ID and set-group-ID bits: put them back */
  if ((v[2] & 06000) && fchmod(fd, v[2] & 07777) < 0) return -errno;
  return 0;
}

/* Every entry below DIRFD, depth first, with one getdents buffer for all
 * levels: after a subdirectory the parent is re-read from the entry's d_off
 * (seekdir's cookie), so no memory is allocated whatever the tree's shape. */
static int chown_walk(int dirfd, char *buf, size_t size, int depth) {
  if (depth > CHOWN_MAX_DEPTH) return -ELOOP;
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, buf, size);
    if (n < 0) return -errno;
    if (n == 0) return 0;
    int64_t resume = -1;
    for (long pos = 0; pos < n && resume < 0;) {
      struct dirent64_raw *d = (struct dirent64_raw *)(buf + pos);
      pos += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
      unsigned char t = d->d_type;
      if (t == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
        t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
      }
      /* symlinks, fifos, whiteouts and devices cannot carry user.* xattrs: no record */
      if (t != DT_DIR && t != DT_REG) continue;
      int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (t == DT_DIR ? O_DIRECTORY : 0));
      if (fd < 0) return -errno;
      int r = apply_override(fd);
      if (r == 0 && t == DT_DIR) {
        resume = d->d_off; /* read before the subdirectory's entries overwrite buf */
        r = chown_walk(fd, buf, size, depth + 1);
      }
      close(fd);
      if (r < 0) return r;
    }
    if (resume >= 0 && lseek(dirfd, resume, SEEK_SET) < 0) return -errno;
  }
}

static __attribute__((noreturn)) void op_chown_tree(struct child *c, const struct op *op) {
  char buf[16384];
  int fd = open(op_str(op, BK_S_CHOWN_TREE_PATH, NULL), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  int r = apply_override(fd);
  if (r == 0) r = chown_walk(fd, buf, sizeof buf, 0);
  if (r < 0) fail(c, -r, BK_STEP_CHOWN, 0, 125);
  _exit(0);
}

/* run: the container dies with bunker (SIGKILL to bunker must not orphan it).
 * Set last: a credential change (the user op) clears it.  A bunker that died
 * before this point sent no signal: its end of the sync socket is closed then
 * (a process's files go before its children are re-parented), so a hang-up
 * on ours means bunker is gone, and we go too. */
static void op_pdeathsig(struct child *c, const struct op *op) {
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)op_int(op, BK_I_PDEATHSIG_SIGNAL), 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_PDEATHSIG, 0, 125);
  struct pollfd p = {c->sock, POLLRDHUP, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP))) _exit(125);
}

/* detached run: output to a log file, stdin from /dev/null */
static void op_stdio(struct child *c, const struct op *op) {
  int log = open(op_str(op, BK_S_STDIO_LOG, NULL), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) fail(c, errno, BK_STEP_OPEN_LOG, 0, 125);
  if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) fail(c, errno, BK_STEP_DUP2, 0, 125);
  close(log);
  close(null);
}

/* --------------------------------------------------------------- tmpcopyup
 * crun's tmpcopyup: a tmpfs starts with a copy of the directory it covers
 * (owners, modes, times, symlinks, subdirectories).  The directory is opened
 * before the mount (the fd keeps reaching it underneath), copied after. */

#define COPY_MAX_DEPTH 64


/* an owner the user namespace does not map shows as the overflow id and
 * cannot be given (EINVAL): the copy then keeps the namespace root's */
static int copy_owner(int dfd, const char *name, const struct stat *st, int flags) {
  if (fchownat(dfd, name, st->st_uid, st->st_gid, flags) < 0 && errno != EINVAL) return -errno;
  return 0;
}

static int copy_times(int dfd, const char *name, const struct stat *st, int flags) {
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  return utimensat(dfd, name, ts, flags) < 0 ? -errno : 0;
}

static int copy_data(int from, int to) {
  for (;;) {
    ssize_t n = copy_file_range(from, NULL, to, NULL, 1 << 30, 0);
    if (n == 0) return 0;
    if (n > 0) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return -errno;
    break;
  }
  char buf[8192]; /* only one copy_data is active at a time: not on the recursion's frames */
  for (;;) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : 0;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(to, buf + off, (size_t)(n - off));
      if (w < 0 && errno != EINTR) return -errno;
      if (w > 0) off += w;
    }
  }
}

/* FN(ARG, DIRFD, NAME) for every entry of DIRFD but . and .., until FN's
 * first error (-errno).  One getdents buffer per level, on this frame:
 * COPY_MAX_DEPTH of these fit the child's stack. */
static int each_entry(int dirfd, int (*fn)(void *arg, int dirfd, const char *name), void *arg) {
  char dents[2048];
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, dents, sizeof dents);
    if (n <= 0) return n < 0 ? -errno : 0;
    for (long off = 0; off < n;) {
      struct dirent64_raw *d = (struct dirent64_raw *)(dents + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
      int r = fn(arg, dirfd, name);
      if (r < 0) return r;
    }
  }
}

/* NAME of SRC, a symlink, recreated in DST with its owner and times */
static int copy_symlink(int src, int dst, const char *name, const struct stat *st) {
  char target[PATH_BUF];
  ssize_t n = readlinkat(src, name, target, sizeof target - 1);
  if (n < 0) return -errno;
  target[n] = 0;
  if (symlinkat(target, dst, name) < 0) return -errno;
  int r = copy_owner(dst, name, st, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? r : copy_times(dst, name, st, AT_SYMLINK_NOFOLLOW);
}

/* ST's owner, mode and times onto DST's NAME: owner before mode (chown clears
 * set-id bits), times last (the contents changed a directory's) */
static int copy_meta(int dst, const char *name, const struct stat *st) {
  int r = copy_owner(dst, name, st, 0);
  if (r < 0) return r;
  if (fchmodat(dst, name, st->st_mode & 07777, 0) < 0) return -errno;
  return copy_times(dst, name, st, 0);
}

static int copy_tree(int src, int dst, int depth);

/* one entry NAME of directory SRC into directory DST */
static int copy_entry(int src, int dst, const char *name, const struct stat *st, int depth) {
  int r = 0;
  switch (st->st_mode & S_IFMT) {
    case S_IFDIR: {
      if (depth >= COPY_MAX_DEPTH) return -ELOOP;
      if (mkdirat(dst, name, 0700) < 0) return -errno;
      int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return -errno;
      int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) r = -errno;
      else r = copy_tree(s, d, depth + 1);
      close(s);
      if (d >= 0) close(d);
      break;
    }
    case S_IFREG: {
      int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return -errno;
      int d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      r = d < 0 ? -errno : copy_data(s, d);
      close(s);
      if (d >= 0) close(d);
      break;
    }
    case S_IFLNK: return copy_symlink(src, dst, name, st);
    default: /* fifos, sockets, device nodes (a device needs CAP_MKNOD in the host's user namespace) */
      if (mknodat(dst, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0) return -errno;
  }
  return r < 0 ? r : copy_meta(dst, name, st);
}

struct copy_level {
  int dst, depth;
};

static int copy_one(void *arg, int src, const char *name) {
  const struct copy_level *l = arg;
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  return copy_entry(src, l->dst, name, &st, l->depth);
}

static int copy_tree(int src, int dst, int depth) {
  struct copy_level l = {dst, depth};
  return each_entry(src, copy_one, &l);
}

static void op_copyup_open(struct child *c, const struct op *op) {
  c->copyfd = sys_openat2(c->rootfd, op_str(op, BK_S_COPYUP_OPEN_PATH, NULL), O_RDONLY | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
  if (c->copyfd < 0 && errno != ENOENT) fail(c, errno, BK_STEP_OPEN, 0, 125); /* missing: nothing to copy */
}

static void op_copyup(struct child *c, const struct op *op) {
  if (c->copyfd < 0) return;
  int dst = sys_openat2(c->rootfd, op_str(op, BK_S_COPYUP_PATH, NULL), O_RDONLY | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
  if (dst < 0) fail(c, errno, BK_STEP_OPEN_TARGET, 0, 125);
  int r = copy_tree(c->copyfd, dst, 0);
  if (r < 0) fail(c, -r, BK_STEP_COPY, 0, 125);
  if (op_int(op, BK_I_COPYUP_ROOT)) { /* a volume: the directory itself as the image has it (Docker's copy-up) */
    struct stat st;
    struct timespec ts[2];
    if (fstat(c->copyfd, &st) < 0) fail(c, errno, BK_STEP_STAT, 0, 125);
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
    /* owner before mode (chown clears set-id bits); an unmapped owner keeps the namespace root's */
    if (fchown(dst, st.st_uid, st.st_gid) < 0 && errno != EINVAL) fail(c, errno, BK_STEP_CHOWN, 0, 125);
    if (fchmod(dst, st.st_mode & 07777) < 0) fail(c, errno, BK_STEP_FCHMOD, 0, 125);
    if (futimens(dst, ts) < 0) fail(c, errno, BK_STEP_FUTIMENS, 0, 125);
  }
  close(dst);
  close(c->copyfd);
  c->copyfd = -1;
}

/* ------------------------------------------ copy driver: layers merged */

static int remove_at(int dirfd, const char *name, int depth);

static int remove_one(void *depth, int dirfd, const char *name) { return remove_at(dirfd, name, *(const int *)depth); }

/* NAME under DIRFD removed, whatever it is (a whole tree) */
static int remove_at(int dirfd, const char *name, int depth) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return -errno;
  if (depth >= COPY_MAX_DEPTH) return -ELOOP;
  int d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d < 0) return -errno;
  int below = depth + 1;
  int r = each_entry(d, remove_one, &below);
  close(d);
  if (r < 0) return r;
  return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* the user xattrs of SRC's NAME onto DST's NAME (regular files and dirs),
 * but overlay's own (whiteout and opaque markers) and the owner record */
static int copy_xattrs(int src, int dst, const char *name) {
  char list[4096], value[4096];
  int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (s < 0) return -errno;
  ssize_t n = flistxattr(s, list, sizeof list);
  int r = 0;
  if (n > 0) {
    int d = openat(dst, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (d < 0) r = -errno;
    for (ssize_t off = 0; r == 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
      const char *x = list + off;
      if (strncmp(x, "user.", 5) != 0 && strcmp(x, "security.capability") != 0) continue;
      if (!strncmp(x, "user.overlay.", 13) || !strcmp(x, OVERRIDE_XATTR)) continue;
      ssize_t v = fgetxattr(s, x, value, sizeof value);
      if (v < 0) continue;
      if (fsetxattr(d, x, value, (size_t)v, 0) < 0 && errno != EPERM && errno != ENOTSUP) r = -errno;
    }
    if (d >= 0) close(d);
  }
  close(s);
  return r;
}

/* the file's data: a reflink where the filesystem shares blocks (btrfs, xfs), else copied in the kernel */
static int clone_data(int from, int to) {
#ifndef FICLONE
#define FICLONE _IOW(0x94, 9, int)
#endif
  if (ioctl(to, FICLONE, from) == 0) return 0;
  return copy_data(from, to);
}

/* a layer's hard links, kept as links: the path (under DEST) each multiply
 * linked inode of the layer being applied was first copied to.  In an mmap'd
 * arena (the child shares bunker's memory: no malloc, nothing left behind). */
struct merge {
  int dest;            /* DEST's fd: link targets are relative to it */
  char path[PATH_BUF]; /* the directory being merged, relative to DEST ("" at the top) */
  size_t plen;
  uint8_t *arena;      /* records: u64 inode, u16 length, the path (NUL-terminated) */
  size_t used, cap;
};

static const char *link_find(const struct merge *m, uint64_t ino) {
  for (size_t off = 0; off + 10 <= m->used;) {
    uint64_t i;
    uint16_t len;
    memcpy(&i, m->arena + off, 8);
    memcpy(&len, m->arena + off + 8, 2);
    if (i == ino) return (const char *)m->arena + off + 10;
    off += 10 + len;
  }
  return NULL;
}

/* "/NAME" (just NAME when LEN is 0) after the LEN bytes at OUT (CAP bytes), NUL-terminated: the new
 * length, or -1 when it does not fit */
static long path_append(char *out, size_t cap, size_t len, const char *name) {
  size_t n = strlen(name), sep = len ? 1 : 0;
  if (len + sep + n + 1 > cap) return -1;
  if (sep) out[len] = '/';
  memcpy(out + len + sep, name, n + 1);
  return (long)(len + sep + n);
}

static void link_add(struct merge *m, uint64_t ino, const char *name) {
  size_t len = m->plen + (m->plen ? 1 : 0) + strlen(name) + 1;
  if (len > 0xffff || m->used + 10 + len > m->cap) return; /* full: later names get copies */
  uint16_t l16 = (uint16_t)len;
  memcpy(m->arena + m->used, &ino, 8);
  memcpy(m->arena + m->used + 8, &l16, 2);
  char *rec = (char *)m->arena + m->used + 10;
  memcpy(rec, m->path, m->plen);
  (void)path_append(rec, len, m->plen, name);
  m->used += 10 + len;
}

static int merge_tree(struct merge *m, int src, int dst, int depth);

/* one entry NAME of layer directory SRC applied onto DST (what is there already came from lower layers) */
static int merge_entry(struct merge *m, int src, int dst, const char *name, const struct stat *st, int depth) {
  struct stat cur;
  int have = fstatat(dst, name, &cur, AT_SYMLINK_NOFOLLOW) == 0;
  int r;
  if (S_ISCHR(st->st_mode) && st->st_rdev == 0) return have ? remove_at(dst, name, depth) : 0; /* whiteout */
  if (S_ISDIR(st->st_mode)) {
    if (depth >= COPY_MAX_DEPTH) return -ELOOP;
    char opaque[2];
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return -errno;
    int is_opaque = fgetxattr(s, "user.overlay.opaque", opaque, sizeof opaque) == 1 && opaque[0] == 'y';
    r = 0;
    if (have && (!S_ISDIR(cur.st_mode) || is_opaque)) {
      r = remove_at(dst, name, depth); /* a lower non-dir, or a dir this layer makes opaque */
      have = 0;
    }
    if (r == 0 && !have && mkdirat(dst, name, 0700) < 0) r = -errno;
    int d = r < 0 ? -1 : openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (r == 0 && d < 0) r = -errno;
    size_t saved = m->plen;
    if (r == 0) {
      long n = path_append(m->path, sizeof m->path, m->plen, name);
      if (n < 0) r = -ENAMETOOLONG;
      else m->plen = (size_t)n;
    }
    if (r == 0) r = merge_tree(m, s, d, depth + 1);
    m->plen = saved;
    m->path[saved] = 0;
    close(s);
    if (d >= 0) close(d);
    if (r < 0) return r;
  } else {
    if (have && (r = remove_at(dst, name, depth)) < 0) return r;
    if (S_ISREG(st->st_mode)) {
      const char *first = st->st_nlink > 1 ? link_find(m, (uint64_t)st->st_ino) : NULL;
      if (first && linkat(m->dest, first, dst, name, 0) == 0) return 0; /* the inode has its metadata */
      int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return -errno;
      int d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      r = d < 0 ? -errno : clone_data(s, d);
      close(s);
      if (d >= 0) close(d);
      if (r < 0) return r;
      if (st->st_nlink > 1 && !first) link_add(m, (uint64_t)st->st_ino, name);
    } else if (S_ISLNK(st->st_mode)) {
      return copy_symlink(src, dst, name, st);
    } else if (mknodat(dst, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0) {
      return -errno; /* fifos (device nodes are not in rootless layers) */
    }
  }
  if (!S_ISFIFO(st->st_mode) && (r = copy_xattrs(src, dst, name)) < 0) return r;
  return copy_meta(dst, name, st);
}

struct merge_level {
  struct merge *m;
  int dst, depth;
};

static int merge_one(void *arg, int src, const char *name) {
  const struct merge_level *l = arg;
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  return merge_entry(l->m, src, l->dst, name, &st, l->depth);
}

static int merge_tree(struct merge *m, int src, int dst, int depth) {
  struct merge_level l = {m, dst, depth};
  return each_entry(src, merge_one, &l);
}

/* the copy driver's rootfs: DEST (made here) = the layers applied lowest first.
 * Hard links within a layer stay links; across layers they are separate files,
 * as overlayfs shows them (the store keeps each layer's files in its own dir). */
static __attribute__((noreturn)) void op_copy_layers(struct child *c, const struct op *op) {
  const char *dest = op_str(op, BK_S_COPY_LAYERS_DEST, NULL);
  if (mkdir(dest, 0700) < 0) fail(c, errno, BK_STEP_MKDIR, 0, 125);
  struct merge m = {.dest = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), .cap = 16u << 20};
  if (m.dest < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  m.arena = mmap(NULL, m.cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m.arena == MAP_FAILED) fail(c, errno, BK_STEP_MMAP, 0, 125);
  struct stat st = {0};
  int r = 0;
  uint32_t k = BK_S_COPY_LAYERS_LAYERS;
  for (; r == 0 && k < op->nstr; k++) {
    int s = open(op_str(op, k, NULL), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || fstat(s, &st) < 0) {
      r = -errno;
      break;
    }
    m.used = 0; /* links are kept within a layer */
    m.plen = 0;
    m.path[0] = 0;
    r = merge_tree(&m, s, m.dest, 0);
    close(s);
  }
  munmap(m.arena, m.cap); /* bunker's memory (CLONE_VM): leave nothing mapped */
  if (r < 0) fail(c, -r, BK_STEP_MERGE_LAYER, (int)k, 125);
  /* the root: the topmost layer's owner, mode and times */
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (op->nstr > BK_S_COPY_LAYERS_LAYERS && ((fchown(m.dest, st.st_uid, st.st_gid) < 0 && errno != EINVAL) || fchmod(m.dest, st.st_mode & 07777) < 0 || futimens(m.dest, ts) < 0)) fail(c, errno, BK_STEP_ROOT_OWNER, 0, 125);
  _exit(0);
}

/* ---------------------------------------------------- startContainer hooks */

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
static void op_hook(struct child *c, const struct op *op) {
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

static void op_exec(struct child *c, const struct op *op) {
  /* on the child's stack (1 MiB); the first three slots are for the monitor's
   * wait (op_fifo_wait): bunker-start --start-fifo=FD FILE ARGV... */
  char *argv[MAX_ARGS + 4], *envp[MAX_ARGS + 1];
  uint32_t argc = (uint32_t)op_int(op, BK_I_EXEC_ARGC), envc = (uint32_t)op_int(op, BK_I_EXEC_ENVC);
  if (argc > MAX_ARGS || envc > MAX_ARGS) fail(c, E2BIG, BK_STEP_ARGUMENT_COUNT, 0, 125);
  const uint8_t *p = op->s;
  const char *file;
  p = str_next(p, &file, NULL);
  for (uint32_t k = 0; k < argc; k++) p = str_next(p, (const char **)&argv[k + 3], NULL);
  argv[argc + 3] = NULL;
  for (uint32_t k = 0; k < envc; k++) p = str_next(p, (const char **)&envp[k], NULL);
  envp[envc] = NULL;
  reset_signals();
  if (c->fifo_deferred) {
    char a1[32];
    argv[0] = "bunker-start";
    argv[1] = int_arg(a1, "--start-fifo=", c->fifofd);
    argv[2] = (char *)file;
    (void)fcntl(c->fifofd, F_SETFD, 0);
    syscall(SYS_execveat, c->initfd, "", argv, envp, AT_EMPTY_PATH);
    /* refused (seccomp, vm.memfd_noexec): wait here, exec directly */
    (void)fcntl(c->fifofd, F_SETFD, FD_CLOEXEC);
    c->fifo_deferred = 0;
    fifo_wait_here(c);
  }
  int err = bk_exec_path(file, argv + 3, envp);
  fail(c, err, BK_STEP_EXECVE, 0, (err == ENOENT || err == ENOTDIR) ? 127 : 126);
}

static int child_setup(void *arg);

/* blocked until the parent says "go" (it has written the id maps, joined the
 * cgroup and recorded our pid in state.json); EOF: bunker died first, so do we */
static void wait_for_go(struct child *c) {
  int32_t go[2];
  if (read(c->sock, go, sizeof go) != sizeof go || go[0] != 'G') _exit(125);
  c->hostpid = go[1];
}

/* the container's first process after a join: bunker records its pid before
 * it runs anything (a second "go") */
static int child_joined(void *arg) {
  wait_for_go(arg);
  return child_setup(arg);
}

/* BK_JOIN_USERNS: the user namespace exists already (bunker's shared one,
 * src/container/userns.ts), so the clone made none and this child joins it
 * (the plan's first op, a SETNS of a user namespace), then makes the other
 * namespaces, now owned by it.  A pid namespace takes effect for children
 * only: a second process is cloned into it with CLONE_PARENT, so it is
 * bunker's child as if it had been cloned directly, and its pid goes to
 * bunker (BK_MSG_PID) before this intermediate exits.  CLONE_VM with a stack
 * of its own: no page tables are copied. */
static void join_userns(struct child *c, uint64_t flags) {
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  c->op_index = 0;
  if (!plan_next(&it, &op) || op.code != BK_OP_SETNS || op_int(&op, BK_I_SETNS_NSTYPE) != CLONE_NEWUSER) fail(c, EINVAL, BK_STEP_NOT_A_USER_NAMESPACE, 0, 125);
  op_setns(c, &op);
  int ns = (int)(flags & (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID));
  if (ns && unshare(ns) < 0) fail(c, errno, BK_STEP_UNSHARE, 0, 125);
  if (!(flags & CLONE_NEWPID)) return;
  uint8_t *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) fail(c, errno, BK_STEP_MMAP, 0, 125);
  /* CLONE_PARENT_SETTID: the child's pid in our (bunker's) pid namespace is
   * in c->hostpid before the child runs */
  int pid = clone(child_joined, stack + STACK_SIZE, CLONE_VM | CLONE_PARENT | CLONE_PARENT_SETTID | SIGCHLD, c, &c->hostpid);
  if (pid < 0) fail(c, errno, BK_STEP_CLONE, 0, 125);
  send_msg(c->sock, BK_MSG_PID, pid, 0, 0, 0);
  _exit(0);
}

static int child_main(void *arg) {
  struct child *c = arg;
  /* our copy of bunker's end: kept, it would hide bunker's death from the read below */
  close(c->peer);
  wait_for_go(c);
  uint64_t flags;
  memcpy(&flags, c->plan + 8, 8);
  if (flags & BK_JOIN_USERNS) join_userns(c, flags);
  return child_setup(c);
}

static int child_setup(void *arg) {
  struct child *c = arg;
  uint64_t flags;
  memcpy(&flags, c->plan + 8, 8);
  if (flags & CLONE_NEWCGROUP) {
    /* now, not at clone: the parent has just moved us into the container's
     * cgroup, which becomes the namespace's root ("0::/" inside) */
    if (unshare(CLONE_NEWCGROUP) < 0) {
      c->op_index = -1;
      fail(c, errno, BK_STEP_UNSHARE, 0, 125);
    }
  }
  if (flags & CLONE_NEWUSER) {
    /* become the namespace's root: our ids are still the creator's, which the
     * map need not contain (root creating a 0 -> 1001 map); files the mounts
     * create would get an overflow owner (EOVERFLOW).  A map without 0 keeps
     * the old ids (EINVAL is fine). */
    (void)syscall(SYS_setresgid, 0, 0, 0);
    (void)syscall(SYS_setresuid, 0, 0, 0);
  }
  struct plan_iter it = plan_begin(c->plan, c->len);
  struct op op;
  if (flags & BK_JOIN_USERNS) (void)plan_next(&it, &op); /* joined already */
  while (plan_next(&it, &op)) {
    c->op_index = (int)it.index;
    switch (op.code) {
      case BK_OP_ROOTFS: op_rootfs(c, &op); break;
      case BK_OP_MOUNT: op_mount(c, &op); break;
      case BK_OP_BIND: op_bind(c, &op); break;
      case BK_OP_SYMLINK: op_symlink(c, &op); break;
      case BK_OP_PIVOT: op_pivot(c, &op); break;
      case BK_OP_SETATTR: op_setattr(c, &op); break;
      case BK_OP_MASK: op_mask(c, &op); break;
      case BK_OP_HOSTNAME: {
        uint32_t n;
        const char *s = op_str(&op, BK_S_HOSTNAME_NAME, &n);
        if (sethostname(s, n) < 0) fail(c, errno, BK_STEP_SETHOSTNAME, 0, 125);
        break;
      }
      case BK_OP_DOMAINNAME: {
        uint32_t n;
        const char *s = op_str(&op, BK_S_DOMAINNAME_NAME, &n);
        if (setdomainname(s, n) < 0) fail(c, errno, BK_STEP_SETDOMAINNAME, 0, 125);
        break;
      }
      case BK_OP_LO_UP: op_lo_up(c); break;
      case BK_OP_LOCK: op_lock(c, &op); break;
      case BK_OP_CHDIR: op_chdir(c, &op); break;
      case BK_OP_RLIMIT: {
        struct rlimit rl = {(rlim_t)op_int(&op, BK_I_RLIMIT_SOFT), (rlim_t)op_int(&op, BK_I_RLIMIT_HARD)};
        if (prlimit(0, (int)op_int(&op, BK_I_RLIMIT_RESOURCE), &rl, NULL) < 0) fail(c, errno, BK_STEP_PRLIMIT, 0, 125);
        break;
      }
      case BK_OP_USER: op_user(c, &op); break;
      case BK_OP_CAPS: op_caps(c, &op); break;
      case BK_OP_NNP:
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_NO_NEW_PRIVS, 0, 125);
        break;
      case BK_OP_SECCOMP: op_seccomp(c, &op); break;
      case BK_OP_MKNOD: op_mknod(c, &op); break;
      case BK_OP_NONDUMPABLE:
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(c, errno, BK_STEP_PR_SET_DUMPABLE, 0, 125);
        break;
      case BK_OP_PTY: op_pty(c, &op); break;
      case BK_OP_SETSID:
        if (setsid() < 0 && errno != EPERM) fail(c, errno, BK_STEP_SETSID, 0, 125);
        break;
      case BK_OP_FIFO_OPEN:
        c->fifofd = open(op_str(&op, BK_S_FIFO_OPEN_PATH, NULL), O_PATH | O_CLOEXEC);
        if (c->fifofd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
        break;
      case BK_OP_FIFO_WAIT: op_fifo_wait(c, &op); break;
      case BK_OP_WRITE: op_write(c, &op); break;
      case BK_OP_UMASK: umask((mode_t)op_int(&op, BK_I_UMASK_MASK)); break;
      case BK_OP_CLOSE_FDS: op_close_fds(c, &op); break;
      case BK_OP_STDIN_NULL: {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0) fail(c, errno, BK_STEP_OPEN_DEV_NULL, 0, 125);
        close(fd);
        break;
      }
      case BK_OP_INIT: op_init(c); break;
      case BK_OP_SETNS: op_setns(c, &op); break;
      case BK_OP_FORK: op_fork(c, &op); break;
      case BK_OP_PDEATHSIG: op_pdeathsig(c, &op); break;
      case BK_OP_STDIO: op_stdio(c, &op); break;
      case BK_OP_EXIT_FILE:
        c->exitfd = open(op_str(&op, BK_S_EXIT_FILE_PATH, NULL), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (c->exitfd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
        break;
      case BK_OP_COPYUP_OPEN: op_copyup_open(c, &op); break;
      case BK_OP_COPYUP: op_copyup(c, &op); break;
      case BK_OP_HOOK: op_hook(c, &op); break;
      case BK_OP_EXEC: op_exec(c, &op); break;
      case BK_OP_CHOWN_TREE: op_chown_tree(c, &op);
      case BK_OP_COPY_LAYERS: op_copy_layers(c, &op);
      default: fail(c, EINVAL, BK_STEP_UNKNOWN_OP, (int)op.code, 125);
    }
  }
  fail(c, EINVAL, BK_STEP_NO_EXEC_OP, 0, 125); /* a plan must end in EXEC */
}

/* ---------------------------------------------------------------- parent */

int bk_flock(int fd, int op) { return flock(fd, op) < 0 ? -errno : 0; }

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

/* connects to the unix socket SOCKET_PATH and sends DATA (LEN bytes) with FD
 * (SCM_RIGHTS) on the first sendmsg, the rest after it; one connection per
 * call.  Returns 0 or -errno. */
int bk_send_fd_with(const char *socket_path, int fd, const uint8_t *data, uint32_t len) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(socket_path) >= sizeof addr.sun_path) return -ENAMETOOLONG;
  strcpy(addr.sun_path, socket_path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    close(s);
    return -e;
  }
  uint32_t off = 0;
  ssize_t n;
  do n = send_with_fd(s, (void *)data, len, fd); while (n < 0 && errno == EINTR);
  while (n >= 0 && (off += (uint32_t)n) < len) {
    do n = send(s, data + off, len - off, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  }
  int r = n < 0 ? -errno : 0;
  close(s);
  return r;
}

/* OCI --console-socket: send the pty master to the caller (conmon) */
int bk_send_fd(const char *socket_path, int fd) {
  static const char name[] = "/dev/ptmx";
  return bk_send_fd_with(socket_path, fd, (const uint8_t *)name, sizeof name - 1);
}

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

/* When the plan asks for CLONE_VM (TypeScript does, unless the child stays
 * alive without exec'ing: --init), the child shares bunker's memory, as
 * posix_spawn's does: no page
 * tables of a large Bun process are copied, and its execve has no copy to
 * tear down.  It runs on its own stack in a private region that also holds
 * a copy of the plan and its state, so nothing the parent frees or the
 * garbage collector moves is read; the region is left mapped (the child may
 * outlive this call, e.g. a created container waiting on exec.fifo).  The
 * child's libc calls may still write errno in the parent thread's TLS: the
 * parent only waits on the sync socket meanwhile, with raw syscalls that do
 * not read errno (raw_syscall below). */
int bk_spawn(const uint8_t *plan, uint32_t len, int32_t *out) {
  uint32_t magic;
  uint64_t flags;
  if (len < 16) return -EINVAL;
  memcpy(&magic, plan, 4);
  memcpy(&flags, plan + 8, 8);
  if (magic != BK_MAGIC) return -EINVAL;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
  size_t plan_off = STACK_SIZE, child_off = STACK_SIZE + ((len + 63) & ~(size_t)63);
  size_t size = child_off + sizeof(struct child);
  uint8_t *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (region == MAP_FAILED) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return -e;
  }
  memcpy(region + plan_off, plan, len);
  struct child *c = (struct child *)(region + child_off);
  *c = (struct child){region + plan_off, len, sv[1], -1, -1, -1, -1, -1, -1, 0, -1, 0, sv[0]};
  /* the cgroup namespace is made by the child after "go" (see child_main) */
  uint64_t cf = flags & ~(uint64_t)CLONE_NEWCGROUP & 0xffffffffu;
  if (flags & BK_JOIN_USERNS) cf &= ~(uint64_t)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID);
  int pid = clone(child_main, region + STACK_SIZE, (int)cf | SIGCHLD, c);
  int e = errno;
  close(sv[1]);
  if (!(flags & CLONE_VM) || pid < 0) {
    munmap(region, size); /* without CLONE_VM the child has its own copy */
  }
  if (pid < 0) {
    close(sv[0]);
    return -e;
  }
  out[0] = pid;
  out[1] = sv[0];
  return 0;
}

/* a syscall that returns -errno and leaves errno alone */
static long raw_syscall(long n, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

int bk_send_go(int sock, int pid) {
  int32_t go[2] = {'G', pid};
  struct iovec iov = {go, sizeof go};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  long r = raw_syscall(SYS_sendmsg, sock, (long)&mh, MSG_NOSIGNAL);
  return r == (long)sizeof go ? 0 : (r < 0 ? (int)r : -EIO);
}

/* One message from the child: returns its type, 0 at EOF (the child exec'd
 * or exited), or -errno.  out: op, errno, step, arg, received fd (or -1). */
int bk_read_msg(int sock, int32_t *out) {
  int32_t m[BK_MSG_INTS];
  struct iovec iov = {m, sizeof m};
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  long n;
  do n = raw_syscall(SYS_recvmsg, sock, (long)&mh, MSG_CMSG_CLOEXEC); while (n == -EINTR);
  if (n < 0) return (int)n;
  if (n == 0) return 0;
  if (n != sizeof m) return -EPROTO;
  for (int k = 1; k < BK_MSG_INTS; k++) out[k - 1] = m[k];
  out[BK_MSG_INTS - 1] = -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(&out[BK_MSG_INTS - 1], CMSG_DATA(cm), sizeof(int));
  return m[0];
}
