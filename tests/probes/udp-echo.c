/* udp-echo: a UDP server and client for the tests of published UDP ports
 * (static: it runs in a busybox rootfs as well as on the host).
 *
 *   udp-echo serve PORT          answers each datagram with "PEERIP:PEERPORT DATA"
 *                                (what the container sees as the sender)
 *   udp-echo ask HOST PORT MSG   sends MSG from one socket until an answer comes
 *                                (every 0.25 s, 40 tries) and prints it; HOST is
 *                                an IPv4 address or a name of /etc/hosts
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* NAME's address in /etc/hosts (a static binary has no NSS), or NAME itself */
static int resolve(const char *name, struct in_addr *out) {
  if (inet_pton(AF_INET, name, out) == 1) return 0;
  FILE *f = fopen("/etc/hosts", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *ip = strtok(line, " \t\n");
    for (char *w = ip ? strtok(NULL, " \t\n") : NULL; w; w = strtok(NULL, " \t\n"))
      if (!strcmp(w, name) && inet_pton(AF_INET, ip, out) == 1) {
        fclose(f);
        return 0;
      }
  }
  if (f) fclose(f);
  return -1;
}

static int serve(int port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("udp-echo: bind");
    return 1;
  }
  for (;;) {
    char in[2048], out[2200];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, in, sizeof in - 1, 0, (struct sockaddr *)&from, &len);
    if (n < 0) continue;
    in[n] = 0;
    int m = snprintf(out, sizeof out, "%s:%u %s", inet_ntoa(from.sin_addr), ntohs(from.sin_port), in);
    (void)sendto(s, out, (size_t)m, 0, (struct sockaddr *)&from, len);
  }
}

static int ask(const char *host, int port, const char *msg) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (resolve(host, &to.sin_addr) < 0) {
    fprintf(stderr, "udp-echo: %s: no such host\n", host);
    return 2;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return 1;
  for (int k = 0; k < 40; k++) {
    (void)sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof to);
    struct pollfd p = {s, POLLIN, 0};
    if (poll(&p, 1, 250) == 1) {
      char in[2200];
      ssize_t n = recv(s, in, sizeof in - 1, 0);
      if (n < 0) continue; /* ECONNREFUSED: the server is not up yet */
      in[n] = 0;
      printf("%s\n", in);
      return 0;
    }
  }
  fprintf(stderr, "udp-echo: no answer from %s:%d\n", host, port);
  return 1;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "ask")) return ask(argv[2], atoi(argv[3]), argv[4]);
  fprintf(stderr, "usage: udp-echo serve PORT | udp-echo ask HOST PORT MSG\n");
  return 2;
}
