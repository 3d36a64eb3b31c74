/* bunker shim, namespaces.c: Namespaces the child joins or makes after the clone: setns (exec, OCI namespaces[].path), the
 * fork into a joined pid namespace, bunker's shared user namespace, the nested user namespace that
 * locks the mounts, the loopback interface of a new network namespace. */
#define _GNU_SOURCE
#include "child.h"

#ifndef NS_GET_PARENT
#define NS_GET_PARENT _IO(0xb7, 0x2) /* linux/nsfs.h */
#endif

/* i: nstype, parent (1: join the parent of that user namespace: the
 * namespaces a locked container's init keeps are owned by it, op lock) */
void op_setns(struct child *c, const struct op *op) {
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
void op_fork(struct child *c, const struct op *op) {
  pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (child < 0) fail(c, errno, BK_STEP_CLONE, 0, 125);
  if (child > 0) {
    send_msg(c->sock, BK_MSG_PID, child, 0, 0, 0);
    _exit(0);
  }
  /* i: wait for a second "go": bunker records this pid before it runs on (create) */
  if (op_int(op, BK_I_FORK_WAIT_GO)) wait_for_go(c);
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
void join_userns(struct child *c, uint64_t flags) {
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

void op_lo_up(struct child *c) {
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
void op_lock(struct child *c, const struct op *op) {
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
