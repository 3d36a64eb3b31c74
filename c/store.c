/* bunker shim, store.c: Image store ops, not a container's (a plan of one of these ops is run by store_op(); no container
 * plan reaches them): image owners from user.containers.override_stat records, the copy
 * driver's merge of layers into one directory, and the removal of a tree of subordinate owners. */
#define _GNU_SOURCE
#include "child.h"

/* Rootless, unpacked layer files belong to the caller and the image's owner
 * is recorded in this xattr ("UID:GID:0MODE:TYPE", src/image/unpack.ts).  In
 * a user namespace whose map holds the caller's subordinate ids, each file
 * gets its recorded owner, so a container with that map sees the image's
 * owners.  C, not a re-exec of bunker: nothing but raw syscalls runs between
 * clone and exit, and it costs no 20 MB process start per layer. */
#define OVERRIDE_XATTR "user.containers.override_stat"

#define CHOWN_MAX_DEPTH 1024

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

/* the image owners' walk: every file below a directory, depth first, with the
 * one getdents buffer of op_chown_tree for all levels (each_entry_in re-reads a
 * parent after a subdirectory), so no memory is allocated whatever the tree's shape */
struct chown_walk {
  char *buf;
  size_t size;
  int depth;
};

static int chown_one(void *arg, int dirfd, const char *name, unsigned char t) {
  struct chown_walk *w = arg;
  if (t == DT_UNKNOWN) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
    t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
  }
  /* symlinks, fifos, whiteouts and devices cannot carry user.* xattrs: no record */
  if (t != DT_DIR && t != DT_REG) return 0;
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (t == DT_DIR ? O_DIRECTORY : 0));
  if (fd < 0) return -errno;
  int r = apply_override(fd);
  if (r == 0 && t == DT_DIR) {
    if (w->depth >= CHOWN_MAX_DEPTH) r = -ELOOP;
    else {
      w->depth++;
      r = each_entry_in(fd, w->buf, w->size, chown_one, w);
      w->depth--;
      if (r == 0) r = TREE_RESEEK; /* the subdirectory's records are in the buffer now */
    }
  }
  close(fd);
  return r;
}

static __attribute__((noreturn)) void op_chown_tree(struct child *c, const struct op *op) {
  char buf[16384];
  int fd = open(op_str(op, BK_S_CHOWN_TREE_PATH, NULL), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  int r = apply_override(fd);
  struct chown_walk w = {buf, sizeof buf, 0};
  if (r == 0) r = each_entry_in(fd, buf, sizeof buf, chown_one, &w);
  if (r < 0) fail(c, -r, BK_STEP_CHOWN, 0, 125);
  _exit(0);
}

/* the user xattrs of SRC's NAME onto DST's NAME (regular files and dirs),
 * but the opaque marker OPAQUE (the unpacker lets no other overlay xattr into
 * a layer); the owner record is kept: chown-tree gives a copier-owned merge
 * the container's owners from it */
static int copy_xattrs(int src, int dst, const char *name, const char *opaque) {
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
      if (!strcmp(x, opaque)) continue;
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
  const char *opaque;  /* the xattr of an opaque dir (src/image/whiteout.ts's OPAQUE_XATTR) */
  int copier_owns;     /* every file gets the copier's ids (UID, GID), not the layer's owner */
  uid_t uid;
  gid_t gid;
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
  struct stat cur, own;
  int have = fstatat(dst, name, &cur, AT_SYMLINK_NOFOLLOW) == 0;
  int r;
  if (S_ISCHR(st->st_mode) && st->st_rdev == 0) return have ? remove_at(dst, name, depth) : 0; /* whiteout */
  const struct stat *meta = st; /* the owner, mode and times the copy gets */
  if (m->copier_owns) {
    own = *st;
    own.st_uid = m->uid;
    own.st_gid = m->gid;
    meta = &own;
  }
  if (S_ISDIR(st->st_mode)) {
    if (depth >= COPY_MAX_DEPTH) return -ELOOP;
    char opaque[2];
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return -errno;
    int is_opaque = fgetxattr(s, m->opaque, opaque, sizeof opaque) == 1 && opaque[0] == 'y';
    r = 0;
    if (have && (!S_ISDIR(cur.st_mode) || is_opaque)) {
      r = remove_at(dst, name, depth); /* a lower non-dir, or a dir this layer makes opaque */
      have = 0;
    }
    if (r == 0 && !have && mkdirat(dst, name, 0700) < 0) r = -errno;
    int d = r < 0 ? -1 : openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (r == 0 && d < 0) r = -errno;
    /* a lower layer's dir: this layer's record (or none) is the owner, as overlayfs shows the upper dir's xattrs */
    if (r == 0 && have && fremovexattr(d, OVERRIDE_XATTR) < 0 && errno != ENODATA && errno != ENOTSUP) r = -errno;
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
      return copy_symlink(src, dst, name, meta);
    } else if (mknodat(dst, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0) {
      return -errno; /* fifos (device nodes are not in rootless layers) */
    }
  }
  if (!S_ISFIFO(st->st_mode) && (r = copy_xattrs(src, dst, name, m->opaque)) < 0) return r;
  return copy_meta(dst, name, meta);
}

struct merge_level {
  struct merge *m;
  int dst, depth;
};

static int merge_one(void *arg, int src, const char *name, unsigned char type) {
  (void)type;
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
  struct merge m = {.dest = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), .cap = 16u << 20,
                    .opaque = op_str(op, BK_S_COPY_LAYERS_OPAQUE_XATTR, NULL), .copier_owns = op_int(op, BK_I_COPY_LAYERS_COPIER_OWNS) != 0, .uid = getuid(), .gid = getgid()};
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
  /* the root: the topmost layer's owner (the copier's already when it owns everything), mode and times */
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (op->nstr > BK_S_COPY_LAYERS_LAYERS && ((!m.copier_owns && fchown(m.dest, st.st_uid, st.st_gid) < 0 && errno != EINVAL) || fchmod(m.dest, st.st_mode & 07777) < 0 || futimens(m.dest, ts) < 0)) fail(c, errno, BK_STEP_ROOT_OWNER, 0, 125);
  _exit(0);
}

/* PATH removed, whole (in a user namespace that maps the owners of its files:
 * a state dir's writable layer, a store's layer; src/container/cleanup.ts) */
static __attribute__((noreturn)) void op_remove_tree(struct child *c, const struct op *op) {
  int r = remove_at(AT_FDCWD, op_str(op, BK_S_REMOVE_TREE_PATH, NULL), 0);
  if (r < 0) fail(c, -r, 0, 0, 125); /* the op says it all: "cannot remove PATH" */
  _exit(0);
}

int is_store_op(uint32_t code) { return code == BK_OP_CHOWN_TREE || code == BK_OP_COPY_LAYERS || code == BK_OP_REMOVE_TREE || code == BK_OP_COPY_INTO; }

void store_op(struct child *c, const struct op *op) {
  if (op->code == BK_OP_CHOWN_TREE) op_chown_tree(c, op);
  if (op->code == BK_OP_REMOVE_TREE) op_remove_tree(c, op);
  if (op->code == BK_OP_COPY_INTO) op_copy_into(c, op);
  op_copy_layers(c, op);
}
