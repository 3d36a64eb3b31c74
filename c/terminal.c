/* bunker shim, terminal.c: The container's terminal and fd passing: the one SCM_RIGHTS message helper (the pty master and a
 * seccomp listener to bunker, a pty to an OCI --console-socket). */
#define _GNU_SOURCE
#include "child.h"

void fd_msg_init(struct fd_msg *m, void *data, size_t len) {
  memset(m, 0, sizeof *m);
  m->iov = (struct iovec){data, len};
  m->mh.msg_iov = &m->iov;
  m->mh.msg_iovlen = 1;
  m->mh.msg_control = m->cbuf;
  m->mh.msg_controllen = sizeof m->cbuf;
}

int fd_msg_fd(struct fd_msg *m) {
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m->mh);
  int fd = -1;
  if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/* one message carrying FD (SCM_RIGHTS); async-signal-safe */
ssize_t send_with_fd(int sock, void *data, size_t len, int fd) {
  struct fd_msg m;
  fd_msg_init(&m, data, len);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m.mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  return sendmsg(sock, &m.mh, MSG_NOSIGNAL);
}

void op_pty(struct child *c, const struct op *op) {
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
