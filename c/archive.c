/* bunker shim, archive.c: the two ends of `bunker cp` (and the Engine API's archive endpoints) in a container's
 * root, run by a helper in the container's user namespace: the directory the host's tar archives from, and the
 * merge of an extracted tree into the container.  Every path is resolved inside the root with openat2
 * (RESOLVE_IN_ROOT): a symlink to the host's /etc or a path of ../.. stays in the container. */
#define _GNU_SOURCE
#include "child.h"

/* the root ROOT names (/proc/PID/root, or a stopped container's rootfs), and PATH in it as a directory: FLAGS */
static int open_dir_in_root(struct child *c, const char *root, const char *path, int flags) {
  int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail(c, errno, BK_STEP_OPEN, 0, 125);
  int fd = sys_openat2(rootfd, path, flags | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
  if (fd < 0) fail(c, errno, BK_STEP_OPEN_TARGET, 0, 125);
  close(rootfd);
  return fd;
}

/* the helper's cwd becomes PATH in ROOT: the host's tar then archives names relative to it, and follows no
 * symlink it archives */
void op_chdir_in_root(struct child *c, const struct op *op) {
  int fd = open_dir_in_root(c, op_str(op, BK_S_CHDIR_IN_ROOT_ROOT, NULL), op_str(op, BK_S_CHDIR_IN_ROOT_PATH, NULL), O_PATH);
  if (fchdir(fd) < 0) fail(c, errno, BK_STEP_FCHDIR, 0, 125);
  close(fd);
}

/* the tree FROM (a host directory the client's archive was extracted into) merged into PATH of ROOT */
void op_copy_into(struct child *c, const struct op *op) {
  int src = open(op_str(op, BK_S_COPY_INTO_FROM, NULL), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (src < 0) fail(c, errno, BK_STEP_OPEN_SOURCE, 0, 125);
  int dst = open_dir_in_root(c, op_str(op, BK_S_COPY_INTO_ROOT, NULL), op_str(op, BK_S_COPY_INTO_PATH, NULL), O_RDONLY);
  int conflict = 0;
  int r = merge_into(src, dst, (int)op_int(op, BK_I_COPY_INTO_OVERWRITE_DIR_NON_DIR), 0, &conflict);
  if (r < 0) fail(c, -r, conflict ? (r == -EISDIR ? BK_STEP_NON_DIRECTORY_ONTO_A_DIRECTORY : BK_STEP_DIRECTORY_ONTO_A_NON_DIRECTORY) : BK_STEP_COPY, 0, 125);
  _exit(0);
}
