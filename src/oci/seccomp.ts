// OCI seccomp profile (config-linux.md "Seccomp") -> classic BPF for
// seccomp(SECCOMP_SET_MODE_FILTER): a `struct sock_filter[]` byte string,
// 8 bytes per instruction, little endian, for the shim's SECCOMP op.
//
// Semantics (checked against libseccomp and the kernel in tests/unit/seccomp.test.ts):
// - Filters are for x86_64 kernels (other hosts get a clear error).  The
//   native arch (x86_64) is always in the filter; SCMP_ARCH_X86 adds an
//   i386 block, SCMP_ARCH_X32 adds x32 numbers (nr | 0x40000000) to the
//   x86_64 block.  Without X32, x32 syscalls get the bad-arch action, as with
//   libseccomp.  Other architectures cannot appear on an x86_64 kernel and
//   are accepted and left out.  A task of an arch not in the filter is killed
//   (libseccomp's default bad-arch action, SECCOMP_RET_KILL_THREAD).
// - Rules of one syscall are tried in profile order; the first whose
//   conditions all hold decides (libseccomp merges overlapping rules into a
//   tree instead; for rules that do not overlap the two agree).  As in runc and crun, an entry whose args
//   name one index twice is split into one rule per condition (OR), otherwise
//   its conditions are ANDed.
// - Comparisons are unsigned on 64 bits (high word, then low word); on i386
//   only the low word is compared, as libseccomp does for 32-bit arches.
//   MASKED_EQ (value = mask, valueTwo = datum) holds when
//   (arg & mask) == (datum & mask), as in libseccomp.
// - On i386 the socket and SysV IPC calls can also be made through
//   socketcall(2) and ipc(2): as libseccomp does, a rule for such a name also
//   goes to socketcall/ipc, with its arg 0 conditions replaced by "arg 0 is
//   the call number" and the others kept as they are (the real arguments are
//   in memory there, so they cannot be checked).
// - ERRNO and TRACE without errnoRet return EPERM (as runc).
// - Unknown names (as crun): a name that is a syscall on another arch only is
//   skipped silently; a name unknown on every arch we know is skipped and
//   reported in `unknownSyscalls` (the caller warns), or is an error with
//   `failUnknown`.
// - SCMP_ACT_NOTIFY compiles to SECCOMP_RET_USER_NOTIF and the filter is
//   loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER: the listener fd goes to the
//   agent at listenerPath (src/container/seccomp-agent.ts), as runc does.  A
//   notify rule needs listenerPath; a listenerPath without one is ignored
//   (runc, and the runtime-spec: "this value is ignored").
import { BunkerError } from "../errors.ts";
import type { Seccomp, SeccompSyscall } from "./spec.ts";
import { ACTIONS_WITH_ERRNO, SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_RET_KILL_THREAD } from "./seccomp-names.ts";
// the names a profile may use, apart (src/oci/seccomp-names.ts): a config's checks need them, not the compiler
export * from "./seccomp-names.ts";

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const X32_SYSCALL_BIT = 0x40000000;

/** kernel's BPF_MAXINSNS */
export const MAX_INSTRUCTIONS = 4096;

/** the syscall c/process.c op_seccomp hands the listener over with, which a notify rule cannot name */
const HANDOVER_SYSCALL = "sendmsg";

/** seccomp(2) returns a listener fd for the filter's SECCOMP_RET_USER_NOTIF (c/process.c op_seccomp sends it to bunker) */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
/** with TSYNC and NEW_LISTENER: a thread that cannot sync is ESRCH, not its tid (which would be taken for the fd) */
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;

export type SyscallArch = "x86_64" | "x86" | "x32";

