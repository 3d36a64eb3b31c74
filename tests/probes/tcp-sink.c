/* tcp-sink: the two ends of make bench's transfer benchmark (tests/bench/net.ts),
 * static so it runs in a busybox rootfs and on the host alike.
 *
 *   tcp-sink serve PORT             accepts connections one at a time; reads each to
 *                                   EOF and answers with the number of bytes read
 *   tcp-sink send IP PORT BYTES     connects (retrying while refused or reset, 20 s),
 *                                   writes BYTES zeros, half-closes, reads the answer;
 *                                   prints "BYTES SECONDS" (connect to answer), exit 1
 *                                   when the answer is not BYTES
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int serve(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
    perror("tcp-sink: listen");
    return 1;
  }
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    unsigned long long total = 0;
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) total += (unsigned long long)n;
    int m = snprintf(buf, sizeof buf, "%llu\n", total);
    (void)!write(c, buf, (size_t)m);
    close(c);
  }
}

/* one transfer of BYTES to TO: its seconds, or -1 (nothing listening yet, or cut short) */
static double transfer(const struct sockaddr_in *to, unsigned long long bytes) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  double t0 = now();
  if (connect(s, (const struct sockaddr *)to, sizeof *to) < 0) {
    close(s);
    return -1;
  }
  memset(buf, 0, sizeof buf);
  for (unsigned long long left = bytes; left;) {
    ssize_t n = write(s, buf, left < sizeof buf ? (size_t)left : sizeof buf);
    if (n <= 0) {
      close(s);
      return -1;
    }
    left -= (unsigned long long)n;
  }
  shutdown(s, SHUT_WR);
  char answer[32] = {0};
  ssize_t n = read(s, answer, sizeof answer - 1);
  double t = now() - t0;
  close(s);
  return n > 0 && strtoull(answer, NULL, 10) == bytes ? t : -1;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
  if (argc != 5 || strcmp(argv[1], "send")) {
    fprintf(stderr, "usage: tcp-sink serve PORT | tcp-sink send IP PORT BYTES\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) {
    fprintf(stderr, "tcp-sink: %s is not an IPv4 address\n", argv[2]);
    return 2;
  }
  unsigned long long bytes = strtoull(argv[4], NULL, 10);
  /* the server may not listen yet (a helper accepts on the host and then finds nobody inside): a byte until it answers */
  int up = 0;
  for (double end = now() + 20; !up && now() < end;) {
    up = transfer(&to, 1) >= 0;
    if (!up) usleep(100000);
  }
  double t = up ? transfer(&to, bytes) : -1;
  if (t < 0) {
    fprintf(stderr, "tcp-sink: %s:%s: %s\n", argv[2], argv[3], up ? "the transfer was cut short" : "no answer within 20 s");
    return 1;
  }
  printf("%llu %.6f\n", bytes, t);
  return 0;
}
