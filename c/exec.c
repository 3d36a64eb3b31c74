/* bunker shim, exec.c: the program's lookup and execve, as execvpe searches the container's PATH
 * but without malloc (async-signal-safe): the child's exec op (process.c) and the monitor's
 * exec of a created container's program (c/monitor.c). */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* TRY(candidate, ARG) on FILE, or, when FILE has no slash, on each candidate
 * of the container's PATH (from ENVP, else the default) as execvpe searches
 * it; without malloc, async-signal-safe.  TRY returns 0 to stop (found) or
 * an errno.  Returns 0 or the errno to report (ENOENT when not found, EACCES
 * when only unexecutable candidates were found). */
static int path_search(const char *file, char *const envp[], int (*try_one)(const char *, void *), void *arg) {
  if (strchr(file, '/')) return try_one(file, arg);
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (int k = 0; envp[k]; k++)
    if (!strncmp(envp[k], "PATH=", 5)) path = envp[k] + 5;
  size_t fl = strlen(file);
  int seen_eacces = 0;
  char buf[4096];
  while (1) {
    const char *e = strchrnul(path, ':');
    size_t dl = (size_t)(e - path);
    if (dl + fl + 2 < sizeof buf) {
      memcpy(buf, path, dl);
      size_t k = dl;
      if (k == 0) buf[k++] = '.';
      buf[k++] = '/';
      memcpy(buf + k, file, fl + 1);
      int err = try_one(buf, arg);
      if (err == 0) return 0;
      if (err == EACCES) seen_eacces = 1;
      else if (err != ENOENT && err != ENOTDIR) return err;
    }
    if (!*e) break;
    path = e + 1;
  }
  return seen_eacces ? EACCES : ENOENT;
}

struct exec_args {
  char *const *argv, *const *envp;
};

static int try_execve(const char *file, void *arg) {
  const struct exec_args *a = arg;
  execve(file, a->argv, a->envp);
  return errno;
}

/* execve FILE as execvpe would (path_search).  Returns only on failure: the errno to report. */
int bk_exec_path(const char *file, char *const argv[], char *const envp[]) {
  struct exec_args a = {argv, envp};
  return path_search(file, envp, try_execve, &a);
}

/* an executable regular file for our effective ids (what execve would accept) */
static int try_access(const char *file, void *arg) {
  (void)arg;
  struct stat st;
  if (stat(file, &st) < 0) return errno;
  if (S_ISDIR(st.st_mode)) return EACCES;
  return faccessat(AT_FDCWD, file, X_OK, AT_EACCESS) < 0 ? errno : 0;
}

/* 0 when bk_exec_path(FILE, …, ENVP) would find an executable, else its errno:
 * checked before a created container waits for `start`, as runc does, so a
 * missing command fails create rather than start */
int bk_exec_lookup(const char *file, char *const envp[]) {
  return path_search(file, envp, try_access, NULL);
}
