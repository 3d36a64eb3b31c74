#define _GNU_SOURCE
/* seccomp-agent SOCKET DIR: a seccomp agent for the tests of
 * linux.seccomp.listenerPath (SCMP_ACT_NOTIFY).  It listens on the unix
 * socket SOCKET (mode 0666); each connection is one container process state:
 * the JSON goes to DIR/state.N.json (N = 0, 1, ... in order, written whole
 * with a rename), the fd that came with it (SCM_RIGHTS) is a seccomp
 * listener it answers from then on:
 *   getppid          -> returns 4242
 *   mkdir, mkdirat   -> fails with EXDEV
 *   anything else    -> goes on (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
 * and each notification appends "SYSCALL PID CONNECTION" to DIR/calls (PID as
 * the agent sees it).  A connection without an fd is noted in DIR/state.N.err.
 * Runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTENERS 64

static const char *dir;

static void write_file(const char *name, const char *data, size_t len) {
  char tmp[4096], path[4096];
  snprintf(tmp, sizeof tmp, "%s/.%s", dir, name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    perror(tmp);
    exit(1);
  }
  fwrite(data, 1, len, f);
  fclose(f);
  rename(tmp, path);
}

/* one connection: the state JSON (to EOF) and the fd of its first message, or -1 */
static int receive(int conn, int n) {
  static char buf[1 << 16];
  size_t len = 0;
  int fd = -1;
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  for (;;) {
    struct iovec iov = {buf + len, sizeof buf - 1 - len};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t r = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && fd < 0) memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    len += (size_t)r;
    if (len >= sizeof buf - 1) break;
  }
  char name[64];
  snprintf(name, sizeof name, "state.%d.json", n);
  write_file(name, buf, len);
  if (fd < 0) {
    snprintf(name, sizeof name, "state.%d.err", n);
    write_file(name, "no fd\n", 6);
  }
  return fd;
}

static void answer(int fd, int conn) {
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  memset(&req, 0, sizeof req);
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return; /* the caller went away (ENOENT) */
  memset(&resp, 0, sizeof resp);
  resp.id = req.id;
  const char *name = "other";
  if (req.data.nr == SYS_getppid) {
    name = "getppid";
    resp.val = 4242;
  } else if (req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat) {
    name = "mkdir";
    resp.error = -EXDEV;
  } else {
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  }
  char line[128];
  int k = snprintf(line, sizeof line, "%s %u %d\n", name, req.pid, conn);
  char path[4096];
  snprintf(path, sizeof path, "%s/calls", dir);
  int out = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (out >= 0) {
    if (write(out, line, (size_t)k) < 0) perror(path);
    close(out);
  }
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT) perror("SECCOMP_IOCTL_NOTIF_SEND");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: seccomp-agent SOCKET DIR\n");
    return 2;
  }
  dir = argv[2];
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
  unlink(argv[1]);
  if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 16) < 0) {
    perror(argv[1]);
    return 1;
  }
  chmod(argv[1], 0666);
  struct pollfd p[1 + MAX_LISTENERS];
  int conn_of[1 + MAX_LISTENERS];
  int n = 1, conns = 0;
  p[0] = (struct pollfd){s, POLLIN, 0};
  for (;;) {
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    for (int i = n - 1; i >= 1; i--) {
      if (p[i].revents & POLLIN) answer(p[i].fd, conn_of[i]);
      else if (p[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
        /* every process of that filter is gone */
        close(p[i].fd);
        p[i] = p[n - 1];
        conn_of[i] = conn_of[n - 1];
        n--;
      }
    }
    if (p[0].revents & POLLIN) {
      int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) continue;
      int fd = receive(c, conns);
      close(c);
      if (fd >= 0 && n < 1 + MAX_LISTENERS) {
        p[n] = (struct pollfd){fd, POLLIN, 0};
        conn_of[n] = conns;
        n++;
      } else if (fd >= 0) close(fd);
      conns++;
    }
  }
}