// Syscall tables, index = number, "-N" = N unused numbers.  Generated from
// linux-libc-dev 6.1's asm/unistd_{64,32,x32}.h plus 451..469 (up to 6.17).
const X86_64_NAMES =
  "read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction " +
  "rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield " +
  "mremap msync mincore madvise shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer " +
  "getpid sendfile socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen " +
  "getsockname getpeername socketpair setsockopt getsockopt clone fork vfork execve exit wait4 kill " +
  "uname semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock fsync fdatasync truncate " +
  "ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink symlink readlink chmod " +
  "fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace getuid syslog " +
  "getgid setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups " +
  "setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset " +
  "rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib " +
  "personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam sched_getparam " +
  "sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min " +
  "sched_rr_get_interval mlock munlock mlockall munlockall vhangup modify_ldt pivot_root _sysctl prctl " +
  "arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount2 swapon swapoff reboot " +
  "sethostname setdomainname iopl ioperm create_module init_module delete_module get_kernel_syms " +
  "query_module quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead " +
  "setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr " +
  "removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity sched_getaffinity " +
  "set_thread_area io_setup io_destroy io_getevents io_submit io_cancel get_thread_area lookup_dcookie " +
  "epoll_create epoll_ctl_old epoll_wait_old remap_file_pages getdents64 set_tid_address " +
  "restart_syscall semtimedop fadvise64 timer_create timer_settime timer_gettime timer_getoverrun " +
  "timer_delete clock_settime clock_gettime clock_getres clock_nanosleep exit_group epoll_wait " +
  "epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink mq_timedsend " +
  "mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl ioprio_set " +
  "ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat " +
  "fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat " +
  "pselect6 ppoll unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice " +
  "move_pages utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime " +
  "timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev " +
  "rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64 name_to_handle_at " +
  "open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu process_vm_readv process_vm_writev kcmp " +
  "finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create kexec_file_load " +
  "bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc " +
  "pkey_free statx io_pgetevents rseq -89 pidfd_send_signal io_uring_setup io_uring_enter " +
  "io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open clone3 close_range " +
  "openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr quotactl_fd " +
  "landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret process_mrelease " +
  "futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait " +
  "futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal " +
  "setxattrat getxattrat listxattrat removexattrat open_tree_attr file_getattr file_setattr " +
  "";

const I386_NAMES =
  "restart_syscall exit fork read write open close waitpid creat link unlink execve chdir time mknod " +
  "chmod lchown break oldstat lseek getpid mount umount setuid getuid stime ptrace alarm oldfstat pause " +
  "utime stty gtty access nice ftime sync kill rename mkdir rmdir dup pipe times prof brk setgid getgid " +
  "signal geteuid getegid acct umount2 lock ioctl fcntl mpx setpgid ulimit oldolduname umask chroot " +
  "ustat dup2 getppid getpgrp setsid sigaction sgetmask ssetmask setreuid setregid sigsuspend " +
  "sigpending sethostname setrlimit getrlimit getrusage gettimeofday settimeofday getgroups setgroups " +
  "select symlink oldlstat readlink uselib swapon reboot readdir mmap munmap truncate ftruncate fchmod " +
  "fchown getpriority setpriority profil statfs fstatfs ioperm socketcall syslog setitimer getitimer " +
  "stat lstat fstat olduname iopl vhangup idle vm86old wait4 swapoff sysinfo ipc fsync sigreturn clone " +
  "setdomainname uname modify_ldt adjtimex mprotect sigprocmask create_module init_module delete_module " +
  "get_kernel_syms quotactl getpgid fchdir bdflush sysfs personality afs_syscall setfsuid setfsgid " +
  "_llseek getdents _newselect flock msync readv writev getsid fdatasync _sysctl mlock munlock mlockall " +
  "munlockall sched_setparam sched_getparam sched_setscheduler sched_getscheduler sched_yield " +
  "sched_get_priority_max sched_get_priority_min sched_rr_get_interval nanosleep mremap setresuid " +
  "getresuid vm86 query_module poll nfsservctl setresgid getresgid prctl rt_sigreturn rt_sigaction " +
  "rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend pread64 pwrite64 chown " +
  "getcwd capget capset sigaltstack sendfile getpmsg putpmsg vfork ugetrlimit mmap2 truncate64 " +
  "ftruncate64 stat64 lstat64 fstat64 lchown32 getuid32 getgid32 geteuid32 getegid32 setreuid32 " +
  "setregid32 getgroups32 setgroups32 fchown32 setresuid32 getresuid32 setresgid32 getresgid32 chown32 " +
  "setuid32 setgid32 setfsuid32 setfsgid32 pivot_root mincore madvise getdents64 fcntl64 -2 gettid " +
  "readahead setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr " +
  "removexattr lremovexattr fremovexattr tkill sendfile64 futex sched_setaffinity sched_getaffinity " +
  "set_thread_area get_thread_area io_setup io_destroy io_getevents io_submit io_cancel fadvise64 -1 " +
  "exit_group lookup_dcookie epoll_create epoll_ctl epoll_wait remap_file_pages set_tid_address " +
  "timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime " +
  "clock_getres clock_nanosleep statfs64 fstatfs64 tgkill utimes fadvise64_64 vserver mbind " +
  "get_mempolicy set_mempolicy mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr " +
  "kexec_load waitid -1 add_key request_key keyctl ioprio_set ioprio_get inotify_init inotify_add_watch " +
  "inotify_rm_watch migrate_pages openat mkdirat mknodat fchownat futimesat fstatat64 unlinkat renameat " +
  "linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list " +
  "get_robust_list splice sync_file_range tee vmsplice move_pages getcpu epoll_pwait utimensat signalfd " +
  "timerfd_create eventfd fallocate timerfd_settime timerfd_gettime signalfd4 eventfd2 epoll_create1 " +
  "dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init " +
  "fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns " +
  "process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp " +
  "getrandom memfd_create bpf execveat socket socketpair bind connect listen accept4 getsockopt " +
  "setsockopt getsockname getpeername sendto sendmsg recvfrom recvmsg shutdown userfaultfd membarrier " +
  "mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free statx arch_prctl " +
  "io_pgetevents rseq -6 semget semctl shmget shmctl shmat shmdt msgget msgsnd msgrcv msgctl " +
  "clock_gettime64 clock_settime64 clock_adjtime64 clock_getres_time64 clock_nanosleep_time64 " +
  "timer_gettime64 timer_settime64 timerfd_gettime64 timerfd_settime64 utimensat_time64 pselect6_time64 " +
  "ppoll_time64 -1 io_pgetevents_time64 recvmmsg_time64 mq_timedsend_time64 mq_timedreceive_time64 " +
  "semtimedop_time64 rt_sigtimedwait_time64 futex_time64 sched_rr_get_interval_time64 pidfd_send_signal " +
  "io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick " +
  "pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 " +
  "mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self " +
  "memfd_secret process_mrelease futex_waitv set_mempolicy_home_node cachestat fchmodat2 -1 futex_wake " +
  "futex_wait futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules " +
  "mseal setxattrat getxattrat listxattrat removexattrat open_tree_attr file_getattr file_setattr " +
  "";

