/* A container's events written by the programs that see them happen
 * (c/monitor.c: a foreground run's die and destroy; c/logwriter.c: a
 * detached one's die): one line of src/events.ts's log, in its shape, with
 * one O_APPEND write.  The id and the attributes' JSON members come from
 * bunker (src/container/events.ts containerEventArgs), encoded already. */
#define _GNU_SOURCE
#include "shim.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void bk_container_event(const struct bk_event_target *t, const char *action, int exit_code) {
  if (!t->file || !t->id) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char code[32] = "";
  if (exit_code >= 0) snprintf(code, sizeof code, "\"exitCode\":\"%d\"", exit_code);
  const char *attrs = t->attrs ? t->attrs : "";
  char line[8192];
  int n = snprintf(line, sizeof line, "{\"Type\":\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":{%s%s%s}},\"time\":%lld,\"timeNano\":%lld%09ld}\n",
                   action, t->id, code, *code && *attrs ? "," : "", attrs, (long long)ts.tv_sec, (long long)ts.tv_sec, ts.tv_nsec);
  if (n <= 0 || n >= (int)sizeof line) return; /* attributes too long for one line: the event is dropped */
  int fd = open(t->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (write(fd, line, (size_t)n) < 0) { /* a full disk: the event is dropped, as src/events.ts drops it */ }
  close(fd);
}

int bk_event_arg(struct bk_event_target *t, const char *arg) {
  if (!strncmp(arg, "--events=", 9)) t->file = arg + 9;
  else if (!strncmp(arg, "--event-id=", 11)) t->id = arg + 11;
  else if (!strncmp(arg, "--event-attrs=", 14)) t->attrs = arg + 14;
  else return 0;
  return 1;
}
