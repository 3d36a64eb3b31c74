/* A probe run inside a container by tests/integration/confine.test.ts
 * (gcc -static): tries what Docker's default confinement forbids and prints
 * one "name ERRNO" line per attempt ("name OK" when the call succeeded).
 * Every call is harmless when it does succeed: nothing is written, and what
 * is created is released at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *name, long r) {
  if (r >= 0) printf("%s OK\n", name);
  else printf("%s %s\n", name, strerrorname_np(errno));
}

/* a child made by clone: it exits at once */
static void reap(long pid) {
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, __WALL);
}

int main(void) {
  long r;
  /* opened for writing, never written (sysrq-trigger exists only with CONFIG_MAGIC_SYSRQ) */
  const char *ro[] = {"/proc/sys/kernel/core_pattern", "/proc/irq/default_smp_affinity", "/proc/sysrq-trigger"};
  const char *names[] = {"open-core_pattern", "open-irq", "open-sysrq-trigger"};
  for (int i = 0; i < 3; i++) {
    int fd = open(ro[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    report(names[i], fd);
  }
  mkdir("/tmp/probe-mnt", 0755);
  r = mount("none", "/tmp/probe-mnt", "tmpfs", 0, NULL);
  report("mount", r);
  if (r == 0) umount("/tmp/probe-mnt");

  r = syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS);
  report("unshare", r);

  r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  reap(r);
  report("clone-newuser", r);

  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.exit_signal = SIGCHLD;
  r = syscall(SYS_clone3, &ca, sizeof ca);
  reap(r);
  report("clone3", r);

  r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); /* a plain fork is allowed */
  reap(r);
  report("fork", r);

  /* KEYCTL_GET_KEYRING_ID of the session keyring, without creating it */
  report("keyctl", syscall(SYS_keyctl, 0, -3, 0));

  union bpf_attr ba;
  memset(&ba, 0, sizeof ba);
  ba.map_type = BPF_MAP_TYPE_ARRAY;
  ba.key_size = 4;
  ba.value_size = 4;
  ba.max_entries = 1;
  r = syscall(SYS_bpf, BPF_MAP_CREATE, &ba, sizeof ba);
  if (r >= 0) close((int)r);
  report("bpf", r);

  struct perf_event_attr pa;
  memset(&pa, 0, sizeof pa);
  pa.size = sizeof pa;
  pa.type = PERF_TYPE_SOFTWARE;
  pa.config = PERF_COUNT_SW_TASK_CLOCK;
  pa.disabled = 1;
  r = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
  if (r >= 0) close((int)r);
  report("perf_event_open", r);

  struct io_uring_params up;
  memset(&up, 0, sizeof up);
  r = syscall(SYS_io_uring_setup, 1, &up);
  if (r >= 0) close((int)r);
  report("io_uring_setup", r);

  r = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (r >= 0) close((int)r);
  report("socket-vsock", r);
  r = socket(AF_UNIX, SOCK_STREAM, 0);
  if (r >= 0) close((int)r);
  report("socket-unix", r);

  /* READ_IMPLIES_EXEC is not one of the allowed personas; query the persona back */
  r = personality(PER_LINUX | READ_IMPLIES_EXEC);
  if (r >= 0) personality(PER_LINUX);
  report("personality", r);

  report("finit_module", syscall(SYS_finit_module, -1, "", 0));
  r = mknod("/tmp/probe-sda", S_IFBLK | 0600, makedev(8, 0));
  if (r == 0) unlink("/tmp/probe-sda");
  report("mknod-block", r);

  /* last: where it works, /proc is gone */
  report("umount-proc", umount2("/proc", MNT_DETACH));
  return 0;
}