const X32_NAMES =
  "read write open close stat fstat lstat poll lseek mmap mprotect munmap brk -1 rt_sigprocmask -2 " +
  "pread64 pwrite64 -2 access pipe select sched_yield mremap msync mincore madvise shmget shmat shmctl " +
  "dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile socket connect accept sendto -3 " +
  "shutdown bind listen getsockname getpeername socketpair -2 clone fork vfork -1 exit wait4 kill uname " +
  "semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock fsync fdatasync truncate ftruncate " +
  "getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink symlink readlink chmod fchmod " +
  "chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times -1 getuid syslog getgid " +
  "setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups setgroups " +
  "setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset -3 " +
  "rt_sigsuspend -1 utime mknod -1 personality ustat statfs fstatfs sysfs getpriority setpriority " +
  "sched_setparam sched_getparam sched_setscheduler sched_getscheduler sched_get_priority_max " +
  "sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall vhangup modify_ldt " +
  "pivot_root -1 prctl arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount2 swapon " +
  "swapoff reboot sethostname setdomainname iopl ioperm -1 init_module delete_module -2 quotactl -1 " +
  "getpmsg putpmsg afs_syscall tuxcall security gettid readahead setxattr lsetxattr fsetxattr getxattr " +
  "lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr tkill time " +
  "futex sched_setaffinity sched_getaffinity -2 io_destroy io_getevents -1 io_cancel -1 lookup_dcookie " +
  "epoll_create -2 remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 -1 " +
  "timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres " +
  "clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes -1 mbind set_mempolicy get_mempolicy " +
  "mq_open mq_unlink mq_timedsend mq_timedreceive -1 mq_getsetattr -2 add_key request_key keyctl " +
  "ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat " +
  "mknodat fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat " +
  "faccessat pselect6 ppoll unshare -2 splice tee sync_file_range -2 utimensat epoll_pwait signalfd " +
  "timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2 " +
  "epoll_create1 dup3 pipe2 inotify_init1 -3 perf_event_open -1 fanotify_init fanotify_mark prlimit64 " +
  "name_to_handle_at open_by_handle_at clock_adjtime syncfs -1 setns getcpu -2 kcmp finit_module " +
  "sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create kexec_file_load bpf -1 " +
  "userfaultfd membarrier mlock2 copy_file_range -2 pkey_mprotect pkey_alloc pkey_free statx " +
  "io_pgetevents rseq -89 pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree " +
  "move_mount fsopen fsconfig fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd " +
  "faccessat2 process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset " +
  "landlock_add_rule landlock_restrict_self memfd_secret process_mrelease futex_waitv " +
  "set_mempolicy_home_node cachestat fchmodat2 -1 futex_wake futex_wait futex_requeue statmount " +
  "listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat getxattrat " +
  "listxattrat removexattrat open_tree_attr file_getattr file_setattr -42 rt_sigaction rt_sigreturn " +
  "ioctl readv writev recvfrom sendmsg recvmsg execve ptrace rt_sigpending rt_sigtimedwait " +
  "rt_sigqueueinfo sigaltstack timer_create mq_notify kexec_load waitid set_robust_list get_robust_list " +
  "vmsplice move_pages preadv pwritev rt_tgsigqueueinfo recvmmsg sendmmsg process_vm_readv " +
  "process_vm_writev setsockopt getsockopt io_setup io_submit execveat preadv2 pwritev2 " +
  "";

