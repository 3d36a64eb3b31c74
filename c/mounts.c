/* bunker shim, mounts.c: The container's filesystem: the root, mounts and binds resolved inside it (openat2
 * RESOLVE_IN_ROOT), device nodes, symlinks, pivot_root, mount attributes, masked paths, tmpcopyup. */
#define _GNU_SOURCE
#include "child.h"

int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)flags;
  how.resolve = resolve;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}


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

/* BUF's component at I (its last when LAST; the parent's path is BUF up to I - 1) is missing: make it
 * in PARENT (resolved safely in the root, closed here) as a directory or, last with BK_MKFILE, an empty
 * file, then open BUF from the root again.  Returns the fd or -errno. */
static int make_component(struct child *c, int parent, char *buf, size_t i, int last, unsigned how, int depth) {
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
  int fd = sys_openat2(c->rootfd, buf, O_PATH | O_CLOEXEC, IN_ROOT);
  e = errno;
  if (fd < 0 && e == ENOENT && r < 0) {
    /* it exists, yet cannot be opened: a dangling symlink */
    if (last) {
      int f = follow_dangling(c, parent, buf, i > 0 ? i - 1 : 0, buf + i, how, depth);
      close(parent);
      return f;
    }
    e = ENOENT;
  }
  close(parent);
  return fd >= 0 ? fd : -e;
}

static int open_in_root_depth(struct child *c, const char *path, unsigned how, int depth) {
  char buf[PATH_BUF];
  size_t n = slen(path);
  if (n + 2 >= sizeof buf) return -ENAMETOOLONG;
  int fd = sys_openat2(c->rootfd, path, O_PATH | O_CLOEXEC, IN_ROOT);
  if (fd >= 0 || errno != ENOENT || !(how & (BK_MKDIR | BK_MKFILE))) return fd >= 0 ? fd : -errno;
  memcpy(buf, path, n + 1);
  /* the common case (a device node, a mount point on the fresh /dev tmpfs): only the
   * last component is missing, and its directory opens at once; the walk below would
   * open each prefix again to come to the same directory */
  size_t k = n;
  while (k > 0 && buf[k - 1] != '/') k--;
  if (k > 0 && k < n && !(buf[k] == '.' && (buf[k + 1] == 0 || (buf[k + 1] == '.' && buf[k + 2] == 0)))) {
    buf[k - 1] = 0;
    int parent = sys_openat2(c->rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
    buf[k - 1] = '/';
    if (parent >= 0) return make_component(c, parent, buf, k, 1, how, depth);
    /* else: the walk, which reports what is wrong with which prefix */
  }
  /* walk the prefixes, creating what is missing */
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
      int parent;
      if (i > 0) {
        char psave = buf[i - 1];
        buf[i - 1] = 0;
        parent = sys_openat2(c->rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
        buf[i - 1] = psave;
      } else {
        parent = sys_openat2(c->rootfd, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
      }
      if (parent < 0) return -errno;
      fd = make_component(c, parent, buf, i, last, how, depth);
      if (fd < 0) return fd;
    } else if (fd < 0) {
      return -errno;
    }
    buf[j] = save;
    if (!last) close(fd);
    else return fd;
    i = j;
    while (i < n && buf[i] == '/') i++;
  }
  fd = sys_openat2(c->rootfd, "/", O_PATH | O_CLOEXEC, IN_ROOT); /* PATH was "/" */
  return fd >= 0 ? fd : -errno;
}

static int setattr_fd(int fd, uint64_t set, uint64_t clr, int recursive) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = set;
  attr.attr_clr = clr;
  return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}

void op_rootfs(struct child *c, const struct op *op) {
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

void op_mount(struct child *c, const struct op *op) {
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
    if (l >= 0 && fstat(l, &st) == 0) {
      if (S_ISLNK(st.st_mode)) fail(c, ELOOP, BK_STEP_TARGET_IS_A_SYMLINK, 0, 125);
      fd = l; /* not a symlink: what open_in_root would open again */
    } else if (l >= 0) {
      close(l);
    }
  }
  if (how & BK_IN_ROOT) {
    if (fd < 0) fd = open_in_root(c, tgt, how);
    if (fd < 0) fail(c, -fd, BK_STEP_OPEN_TARGET, 0, 125);
    fdpath(p, fd);
    tgt = p;
  }
  if (mount(*src ? src : NULL, tgt, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0 && !(how & BK_OPTIONAL))
    fail(c, errno, BK_STEP_MOUNT, 0, 125);
  if (fd >= 0) close(fd);
}

void op_bind(struct child *c, const struct op *op) {
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
void op_mknod(struct child *c, const struct op *op) {
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

void op_symlink(struct child *c, const struct op *op) {
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

void op_pivot(struct child *c, const struct op *op) {
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

void op_setattr(struct child *c, const struct op *op) {
  int fd = open(op_str(op, BK_S_SETATTR_PATH, NULL), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail(c, errno, BK_STEP_OPEN, 0, 125);
  }
  if (setattr_fd(fd, (uint64_t)op_int(op, BK_I_SETATTR_ATTR_SET), (uint64_t)op_int(op, BK_I_SETATTR_ATTR_CLR), (int)op_int(op, BK_I_SETATTR_RECURSIVE)) < 0) fail(c, errno, BK_STEP_MOUNT_SETATTR, 0, 125);
  close(fd);
}

void op_mask(struct child *c, const struct op *op) {
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

void op_copyup_open(struct child *c, const struct op *op) {
  c->copyfd = sys_openat2(c->rootfd, op_str(op, BK_S_COPYUP_OPEN_PATH, NULL), O_RDONLY | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
  if (c->copyfd < 0 && errno != ENOENT) fail(c, errno, BK_STEP_OPEN, 0, 125); /* missing: nothing to copy */
}

void op_copyup(struct child *c, const struct op *op) {
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
