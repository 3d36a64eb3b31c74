/* The port proxy of a container on a user network (src/net/proxy.ts), as
 * podman's rootlessport: the container's network namespace is the network's
 * (c/monitor.c --hold-netns), behind a bridge no host socket reaches, so a
 * published port is a listening socket on the host whose connections this
 * program relays to CONTAINER_IP:PORT from inside the network's namespace.
 * The /udp ports of --network pasta and all of slirp4netns go through it too, in the
 * container's own namespace to its 127.0.0.1 (src/net/proxy.ts says why).
 *
 *   --proxy=PID --netns-of=NS --to=IP HOSTIP:HOSTPORT:CTRPORT[/tcp|/udp]...
 *
 *  - every HOSTIP:HOSTPORT is bound (TCP: listening) in the host's network
 *    namespace first; then the user namespace of process NS is joined
 *    (rootless: bunker's shared one or the container's, whose owner we are)
 *    and its network namespace (the network's holder, or PID itself): the
 *    sockets made from then on are in the network, the listening ones stay
 *    on the host;
 *  - fd 3 is the readiness pipe of c/keeper.c's bk_spawn_keeper: "1" once
 *    everything is bound and joined, EOF (and one line on stderr) if not;
 *  - PID (the container's process) is watched through a pidfd: the proxy
 *    exits with it, whoever killed what, so none outlives its container;
 *  - each connection: accept, a non-blocking connect to IP:CTRPORT, then
 *    splice(2) both ways through a pipe per direction; one side's EOF is
 *    passed on as shutdown(SHUT_WR), an error closes both;
 *  - UDP, as Docker's docker-proxy: each client address (IP and port) that
 *    sends to a published port gets a flow, a UDP socket of the network's
 *    connected to IP:CTRPORT; what the client sends goes out on it, what
 *    comes back on it is sent to that client from the published port.  A
 *    flow idle for UDP_IDLE_MS is closed, and the least recently used one
 *    makes room when MAX_FLOW are open. */
#define _GNU_SOURCE
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define MAX_LISTEN 64
#define MAX_CONN 256
/* a pipe per direction of this size (F_SETPIPE_SZ; the default 64 KiB holds the
 * relay to 16 pages per splice), and what one splice moves at most */
#define CHUNK (1 << 20)
#define MAX_FLOW 256
/* docker-proxy's UDPConnTrackTimeout */
#define UDP_IDLE_MS 90000
/* datagrams relayed per socket per wake-up, so one busy client cannot starve the others */
#define UDP_BURST 64

struct dir {
  int pipe[2];
  size_t queued; /* bytes in the pipe */
  int eof;       /* the source said EOF */
  int shut;      /* shutdown(SHUT_WR) passed on to the destination */
};

struct conn {
  int fd[2]; /* [0] the host's side (accepted), [1] the container's (connected) */
  int connecting;
  struct dir d[2]; /* d[0]: fd[0] -> fd[1], d[1]: fd[1] -> fd[0] */
};

static struct conn conns[MAX_CONN];
static int nconn;

static struct {
  int fd;
  uint16_t port; /* the container's */
  int udp;
} listeners[MAX_LISTEN];
static int nlisten;

/* a UDP client of a published port and the socket its datagrams go out on */
struct flow {
  int fd;       /* connected to IP:CTRPORT, in the network's namespace */
  int listener; /* the published port (listeners[]) the client sent to */
  struct sockaddr_in client;
  int64_t last; /* ms (CLOCK_MONOTONIC) of its last datagram either way */
};

static struct flow flows[MAX_FLOW];
static int nflow;
static char dgram[65536];

static struct sockaddr_in target;

static void close_conn(int k) {
  struct conn *c = &conns[k];
  for (int s = 0; s < 2; s++) {
    close(c->fd[s]);
    close(c->d[s].pipe[0]);
    close(c->d[s].pipe[1]);
  }
  conns[k] = conns[--nconn];
}

