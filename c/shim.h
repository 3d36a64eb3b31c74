/* bunker shim: the part of bunker that runs where JavaScript cannot.
 *
 * TypeScript builds a Plan (src/plan) and encodes it (src/sys/plan-encode.ts)
 * into one flat buffer.  bk_spawn() clones a child with the plan's namespace
 * flags; the child waits for the parent's "go" on the sync socket (sent after
 * the uid/gid maps are written and the cgroup is joined), runs the ops in
 * order with raw syscalls only and execve()s.  Each op's code and fields are
 * in one table, src/plan/ops.ts, which build/ops.h is generated from.
 *
 * Buffer layout (little endian):
 *   header: u32 magic 'BKP1', u32 nops, u64 clone_flags
 *   op:     u32 code, u32 nint, u32 nstr, u32 pad,
 *           nint x i64,
 *           nstr x { u32 len, bytes[len], '\0', pad to 8 }
 */
#ifndef BUNKER_SHIM_H
#define BUNKER_SHIM_H
#include <stdint.h>

/* op codes, field indexes, steps and message types: build/ops.h, generated
 * from the op table src/plan/ops.ts (make runs src/plan/gen-header.ts) */
#include "ops.h"

/* a startContainer hook failed: written to exec.fifo after the "0" (see
 * op_hook), then up to BK_HOOK_OUTPUT bytes of what the hook printed.
 * i32 index, i32 kind, i32 value */
#define BK_HOOK_EXITED 1   /* value: exit status */
#define BK_HOOK_SIGNALED 2 /* value: signal */
#define BK_HOOK_TIMEOUT 3  /* value: the timeout in seconds */
#define BK_HOOK_NOEXEC 4   /* value: errno of execve (or of the pipe/clone before it) */
#define BK_HOOK_OUTPUT 1024

/* the parent's "go" on the sync socket: i32 'G', i32 the child's pid in the
 * parent's pid namespace (the state's pid, for startContainer hooks) */

int bk_spawn(const uint8_t *plan, uint32_t len, int32_t *out);
int bk_send_go(int sock, int pid);
int bk_forward_signals(void);
void bk_forward_signals_on(int r, int w);
int bk_sealed_memfd(const uint8_t *image, uint32_t image_len);
void bk_init_loop(int child, int exitfd) __attribute__((noreturn));
int bk_exec_monitor(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int keep);
int bk_read_msg(int sock, int32_t *out);
int bk_supervise(int pid, int pty, int flags, int32_t *out);
int bk_exec_path(const char *file, char *const argv[], char *const envp[]);
int bk_exec_lookup(const char *file, char *const envp[]);
int bk_stat_dirs(const char *buf, uint32_t len, uint32_t *out);
int bk_open_ns(const char *path, const char *ino);
int bk_close(int fd);
int bk_mkfifo(const char *path, int mode);
int bk_send_fd(const char *socket_path, int fd);
int bk_send_fd_with(const char *socket_path, int fd, const uint8_t *data, uint32_t len);
int bk_subreaper(void);
int bk_reap(int pid);
int bk_pidfd_wait(int pid, int timeout_ms, int32_t *out);
int bk_try_reap(int pid, int32_t *out);
int bk_pipe(int32_t *out);
int bk_set_winsize(int fd, int rows, int cols);
int bk_tty_raw(int fd, uint8_t *saved, uint32_t len);
int bk_tty_restore(int fd, const uint8_t *saved, uint32_t len);
int bk_spawn_log_writer(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int flags, int tty, int32_t *out);
int bk_log_writer(int argc, char **argv);
int bk_spawn_monitor(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, const int *fds, int nfds, int32_t *pid);
int bk_spawn_keeper(const uint8_t *image, uint32_t image_len, const char *args, uint32_t len, int errfd, int32_t *out);
int bk_keep_while(int target, char **argv);
int bk_port_proxy(int argc, char **argv);

/* c/events.c: where a container's events go (--events=FILE --event-id=ID --event-attrs=MEMBERS) */
struct bk_event_target {
  const char *file, *id, *attrs;
};
/* ACTION of the container as one line of the event log; EXIT_CODE < 0: none */
void bk_container_event(const struct bk_event_target *t, const char *action, int exit_code);
/* ARG is one of the three arguments: taken into T, 1; else 0 */
int bk_event_arg(struct bk_event_target *t, const char *arg);

#endif
