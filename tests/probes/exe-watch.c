#define _GNU_SOURCE
/* exe-watch DEV INO SECONDS [STOPFILE]: run inside a container while the host runs
 * `bunker exec` into it (the CVE-2019-5736 class).  For SECONDS it scans
 * /proc/PID/exe of every process it can see; an exe that is the host file
 * DEV:INO (the bunker executable, stat'ed by the test on the host) is a
 * sighting: it is opened O_PATH, and that fd is re-opened for writing
 * through /proc/self/fd/N until the process has exec'd (ETXTBSY before).
 * Nothing is ever written: a write open is only counted and closed.
 * With STOPFILE it ends one second after that file appears (the test's last
 * exec is done), at the latest after SECONDS: a loaded machine cannot make
 * the watcher end before the execs it must watch.
 * Prints "others N sightings N writable N" (others: distinct processes it
 * saw besides PID 1 and itself, which shows it was looking) and exits 0. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: exe-watch DEV INO SECONDS [STOPFILE]\n");
    return 2;
  }
  dev_t dev = (dev_t)strtoull(argv[1], NULL, 10);
  ino_t ino = (ino_t)strtoull(argv[2], NULL, 10);
  time_t end = time(NULL) + atoi(argv[3]);
  long sightings = 0, writable = 0, others = 0;
  pid_t seen[4096];
  int nseen = 0;
  int held[MAX_HELD];
  int nheld = 0;
  pid_t self = getpid();
  const char *stop = argc == 5 ? argv[4] : NULL;
  while (time(NULL) < end) {
    if (stop && access(stop, F_OK) == 0 && end > time(NULL) + 1) end = time(NULL) + 1;
    DIR *d = opendir("/proc");
    if (!d) return 3;
    struct dirent *e;
    while ((e = readdir(d))) {
      pid_t pid = atoi(e->d_name);
      if (e->d_name[0] < '0' || e->d_name[0] > '9' || pid == self) continue;
      if (pid != 1) {
        int k = 0;
        while (k < nseen && seen[k] != pid) k++;
        if (k == nseen && nseen < 4096) seen[nseen++] = pid, others++;
      }
      char path[300];
      snprintf(path, sizeof path, "/proc/%s/exe", e->d_name);
      int fd = open(path, O_PATH | O_CLOEXEC);
      if (fd < 0) {
        /* EACCES: a process we may not look into (non-dumpable) */
        continue;
      }
      struct stat st;
      if (fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
        sightings++;
        if (nheld < MAX_HELD) {
          held[nheld++] = fd;
          continue;
        }
      }
      close(fd);
    }
    closedir(d);
    /* the held fds: writable once no process runs the file any more */
    for (int k = 0; k < nheld; k++) {
      char p[64];
      snprintf(p, sizeof p, "/proc/self/fd/%d", held[k]);
      int w = open(p, O_WRONLY | O_CLOEXEC);
      if (w >= 0) {
        writable++;
        close(w);
        close(held[k]);
        held[k--] = held[--nheld];
      }
    }
  }
  printf("others %ld sightings %ld writable %ld\n", others, sightings, writable);
  return 0;
}