/** syscalls of other architectures, so that profiles written for all arches are not reported */
const OTHER_ARCH_NAMES =
  "sync_file_range2 arm_fadvise64_64 arm_sync_file_range breakpoint cacheflush set_tls get_tls usr26 usr32 " +
  "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr s390_sthyi s390_guarded_storage " +
  "riscv_flush_icache riscv_hwprobe spu_create spu_run subpage_prot swapcontext sys_debug_setcontext " +
  "switch_endian rtas multiplexer pciconfig_iobase pciconfig_read pciconfig_write sysmips cachectl " +
  "atomic_barrier atomic_cmpxchg_32 oldumount kern_features utrap_install memory_ordering getpagesize " +
  "fstatat newfstatat fadvise64_64";

function table(names: string): Map<string, number> {
  const map = new Map<string, number>();
  let nr = 0;
  for (const word of names.split(" ")) {
    if (!word) continue;
    if (word.startsWith("-")) nr += Number(word.slice(1));
    else map.set(word, nr++);
  }
  return map;
}

let tables: Record<SyscallArch, Map<string, number>> | undefined;
let everyName: Set<string> | undefined;

function syscallTables(): Record<SyscallArch, Map<string, number>> {
  return (tables ??= { x86_64: table(X86_64_NAMES), x86: table(I386_NAMES), x32: table(X32_NAMES) });
}

/** The syscall's number on ARCH (x32 numbers include X32_SYSCALL_BIT), or undefined. */
export function syscallNumber(arch: SyscallArch, name: string): number | undefined {
  const n = syscallTables()[arch].get(name);
  return n === undefined ? undefined : arch === "x32" ? n | X32_SYSCALL_BIT : n;
}

/** every name in ARCH's table */
export function syscallNames(arch: SyscallArch): string[] {
  return [...syscallTables()[arch].keys()];
}

/** i386's multiplexers and their call numbers (linux/net.h, linux/ipc.h) */
const I386_SOCKETCALL = 102;
const I386_IPC = 117;
const SOCKETCALLS: Readonly<Record<string, number>> = {
  socket: 1, bind: 2, connect: 3, listen: 4, accept: 5, getsockname: 6, getpeername: 7, socketpair: 8, send: 9,
  recv: 10, sendto: 11, recvfrom: 12, shutdown: 13, setsockopt: 14, getsockopt: 15, sendmsg: 16, recvmsg: 17,
  accept4: 18, recvmmsg: 19, sendmmsg: 20,
};
const IPC_CALLS: Readonly<Record<string, number>> = {
  semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14, shmat: 21,
  shmdt: 22, shmget: 23, shmctl: 24,
};

/** i386: the multiplexer and call number that also reach NAME */
function i386Multiplexed(name: string): { nr: number; call: number } | undefined {
  if (name in SOCKETCALLS) return { nr: I386_SOCKETCALL, call: SOCKETCALLS[name]! };
  if (name in IPC_CALLS) return { nr: I386_IPC, call: IPC_CALLS[name]! };
  return undefined;
}

function knownSomewhere(name: string): boolean {
  everyName ??= new Set([
    ...Object.values(syscallTables()).flatMap((t) => [...t.keys()]),
    ...OTHER_ARCH_NAMES.split(" "),
    ...Object.keys(SOCKETCALLS),
  ]);
  return everyName.has(name);
}

// ---- the compiler ----

const BPF_LD_W_ABS = 0x20;
const BPF_ALU_AND_K = 0x54;
const BPF_JA = 0x05;
const BPF_JEQ_K = 0x15;
const BPF_JGT_K = 0x25;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;

const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number) => 16 + 8 * i;
const argHi = (i: number) => 20 + 8 * i;

/** A jump target, placed later with Asm.place(). */
interface Label {
  at?: number;
}

interface Insn {
  code: number;
  jt: Label | number;
  jf: Label | number;
  k: number;
}

