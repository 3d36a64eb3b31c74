/* bunker shim, tree.c: The one tree walker (each_entry) and the copy and removal built on it: tmpcopyup (mounts.c),
 * the image store ops (store.c) and the monitor's cgroup removal (c/monitor.c). */
#define _GNU_SOURCE
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PATH_BUF 4096

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

int copy_data(int from, int to) {
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

int each_entry_in(int dirfd, char *buf, size_t size, tree_fn fn, void *arg) {
  for (;;) {
    long n = syscall(SYS_getdents64, dirfd, buf, size);
    if (n <= 0) return n < 0 ? -errno : 0;
    for (long off = 0; off < n;) {
      struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
      off += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
      int64_t next = d->d_off; /* read before FN may reuse BUF */
      int r = fn(arg, dirfd, name, d->d_type);
      if (r < 0) return r;
      if (r == TREE_RESEEK) {
        if (lseek(dirfd, next, SEEK_SET) < 0) return -errno;
        break;
      }
    }
  }
}

int each_entry(int dirfd, tree_fn fn, void *arg) {
  char dents[2048];
  return each_entry_in(dirfd, dents, sizeof dents, fn, arg);
}

/* NAME of SRC, a symlink, recreated in DST with its owner and times */
int copy_symlink(int src, int dst, const char *name, const struct stat *st) {
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
int copy_meta(int dst, const char *name, const struct stat *st) {
  int r = copy_owner(dst, name, st, 0);
  if (r < 0) return r;
  if (fchmodat(dst, name, st->st_mode & 07777, 0) < 0) return -errno;
  return copy_times(dst, name, st, 0);
}

/* hard links kept: a source file with several links, once copied, is linked
 * again (not copied again) where its other names come, as tar and cp -a do.
 * The first copy's fd stays open and the next name is linked to it through
 * /proc/self/fd (linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH in the
 * host's namespace): exactly the inode this copy made, whatever the
 * destination's tree does meanwhile.  A full table or a failed link (another
 * filesystem, protected_hardlinks) falls back to a copy.  One copy at a time
 * per process (the walks run in one-shot helpers): reset at each walk's top. */
#define LINKS_MAX 128
static struct {
  dev_t dev;
  ino_t ino;
  int fd;
} links[LINKS_MAX];
static int nlinks;

static void links_reset(void) {
  for (int i = 0; i < nlinks; i++) close(links[i].fd);
  nlinks = 0;
}

/* NAME in DST made a hard link of the copy of ST's inode made earlier in this walk: 1 when it was, 0 when a copy is due */
static int link_again(int dst, const char *name, const struct stat *st) {
  if (st->st_nlink < 2) return 0;
  for (int i = 0; i < nlinks; i++) {
    if (links[i].dev != st->st_dev || links[i].ino != st->st_ino) continue;
    char proc[40] = "/proc/self/fd/";
    int n = 14, fd = links[i].fd;
    char digits[12];
    int k = 0;
    do digits[k++] = (char)('0' + fd % 10); while ((fd /= 10) > 0);
    while (k > 0) proc[n++] = digits[--k];
    proc[n] = 0;
    return linkat(AT_FDCWD, proc, dst, name, AT_SYMLINK_FOLLOW) == 0;
  }
  return 0;
}

/* the copy D of ST's inode remembered for its other names (D then stays open): 1 when it was */
static int link_remember(int d, const struct stat *st) {
  if (st->st_nlink < 2 || nlinks >= LINKS_MAX) return 0;
  links[nlinks].dev = st->st_dev;
  links[nlinks].ino = st->st_ino;
  links[nlinks].fd = d;
  nlinks++;
  return 1;
}

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
      if (link_again(dst, name, st)) return 0; /* the inode's owner, mode and times are the first name's */
      int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return -errno;
      int d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      r = d < 0 ? -errno : copy_data(s, d);
      close(s);
      if (d >= 0 && (r < 0 || !link_remember(d, st))) close(d);
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

static int copy_one(void *arg, int src, const char *name, unsigned char type) {
  (void)type;
  const struct copy_level *l = arg;
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  return copy_entry(src, l->dst, name, &st, l->depth);
}

int copy_tree(int src, int dst, int depth) {
  struct copy_level l = {dst, depth};
  if (depth == 0) links_reset();
  int r = each_entry(src, copy_one, &l);
  if (depth == 0) links_reset();
  return r;
}

/* merging: NAME of SRC onto DST's existing or missing NAME, as docker cp's
 * extraction does: a directory onto a directory is merged into (its owner,
 * mode and times then the source's), anything else onto a non-directory
 * replaces it; a directory onto a non-directory or the reverse replaces it
 * only when OVERWRITE_DIR_NONDIR (else -EISDIR / -ENOTDIR, at *CONFLICT).
 * Every entry is opened or made one component at a time under a directory
 * fd, never following a symlink: DST's tree cannot lead the copy outside it. */
struct merge_level {
  int dst, depth, overwrite;
  int *conflict;
};

static int merge_one(void *arg, int src, const char *name, unsigned char type) {
  (void)type;
  const struct merge_level *l = arg;
  struct stat st, dt;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  if (fstatat(l->dst, name, &dt, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT) return -errno;
    return copy_entry(src, l->dst, name, &st, l->depth);
  }
  int sdir = S_ISDIR(st.st_mode), ddir = S_ISDIR(dt.st_mode);
  if (sdir && ddir) {
    if (l->depth >= COPY_MAX_DEPTH) return -ELOOP;
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return -errno;
    int d = openat(l->dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r = d < 0 ? -errno : merge_into(s, d, l->overwrite, l->depth + 1, l->conflict);
    close(s);
    if (d >= 0) close(d);
    return r < 0 ? r : copy_meta(l->dst, name, &st);
  }
  if (sdir != ddir && !l->overwrite) {
    *l->conflict = 1;
    return sdir ? -ENOTDIR : -EISDIR;
  }
  int r = remove_at(l->dst, name, l->depth);
  return r < 0 ? r : copy_entry(src, l->dst, name, &st, l->depth);
}

int merge_into(int src, int dst, int overwrite_dir_nondir, int depth, int *conflict) {
  struct merge_level l = {dst, depth, overwrite_dir_nondir, conflict};
  if (depth == 0) links_reset();
  int r = each_entry(src, merge_one, &l);
  if (depth == 0) links_reset();
  return r;
}

static int remove_one(void *depth, int dirfd, const char *name, unsigned char type) {
  (void)type;
  return remove_at(dirfd, name, *(const int *)depth);
}

int remove_at(int dirfd, const char *name, int depth) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return 0;
  int why = errno; /* EISDIR, or EPERM for a directory on some filesystems */
  if (why != EISDIR && why != EPERM) return -why;
  if (depth >= REMOVE_MAX_DEPTH) return -ELOOP;
  int d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* a directory without search permission (overlayfs leaves work/work with mode 0): opened up */
  if (d < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0) d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d < 0) return errno == ENOTDIR ? -why : -errno;
  int below = depth + 1;
  int r = each_entry(d, remove_one, &below);
  close(d);
  if (r < 0) return r;
  return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -errno;
}