static void accept_one(int l) {
  int a = accept4(listeners[l].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (a < 0) return;
  if (nconn == MAX_CONN) {
    close(a);
    return;
  }
  struct conn *c = &conns[nconn];
  memset(c, 0, sizeof *c);
  c->fd[0] = a;
  c->fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int ok = c->fd[1] >= 0 && pipe2(c->d[0].pipe, O_NONBLOCK | O_CLOEXEC) == 0;
  if (ok && pipe2(c->d[1].pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
    close(c->d[0].pipe[0]);
    close(c->d[0].pipe[1]);
    ok = 0;
  }
  /* best effort: past /proc/sys/fs/pipe-max-size (or the user's pipe quota) the pipe keeps its size */
  for (int s = 0; ok && s < 2; s++) (void)fcntl(c->d[s].pipe[1], F_SETPIPE_SZ, CHUNK);
  if (!ok) {
    close(a);
    if (c->fd[1] >= 0) close(c->fd[1]);
    return;
  }
  struct sockaddr_in to = target;
  to.sin_port = htons(listeners[l].port);
  nconn++;
  if (connect(c->fd[1], (struct sockaddr *)&to, sizeof to) == 0) return;
  if (errno == EINPROGRESS) c->connecting = 1;
  else close_conn(nconn - 1);
}

/* one step of direction S of connection K; 0, or -1 when the connection is to be closed */
static int step(struct conn *c, int s, short in_ev, short out_ev) {
  struct dir *d = &c->d[s];
  int src = c->fd[s], dst = c->fd[1 - s];
  if ((in_ev & (POLLIN | POLLHUP | POLLERR)) && !d->eof) {
    ssize_t r = splice(src, NULL, d->pipe[1], NULL, CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (r > 0) d->queued += (size_t)r;
    else if (r == 0) d->eof = 1;
    else if (errno != EAGAIN && errno != EINTR) return -1;
  }
  if ((out_ev & (POLLOUT | POLLERR | POLLHUP)) && d->queued) {
    ssize_t r = splice(d->pipe[0], NULL, dst, NULL, d->queued, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (r > 0) d->queued -= (size_t)r;
    else if (r < 0 && errno != EAGAIN && errno != EINTR) return -1;
  }
  if (d->eof && !d->queued && !d->shut) {
    (void)shutdown(dst, SHUT_WR);
    d->shut = 1;
  }
  return 0;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void close_flow(int k) {
  close(flows[k].fd);
  flows[k] = flows[--nflow];
}

/* CLIENT's flow through published port L: the one it has, or a new one (0 when none can be made) */
static struct flow *flow_of(int l, const struct sockaddr_in *client) {
  for (int k = 0; k < nflow; k++)
    if (flows[k].listener == l && flows[k].client.sin_port == client->sin_port && flows[k].client.sin_addr.s_addr == client->sin_addr.s_addr) return &flows[k];
  if (nflow == MAX_FLOW) {
    int lru = 0;
    for (int k = 1; k < nflow; k++)
      if (flows[k].last < flows[lru].last) lru = k;
    close_flow(lru);
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in to = target;
  to.sin_port = htons(listeners[l].port);
  if (fd < 0) return 0;
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
    close(fd);
    return 0;
  }
  flows[nflow] = (struct flow){fd, l, *client, 0};
  return &flows[nflow++];
}

/* datagrams from clients to published UDP port L, each sent on its client's flow */
static void udp_from_clients(int l, int64_t now) {
  for (int n = 0; n < UDP_BURST; n++) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(listeners[l].fd, dgram, sizeof dgram, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    if (r < 0 && errno != EINTR) return;
    if (r < 0 || len != sizeof from || from.sin_family != AF_INET) continue;
    struct flow *f = flow_of(l, &from);
    if (!f) continue;
    f->last = now;
    (void)send(f->fd, dgram, (size_t)r, MSG_DONTWAIT); /* a full queue or an ICMP error drops it, as UDP does */
  }
}

/* the container's answers on flow K, sent to its client from the published port */
static void udp_to_client(int k, int64_t now) {
  struct flow *f = &flows[k];
  for (int n = 0; n < UDP_BURST; n++) {
    ssize_t r = recv(f->fd, dgram, sizeof dgram, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r < 0) continue; /* ECONNREFUSED: nothing listens on the container's port (yet) */
    f->last = now;
    (void)sendto(listeners[f->listener].fd, dgram, (size_t)r, MSG_DONTWAIT, (struct sockaddr *)&f->client, sizeof f->client);
  }
}

static int parse_listen(const char *spec) {
  char ip[64];
  unsigned hp, cp;
  const char *c2 = strrchr(spec, ':');
  if (!c2 || c2 == spec) return -1;
  const char *proto = strchr(c2, '/');
  int udp = proto && !strcmp(proto, "/udp");
  if (proto && !udp && strcmp(proto, "/tcp")) return -1;
  const char *c1 = c2 - 1;
  while (c1 > spec && *c1 != ':') c1--;
  if (*c1 != ':' || (size_t)(c1 - spec) >= sizeof ip) return -1;
  memcpy(ip, spec, (size_t)(c1 - spec));
  ip[c1 - spec] = 0;
  if (sscanf(c1 + 1, "%u", &hp) != 1 || sscanf(c2 + 1, "%u", &cp) != 1 || hp > 65535 || !cp || cp > 65535) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hp)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  /* SO_REUSEADDR for TCP only: on a UDP socket it would let another socket share the port */
  if (fd < 0 || (!udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (!udp && listen(fd, 128) < 0)) {
    fprintf(stderr, "bunker: -p %s:%u:%u/%s: cannot bind the host port: %s\n", ip, hp, cp, udp ? "udp" : "tcp", strerror(errno));
    return -2;
  }
  listeners[nlisten].fd = fd;
  listeners[nlisten].port = (uint16_t)cp;
  listeners[nlisten].udp = udp;
  nlisten++;
  return 0;
}

static int join(int holder) {
  char path[64];
  struct stat mine, theirs;
  snprintf(path, sizeof path, "/proc/%d/ns/user", holder);
  int ufd = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/ns/net", holder);
  int nfd = open(path, O_RDONLY | O_CLOEXEC);
  if (ufd < 0 || nfd < 0 || fstat(ufd, &theirs) < 0 || stat("/proc/self/ns/user", &mine) < 0) {
    fprintf(stderr, "bunker: cannot open the network's namespaces (/proc/%d/ns): %s\n", holder, strerror(errno));
    return -1;
  }
  /* root may enter the network namespace directly; anyone else as the owner of its user namespace */
  if (geteuid() != 0 && mine.st_ino != theirs.st_ino && setns(ufd, CLONE_NEWUSER) < 0) {
    fprintf(stderr, "bunker: cannot join the network's user namespace: %s\n", strerror(errno));
    return -1;
  }
  if (setns(nfd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "bunker: cannot join the network's network namespace: %s\n", strerror(errno));
    return -1;
  }
  close(ufd);
  close(nfd);
  return 0;
}

int bk_port_proxy(int argc, char **argv) {
  (void)prctl(PR_SET_NAME, "bunker-proxy", 0, 0, 0);
  (void)syscall(SYS_close_range, 4, ~0U, 0); /* stdio and the readiness pipe only */
  if (chdir("/") < 0) { /* "/" is always there */ }
  (void)signal(SIGPIPE, SIG_IGN);
  int pid = -1, holder = -1;
  const char *to = NULL;
  for (int k = 1; k < argc; k++) {
    const char *a = argv[k];
    if (!strncmp(a, "--proxy=", 8)) pid = atoi(a + 8);
    else if (!strncmp(a, "--netns-of=", 11)) holder = atoi(a + 11);
    else if (!strncmp(a, "--to=", 5)) to = a + 5;
    else if (nlisten == MAX_LISTEN) {
      fprintf(stderr, "bunker: more than %d published ports\n", MAX_LISTEN);
      return 125;
    } else {
      int r = parse_listen(a);
      if (r == -1) fprintf(stderr, "bunker: port proxy: bad HOSTIP:HOSTPORT:CTRPORT[/tcp|/udp] \"%s\"\n", a);
      if (r < 0) return 125;
    }
  }
  target.sin_family = AF_INET;
  if (pid <= 0 || holder <= 0 || !to || inet_pton(AF_INET, to, &target.sin_addr) != 1) {
    fprintf(stderr, "bunker: port proxy: needs --proxy=PID --netns-of=PID --to=IP\n");
    return 125;
  }
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0) {
    fprintf(stderr, "bunker: cannot watch the container process %d: %s\n", pid, strerror(errno));
    return 125;
  }
  if (join(holder) < 0) return 125;
  if (write(3, "1", 1) != 1) return 125;
  close(3);

  static struct pollfd p[1 + MAX_LISTEN + 2 * MAX_CONN + MAX_FLOW];
  for (;;) {
    int n = 0;
    p[n++] = (struct pollfd){pfd, POLLIN, 0};
    for (int l = 0; l < nlisten; l++) p[n++] = (struct pollfd){listeners[l].fd, (short)(listeners[l].udp || nconn < MAX_CONN ? POLLIN : 0), 0};
    int base = n;
    for (int k = 0; k < nconn; k++) {
      struct conn *c = &conns[k];
      for (int s = 0; s < 2; s++) {
        short ev = 0;
        if (c->connecting) ev = s == 1 ? POLLOUT : 0;
        else {
          /* reading side s: room in its pipe; writing side s: the other direction's bytes */
          if (!c->d[s].eof && c->d[s].queued < CHUNK) ev |= POLLIN;
          if (c->d[1 - s].queued) ev |= POLLOUT;
        }
        p[n++] = (struct pollfd){c->fd[s], ev, 0};
      }
    }
    int flow_base = n;
    int64_t now = now_ms(), wake = -1;
    for (int k = 0; k < nflow; k++) {
      p[n++] = (struct pollfd){flows[k].fd, POLLIN, 0};
      int64_t left = flows[k].last + UDP_IDLE_MS - now;
      if (wake < 0 || left < wake) wake = left < 0 ? 0 : left;
    }
    if (poll(p, (nfds_t)n, (int)wake) < 0) {
      if (errno == EINTR) continue;
      return 125;
    }
    if (p[0].revents) return 0; /* the container is gone: so goes its proxy */
    /* UDP flows first, from the last (close_flow moves the last one into a closed one's place), then idle ones */
    now = now_ms();
    for (int k = nflow - 1; k >= 0; k--)
      if (p[flow_base + k].revents) udp_to_client(k, now);
    for (int k = nflow - 1; k >= 0; k--)
      if (now - flows[k].last >= UDP_IDLE_MS) close_flow(k);
    /* connections first (accept_one appends to conns) */
    for (int k = nconn - 1; k >= 0; k--) {
      struct conn *c = &conns[k];
      short e0 = p[base + 2 * k].revents, e1 = p[base + 2 * k + 1].revents;
      if (c->connecting) {
        if (!e1) continue;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) close_conn(k);
        else c->connecting = 0;
        continue;
      }
      /* POLLHUP: nothing more can be written to that side, so once its own bytes are passed on, done */
      int hup = ((e0 & (POLLHUP | POLLERR)) && c->d[0].eof && !c->d[0].queued) || ((e1 & (POLLHUP | POLLERR)) && c->d[1].eof && !c->d[1].queued);
      if (step(c, 0, e0, e1) < 0 || step(c, 1, e1, e0) < 0 || (c->d[0].shut && c->d[1].shut) || hup) close_conn(k);
    }
    for (int l = 0; l < nlisten; l++)
      if (p[1 + l].revents & POLLIN) {
        if (listeners[l].udp) udp_from_clients(l, now);
        else accept_one(l);
      }
  }
}
