/* spawnbench: the start-up timer behind `make bench` (tests/bench/bench.ts).
 *
 *   spawnbench [-n ROUNDS] [-w WARMUP] [-r REF]... [-f FLOOR] [-t SAMPLES.tsv]
 *              --cand=NAME STEP [--then STEP]... [--cand=NAME ...]
 *
 * Each candidate is one command, or several run one after another (--then:
 * an OCI create, start, state, delete cycle), timed together.  Each is run
 * with posix_spawn (stdin and stdout /dev/null, stderr /dev/null after the
 * warm-up) and reaped with wait4, the clock (CLOCK_MONOTONIC) read around
 * both: nothing of a scripting runtime's spawn or I/O in the figure.  Rounds
 * are interleaved (every candidate once per round) and the order rotates by
 * one each round, so drift of the machine's load reaches all alike.  "%i" in
 * an argument becomes the round number (unique container ids).
 *
 * Reported per candidate: median, p10, p90 and min wall time; the median of
 * the per-round ratios to each REF (up to 3; a round's ratio cancels what that round's
 * load did to both); the median per-round difference to FLOOR (the work
 * above it); minor faults and max RSS from wait4's rusage (summed, resp.
 * the largest, over the steps; a process's rusage includes its reaped
 * descendants); for a candidate of several steps, each step's median too
 * (an OCI cycle's create, start, state, delete, one by one against another
 * runtime's).  A candidate failing its warm-up is dropped with its stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_CANDS 16
#define MAX_STEPS 8

struct cand {
  const char *name;
  char **steps[MAX_STEPS];
  int nsteps;
  int active;
  double *ms;     /* per round, NAN when it failed */
  double *minflt; /* per round */
  double *rss;    /* per round, KB */
  double *step_ms[MAX_STEPS]; /* per round, each step's own time */
  int failed;
};

static struct cand cands[MAX_CANDS];
static int ncands;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ARGV with "%i" replaced by TAG, in a static buffer (one step at a time) */
static char **expand(char **argv, const char *tag) {
  static char *out[256];
  static char buf[1 << 16];
  size_t used = 0;
  int k = 0;
  for (; argv[k] && k < 255; k++) {
    const char *a = argv[k], *p = strstr(a, "%i");
    if (!p) {
      out[k] = (char *)a;
      continue;
    }
    int n = snprintf(buf + used, sizeof buf - used, "%.*s%s%s", (int)(p - a), a, tag, p + 2);
    if (n < 0 || (size_t)n >= sizeof buf - used) {
      fprintf(stderr, "spawnbench: arguments too long\n");
      exit(2);
    }
    out[k] = buf + used;
    used += (size_t)n + 1;
  }
  out[k] = NULL;
  return out;
}