/** A tiny assembler: conditional jumps go to labels that must be within 255 instructions. */
class Asm {
  readonly code: Insn[] = [];
  label(): Label {
    return {};
  }
  place(l: Label): void {
    l.at = this.code.length;
  }
  emit(code: number, k: number, jt: Label | number = 0, jf: Label | number = 0): void {
    this.code.push({ code, jt, jf, k: k >>> 0 });
  }
  load(off: number): void {
    this.emit(BPF_LD_W_ABS, off);
  }
  ret(value: number): void {
    this.emit(BPF_RET_K, value);
  }
  /** unconditional jump, any distance */
  jump(l: Label): void {
    this.emit(BPF_JA, 0, l);
  }
  /** SHARE: shareRets (off only for the test that compares the two) */
  bytes(share = true): Uint8Array {
    const n = this.code.length;
    if (n > MAX_INSTRUCTIONS) {
      throw new BunkerError(`seccomp: the profile compiles to ${n} BPF instructions, more than the kernel's ${MAX_INSTRUCTIONS}`, {
        errno: "E2BIG",
        fix: "merge rules or drop architectures from linux.seccomp.architectures",
      });
    }
    let code = this.code;
    // each pass brings more rets in reach of a jump: until one removes nothing
    for (let before = Infinity; share && code.length < before; ) {
      before = code.length;
      code = shareRets(code);
    }
    const out = new Uint8Array(code.length * 8);
    const view = new DataView(out.buffer);
    code.forEach((ins, i) => {
      const rel = (t: Label | number, max: number): number => {
        if (typeof t === "number") return t;
        const d = t.at! - i - 1;
        if (t.at === undefined || d < 0 || d > max) throw new Error(`seccomp: internal error: jump from ${i} to ${t.at}`);
        return d;
      };
      view.setUint16(i * 8, ins.code, true);
      if (ins.code === BPF_JA) {
        view.setUint32(i * 8 + 4, rel(ins.jt, 0xffffffff), true);
      } else {
        view.setUint8(i * 8 + 2, rel(ins.jt, 255));
        view.setUint8(i * 8 + 3, rel(ins.jf, 255));
        view.setUint32(i * 8 + 4, ins.k, true);
      }
    });
    return out;
  }
}

/**
 * The same program with fewer instructions: a jump to a `ret K` goes to the
 * last `ret K` it can reach (a conditional jump 255 ahead, a JA anywhere
 * ahead) and the rets no jump or fall-through reaches any more go.  Every
 * path ends in the same ret as before, after as many compares; what shrinks
 * is the program the kernel converts and JIT-compiles on every seccomp(2):
 * Docker's profile had 318 rets in 721 instructions, one per leaf of the
 * syscall trees, and its load cost ~100 us.  Targets become absolute
 * indexes, which a deletion only brings closer: every jump stays in range.
 */
function shareRets(code: Insn[]): Insn[] {
  const n = code.length;
  if (code.some((ins) => [ins.jt, ins.jf].some((t) => typeof t !== "number" && t.at === undefined))) return code; // bytes() reports it
  const at = (t: Label | number, i: number): number => (typeof t === "number" ? i + 1 + t : t.at!);
  const isJump = (c: number) => (c & 0x07) === 0x05;
  const jt: number[] = [], jf: number[] = [];
  code.forEach((ins, i) => {
    jt.push(isJump(ins.code) ? at(ins.jt, i) : -1);
    jf.push(isJump(ins.code) && ins.code !== BPF_JA ? at(ins.jf, i) : -1);
  });
  const retKey = (i: number) => (code[i]!.code === BPF_RET_K ? code[i]!.k : -1);
  // for each ret value, its indexes in order
  const rets = new Map<number, number[]>();
  code.forEach((ins, i) => {
    if (ins.code === BPF_RET_K) (rets.get(ins.k) ?? rets.set(ins.k, []).get(ins.k)!).push(i);
  });
  // the last ret with T's value in (I, I + 1 + reach]
  const farthest = (i: number, t: number, reach: number): number => {
    const key = retKey(t);
    if (key < 0) return t;
    const list = rets.get(key)!;
    const limit = i + 1 + reach;
    let lo = 0, hi = list.length - 1, best = t;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! <= limit) {
        best = Math.max(best, list[mid]!);
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  };
  for (let i = 0; i < n; i++) {
    if (!isJump(code[i]!.code)) continue;
    if (code[i]!.code === BPF_JA) jt[i] = farthest(i, jt[i]!, n);
    else {
      jt[i] = farthest(i, jt[i]!, 255);
      jf[i] = farthest(i, jf[i]!, 255);
    }
  }
  const reached = new Uint8Array(n);
  reached[0] = 1;
  for (let i = 0; i < n; i++) {
    const c = code[i]!.code;
    if (isJump(c)) {
      reached[jt[i]!] = 1;
      if (c !== BPF_JA) reached[jf[i]!] = 1;
    } else if ((c & 0x07) !== 0x06 && i + 1 < n) reached[i + 1] = 1; // not a ret: falls through
  }
  const index: number[] = [];
  let m = 0;
  for (let i = 0; i < n; i++) index.push(reached[i] ? m++ : -1);
  const out: Insn[] = [];
  for (let i = 0; i < n; i++) {
    if (!reached[i]) continue;
    const ins = code[i]!, me = index[i]!;
    if (!isJump(ins.code)) out.push({ code: ins.code, jt: 0, jf: 0, k: ins.k });
    else if (ins.code === BPF_JA) out.push({ code: ins.code, jt: index[jt[i]!]! - me - 1, jf: 0, k: 0 });
    else out.push({ code: ins.code, jt: index[jt[i]!]! - me - 1, jf: index[jf[i]!]! - me - 1, k: ins.k });
  }
  // what the kernel checks (a ret last, jumps forward and in range): else the program as it was
  const ok = out.length > 0 && out.at(-1)!.code === BPF_RET_K &&
    out.every((ins) => ins.code === BPF_JA ? (ins.jt as number) >= 0 : !isJump(ins.code) || ((ins.jt as number) >= 0 && (ins.jt as number) <= 255 && (ins.jf as number) >= 0 && (ins.jf as number) <= 255));
  return ok ? out : code;
}

