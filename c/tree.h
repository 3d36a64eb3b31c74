/* The one tree walker and what is built on it (c/tree.c): tmpcopyup, the
 * image store ops, the monitor's cgroup removal.  Raw syscalls only: it runs
 * in the container's child. */
#ifndef BUNKER_TREE_H
#define BUNKER_TREE_H
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define COPY_MAX_DEPTH 64
#define REMOVE_MAX_DEPTH 128

/* a getdents64 record */
struct dirent64_raw {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* a walker's callback for the entry NAME of DIRFD (TYPE: its d_type, DT_UNKNOWN where the
 * filesystem does not say): -errno stops the walk, 0 goes on, TREE_RESEEK goes on after it walked
 * below NAME with the walk's own buffer (NAME is in that buffer: read it before) */
typedef int (*tree_fn)(void *arg, int dirfd, const char *name, unsigned char type);
#define TREE_RESEEK 1

#pragma GCC visibility push(hidden)
/* FN(ARG, DIRFD, NAME, TYPE) for every entry of DIRFD but . and .., until FN's first error
 * (-errno).  The getdents records are read into BUF (SIZE bytes); after FN returns TREE_RESEEK
 * the directory is read again from the entry after NAME (its d_off, seekdir's cookie), so one
 * buffer serves a walk of any depth with no allocation (the image owners' walk) */
int each_entry_in(int dirfd, char *buf, size_t size, tree_fn fn, void *arg);
/* each_entry_in with a buffer of 2 KB on this frame: one per level, COPY_MAX_DEPTH of them fit
 * the child's stack */
int each_entry(int dirfd, tree_fn fn, void *arg);
int copy_data(int from, int to);
int copy_symlink(int src, int dst, const char *name, const struct stat *st);
int copy_meta(int dst, const char *name, const struct stat *st);
int copy_tree(int src, int dst, int depth);
/* SRC's entries merged into DST (docker cp's extraction, c/tree.c merge_one): 0 or -errno; a
 * directory and a non-directory in each other's place without OVERWRITE_DIR_NONDIR set *CONFLICT */
int merge_into(int src, int dst, int overwrite_dir_nondir, int depth, int *conflict);
/* NAME under DIRFD removed, whatever it is (rm -rf: a whole tree, symlinks not followed, a
 * directory we may not search opened up), DEPTH levels below the walk's start: 0 or -errno */
int remove_at(int dirfd, const char *name, int depth);
#pragma GCC visibility pop

#endif