/* runs one step; its exit code (or 128+signal, or -1) and its rusage */
static int run_step(char **argv, int errfd, struct rusage *ru) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (errfd >= 0) posix_spawn_file_actions_adddup2(&fa, errfd, 2);
  else posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) {
    errno = r;
    return -1;
  }
  int st;
  while (wait4(pid, &st, 0, ru) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* one sample of C: every step, timed together; 0 when all exited 0 */
static int sample(struct cand *c, const char *tag, int errfd, double *ms, double *minflt, double *rss, double *step_ms) {
  int bad = 0;
  *minflt = 0;
  *rss = 0;
  double t0 = now_ms();
  for (int s = 0; s < c->nsteps; s++) {
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    double s0 = now_ms();
    int code = run_step(expand(c->steps[s], tag), errfd, &ru);
    if (step_ms) step_ms[s] = now_ms() - s0;
    if (code != 0) {
      if (errfd >= 0) dprintf(errfd, "[step %d: %s exit %d]\n", s + 1, c->steps[s][0], code);
      bad = 1;
    }
    *minflt += (double)ru.ru_minflt;
    if ((double)ru.ru_maxrss > *rss) *rss = (double)ru.ru_maxrss;
  }
  *ms = now_ms() - t0;
  return bad;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* quantile Q of the finite values of V[0..N) (linear interpolation); NAN if none */
static double quantile(const double *v, int n, double q) {
  double *s = malloc(sizeof(double) * (size_t)(n ? n : 1));
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) s[m++] = v[i];
  double r = NAN;
  if (m) {
    qsort(s, (size_t)m, sizeof *s, cmp);
    double pos = q * (m - 1);
    int lo = (int)pos;
    r = lo + 1 < m ? s[lo] + (s[lo + 1] - s[lo]) * (pos - lo) : s[lo];
  }
  free(s);
  return r;
}

static struct cand *find(const char *name) {
  for (int i = 0; name && i < ncands; i++)
    if (!strcmp(cands[i].name, name) && cands[i].active) return &cands[i];
  return NULL;
}

static void usage(void) {
  fprintf(stderr, "usage: spawnbench [-n ROUNDS] [-w WARMUP] [-r REF]... [-f FLOOR] [-t SAMPLES.tsv] --cand=NAME CMD [ARG...] [--then CMD...] [--cand=NAME ...]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int rounds = 30, warmup = 2;
  const char *refs[3], *floor_name = NULL, *tsv = NULL;
  int nrefs = 0;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--cand=", 7); i++) {
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "-n")) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-w")) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-r") && nrefs < 3) refs[nrefs++] = argv[++i];
    else if (!strcmp(argv[i], "-f")) floor_name = argv[++i];
    else if (!strcmp(argv[i], "-t")) tsv = argv[++i];
    else usage();
  }
  if (rounds < 1) usage();
  /* the candidates: argv is cut in place (NULL where a separator was) */
  for (; i < argc; i++) {
    if (!strncmp(argv[i], "--cand=", 7)) {
      if (ncands == MAX_CANDS) usage();
      struct cand *c = &cands[ncands++];
      c->name = argv[i] + 7;
      argv[i] = NULL;
      c->steps[c->nsteps++] = &argv[i + 1];
    } else if (!strcmp(argv[i], "--then")) {
      struct cand *c = &cands[ncands - 1];
      if (c->nsteps == MAX_STEPS) usage();
      argv[i] = NULL;
      c->steps[c->nsteps++] = &argv[i + 1];
    }
  }
  if (!ncands) usage();
  for (int k = 0; k < ncands; k++)
    for (int s = 0; s < cands[k].nsteps; s++)
      if (!cands[k].steps[s][0]) usage();

  /* warm-up: stderr kept in a memfd, shown when a candidate fails */
  for (int k = 0; k < ncands; k++) {
    struct cand *c = &cands[k];
    c->active = 1;
    for (int w = 0; w < warmup; w++) {
      int errfd = memfd_create("stderr", MFD_CLOEXEC);
      double ms, mf, rss;
      char tag[32];
      snprintf(tag, sizeof tag, "w%d", w);
      if (sample(c, tag, errfd, &ms, &mf, &rss, NULL) != 0) {
        char buf[2048];
        ssize_t n = pread(errfd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = 0;
        printf("# %s: skipped (its warm-up failed): %s\n", c->name, buf);
        c->active = 0;
      }
      close(errfd);
      if (!c->active) break;
    }
    c->ms = calloc((size_t)rounds, sizeof(double));
    c->minflt = calloc((size_t)rounds, sizeof(double));
    c->rss = calloc((size_t)rounds, sizeof(double));
    for (int s = 0; s < c->nsteps; s++) c->step_ms[s] = calloc((size_t)rounds, sizeof(double));
  }

  for (int r = 0; r < rounds; r++) {
    char tag[32];
    snprintf(tag, sizeof tag, "%d", r);
    for (int k = 0; k < ncands; k++) {
      struct cand *c = &cands[(r + k) % ncands];
      if (!c->active) continue;
      double step_ms[MAX_STEPS];
      if (sample(c, tag, -1, &c->ms[r], &c->minflt[r], &c->rss[r], step_ms) != 0) {
        c->ms[r] = NAN;
        c->failed++;
      }
      for (int s = 0; s < c->nsteps; s++) c->step_ms[s][r] = isfinite(c->ms[r]) ? step_ms[s] : NAN;
    }
  }

  struct cand *rc[3], *fc = find(floor_name);
  int nrc = 0;
  for (int k = 0; k < nrefs; k++)
    if ((rc[nrc] = find(refs[k]))) nrc++;
  double *tmp = malloc(sizeof(double) * (size_t)rounds);
  printf("%-14s %5s %8s %8s %8s %8s", "command", "ok", "median", "p10", "p90", "min");
  for (int k = 0; k < nrc; k++) printf(" %9.9s", rc[k]->name);
  printf("%s %8s %8s\n", fc ? "   -floor" : "", "minflt", "maxrss");
  for (int k = 0; k < ncands; k++) {
    struct cand *c = &cands[k];
    if (!c->active) continue;
    printf("%-14s %2d/%-2d %8.2f %8.2f %8.2f %8.2f", c->name, rounds - c->failed, rounds, quantile(c->ms, rounds, 0.5),
           quantile(c->ms, rounds, 0.1), quantile(c->ms, rounds, 0.9), quantile(c->ms, rounds, 0.0));
    for (int j = 0; j < nrc; j++) {
      for (int r = 0; r < rounds; r++) tmp[r] = c->ms[r] / rc[j]->ms[r];
      printf(" %8.2fx", quantile(tmp, rounds, 0.5));
    }
    if (fc) {
      for (int r = 0; r < rounds; r++) tmp[r] = c->ms[r] - fc->ms[r];
      printf(" %9.2f", quantile(tmp, rounds, 0.5));
    }
    printf(" %8.0f %8.0f\n", quantile(c->minflt, rounds, 0.5), quantile(c->rss, rounds, 0.5));
  }
  for (int k = 0; k < ncands; k++) {
    struct cand *c = &cands[k];
    if (!c->active || c->nsteps < 2) continue;
    printf("  %s, each step's median:", c->name);
    for (int s = 0; s < c->nsteps; s++) {
      /* the verb after a leading "--flag VALUE" (runtime --root DIR create ...), else the program's name */
      char **a = c->steps[s];
      const char *label = a[1] && !strncmp(a[1], "--", 2) && a[2] && a[3] ? a[3] : strrchr(a[0], '/') ? strrchr(a[0], '/') + 1 : a[0];
      printf(" %s %.2f", label, quantile(c->step_ms[s], rounds, 0.5));
    }
    printf("\n");
  }
  printf("(ms, %d rounds; a column named by a command: the median of the per-round ratios to it", rounds);
  if (fc) printf("; -floor: the median of the per-round differences to %s", fc->name);
  printf("; minflt, maxrss KB: medians from wait4)\n");
  if (tsv) {
    FILE *f = fopen(tsv, "w");
    if (!f) {
      perror(tsv);
      return 1;
    }
    fprintf(f, "round\tcommand\tms\tminflt\tmaxrss\n");
    for (int r = 0; r < rounds; r++)
      for (int k = 0; k < ncands; k++)
        if (cands[k].active) fprintf(f, "%d\t%s\t%.4f\t%.0f\t%.0f\n", r, cands[k].name, cands[k].ms[r], cands[k].minflt[r], cands[k].rss[r]);
    fclose(f);
  }
  free(tmp);
  return 0;
}