interface Condition {
  index: number;
  op: string;
  value: bigint;
  valueTwo: bigint;
}

interface Rule {
  ret: number;
  conds: Condition[];
}

const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const lo = (v: bigint) => Number(v & 0xffffffffn);

/** Emits code that falls through when COND holds and jumps to FAIL when not. */
function emitCondition(a: Asm, c: Condition, wide: boolean, fail: Label): void {
  const pass = a.label();
  // the low word decides once the high words are equal (or not compared)
  const low = (): void => {
    a.load(argLo(c.index));
    const v = lo(c.value);
    switch (c.op) {
      case "SCMP_CMP_EQ": a.emit(BPF_JEQ_K, v, 0, fail); break;
      case "SCMP_CMP_NE": a.emit(BPF_JEQ_K, v, fail, 0); break;
      case "SCMP_CMP_GT": a.emit(BPF_JGT_K, v, 0, fail); break;
      case "SCMP_CMP_GE": a.emit(BPF_JGE_K, v, 0, fail); break;
      case "SCMP_CMP_LT": a.emit(BPF_JGE_K, v, fail, 0); break;
      case "SCMP_CMP_LE": a.emit(BPF_JGT_K, v, fail, 0); break;
      case "SCMP_CMP_MASKED_EQ":
        a.emit(BPF_ALU_AND_K, v);
        a.emit(BPF_JEQ_K, lo(c.valueTwo), 0, fail);
        break;
    }
  };
  if (wide) {
    a.load(argHi(c.index));
    const v = hi(c.value);
    switch (c.op) {
      case "SCMP_CMP_EQ": a.emit(BPF_JEQ_K, v, 0, fail); break;
      case "SCMP_CMP_NE": a.emit(BPF_JEQ_K, v, 0, pass); break;
      case "SCMP_CMP_GT":
      case "SCMP_CMP_GE":
        a.emit(BPF_JGT_K, v, pass, 0);
        a.emit(BPF_JEQ_K, v, 0, fail);
        break;
      case "SCMP_CMP_LT":
      case "SCMP_CMP_LE":
        a.emit(BPF_JGT_K, v, fail, 0);
        a.emit(BPF_JEQ_K, v, 0, pass);
        break;
      case "SCMP_CMP_MASKED_EQ":
        a.emit(BPF_ALU_AND_K, v);
        a.emit(BPF_JEQ_K, hi(c.valueTwo), 0, fail);
        break;
    }
  }
  low();
  a.place(pass);
}

/** The rules of one syscall, first match wins, then the default. */
function emitRules(a: Asm, rules: Rule[], wide: boolean, defaultRet: number): void {
  for (const r of rules) {
    if (r.conds.length === 0) {
      a.ret(r.ret);
      return;
    }
    const next = a.label();
    for (const c of r.conds) emitCondition(a, c, wide, next);
    a.ret(r.ret);
    a.place(next);
  }
  a.ret(defaultRet);
}

/**
 * One arch's dispatch on the syscall number (already in A): a binary search
 * over the runs of consecutive numbers that get one action (a `ret`, the
 * rules of a conditional syscall, or the default), depth log2 of the runs.
 * A linear chain of compares (~400 for Docker's profile, twice with i386)
 * cost every syscall of the container that walk, and the kernel's
 * seccomp(2) ~1 ms: it emulates the filter for every syscall number of
 * both arches to build its allow cache (seccomp_cache_prepare).  Syscalls
 * with conditions jump to their own rule code after the tree.
 */
function emitArch(a: Asm, bySyscall: Map<number, Rule[]>, wide: boolean, defaultRet: number): void {
  type Action = { ret: number } | { body: Label; rules: Rule[] };
  const action = new Map<number, Action>();
  const complex: { body: Label; rules: Rule[] }[] = [];
  for (const [nr, rules] of bySyscall) {
    if (rules.every((r) => r.ret === defaultRet)) continue;
    if (rules[0]!.conds.length === 0) action.set(nr, { ret: rules[0]!.ret });
    else {
      const c = { body: a.label(), rules };
      complex.push(c);
      action.set(nr, c);
    }
  }
  // runs [lo, next run's lo): consecutive numbers with the same ret merge; the gaps get the default
  const runs: { lo: number; act: Action }[] = [];
  const same = (x: Action, y: Action) => x === y || ("ret" in x && "ret" in y && x.ret === y.ret);
  const push = (lo: number, act: Action) => {
    const last = runs.at(-1);
    if (!last || !same(last.act, act)) runs.push({ lo, act });
  };
  const dflt: Action = { ret: defaultRet };
  push(0, dflt);
  for (const nr of [...action.keys()].sort((x, y) => x - y)) {
    push(nr, action.get(nr)!);
    if (!action.has(nr + 1)) push(nr + 1, dflt);
  }
  // instructions of the tree over runs [i, j): a conditional jump reaches 255 ahead, past that a JA
  const size = (i: number, j: number): number => {
    if (j - i === 1) return 1;
    const mid = (i + j) >> 1, left = size(i, mid);
    return (left > 255 ? 2 : 1) + left + size(mid, j);
  };
  const tree = (i: number, j: number): void => {
    if (j - i === 1) {
      const act = runs[i]!.act;
      if ("ret" in act) a.ret(act.ret);
      else a.jump(act.body);
      return;
    }
    const mid = (i + j) >> 1;
    const right = a.label();
    // A >= the right half's first number: on to it, else the left half
    if (size(i, mid) > 255) {
      a.emit(BPF_JGE_K, runs[mid]!.lo, 0, 1);
      a.jump(right);
    } else a.emit(BPF_JGE_K, runs[mid]!.lo, right, 0);
    tree(i, mid);
    a.place(right);
    tree(mid, j);
  };
  tree(0, runs.length);
  for (const c of complex) {
    a.place(c.body);
    emitRules(a, c.rules, wide, defaultRet);
  }
}

function actionValue(action: string, errnoRet: number | undefined, where: string): number {
  const base = SECCOMP_ACTIONS[action];
  if (base === undefined) throw new BunkerError(`${where}: unknown seccomp action ${JSON.stringify(action)}`, { errno: "EINVAL" });
  if (ACTIONS_WITH_ERRNO.includes(action)) return (base | ((errnoRet ?? 1) & 0xffff)) >>> 0;
  return base;
}

/** JSON numbers are doubles: 2^64-1 arrives as 2^64 (and above 2^53 values are rounded anyway) */
function u64(n: number): bigint {
  return n >= 2 ** 64 ? 0xffff_ffff_ffff_ffffn : BigInt(n);
}

/** runc/crun: args naming one index twice are alternatives, else all must hold */
function rulesOf(entry: SeccompSyscall, ret: number): Rule[] {
  const conds: Condition[] = (entry.args ?? []).map((c) => ({
    index: c.index,
    op: c.op,
    value: u64(c.value),
    // libseccomp compares (arg & mask) with (datum & mask)
    valueTwo: c.op === "SCMP_CMP_MASKED_EQ" ? u64(c.valueTwo ?? 0) & u64(c.value) : 0n,
  }));
  const indexes = new Set(conds.map((c) => c.index));
  if (indexes.size < conds.length) return conds.map((c) => ({ ret, conds: [c] }));
  return [{ ret, conds }];
}

export interface CompiledSeccomp {
  /** struct sock_filter[] (8 bytes each, little endian) */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2) */
  flags: number;
  /** names no architecture we know has: skipped, for the caller to warn about */
  unknownSyscalls: string[];
}

/** Compiles linux.seccomp (already validated by parseConfig) for an x86_64 kernel. */
export function compileSeccomp(profile: Seccomp, opts: { failUnknown?: boolean; shareRets?: boolean } = {}): CompiledSeccomp {
  if (process.arch !== "x64") {
    throw new BunkerError(`linux.seccomp: filters are compiled for x86_64 only, not ${process.arch}`, { errno: "ENOTSUP" });
  }
  const notify = (profile.syscalls ?? []).some((e) => e.action === "SCMP_ACT_NOTIFY");
  if (notify && !profile.listenerPath) {
    throw new BunkerError("linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY", {
      errno: "EINVAL",
      fix: "set listenerPath to the seccomp agent's unix socket",
    });
  }
  // the shim hands the listener to bunker with sendmsg: notified, it would wait for an agent that
  // cannot have the listener yet (runc refuses write, its own hand-over call, the same way)
  (profile.syscalls ?? []).forEach((e, i) => {
    if (e.action === "SCMP_ACT_NOTIFY" && e.names.includes(HANDOVER_SYSCALL)) {
      throw new BunkerError(`linux.seccomp.syscalls[${i}]: SCMP_ACT_NOTIFY cannot be used for ${HANDOVER_SYSCALL} (bunker passes the listener on with it)`, {
        errno: "EINVAL",
        fix: `notify other syscalls, or give ${HANDOVER_SYSCALL} its own rule`,
      });
    }
  });
  const defaultRet = actionValue(profile.defaultAction, profile.defaultErrnoRet, "linux.seccomp.defaultAction");
  const archList = profile.architectures ?? [];
  const arches: SyscallArch[] = ["x86_64"];
  if (archList.includes("SCMP_ARCH_X32")) arches.push("x32");
  if (archList.includes("SCMP_ARCH_X86")) arches.push("x86");

  const rules: Record<SyscallArch, Map<number, Rule[]>> = { x86_64: new Map(), x32: new Map(), x86: new Map() };
  const unknown = new Set<string>();
  (profile.syscalls ?? []).forEach((entry, i) => {
    const ret = actionValue(entry.action, entry.errnoRet, `linux.seccomp.syscalls[${i}].action`);
    const entryRules = rulesOf(entry, ret);
    const add = (arch: SyscallArch, nr: number, more: Rule[]) => {
      const list = rules[arch].get(nr) ?? [];
      list.push(...more);
      rules[arch].set(nr, list);
    };
    for (const name of entry.names) {
      let found = false;
      for (const arch of arches) {
        const nr = syscallNumber(arch, name);
        if (nr !== undefined) add(arch, nr, entryRules);
        const mux = arch === "x86" ? i386Multiplexed(name) : undefined;
        if (mux) {
          const call: Condition = { index: 0, op: "SCMP_CMP_EQ", value: BigInt(mux.call), valueTwo: 0n };
          add(arch, mux.nr, entryRules.map((r) => ({ ret: r.ret, conds: [call, ...r.conds.filter((c) => c.index !== 0)] })));
        }
        found ||= nr !== undefined || mux !== undefined;
      }
      if (!found && !knownSomewhere(name)) unknown.add(name);
    }
  });
  if (opts.failUnknown && unknown.size > 0) {
    throw new BunkerError(`linux.seccomp.syscalls: unknown syscall ${JSON.stringify([...unknown][0])}`, { errno: "EINVAL" });
  }

  // A task of an arch the filter does not know is killed (libseccomp's
  // default bad-arch action).
  const a = new Asm();
  const other = a.label();
  a.load(OFF_ARCH);
  a.emit(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0);
  a.jump(other);
  a.load(OFF_NR);
  if (!arches.includes("x32")) {
    // nr -1 (a tracer skipping the call) is not x32: it gets the default, as in libseccomp
    a.emit(BPF_JGE_K, X32_SYSCALL_BIT, 0, 2);
    a.emit(BPF_JEQ_K, 0xffffffff, 1, 0);
    a.ret(SECCOMP_RET_KILL_THREAD);
  }
  emitArch(a, new Map([...rules.x86_64, ...rules.x32]), true, defaultRet);
  a.place(other);
  if (arches.includes("x86")) {
    a.emit(BPF_JEQ_K, AUDIT_ARCH_I386, 1, 0);
    a.ret(SECCOMP_RET_KILL_THREAD);
    a.load(OFF_NR);
    emitArch(a, rules.x86, false, defaultRet);
  } else {
    a.ret(SECCOMP_RET_KILL_THREAD);
  }

  let flags = 0;
  for (const f of profile.flags ?? []) flags |= SECCOMP_FLAGS[f] ?? 0;
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // the kernel refuses TSYNC with NEW_LISTENER unless a failed sync is ESRCH (libseccomp does the same)
    if (flags & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_TSYNC!) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else {
    // how the listener waits: without a notify rule there is none, and the kernel refuses the flag alone
    flags &= ~SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!;
  }
  return { program: a.bytes(opts.shareRets ?? true), flags, unknownSyscalls: [...unknown] };
}
