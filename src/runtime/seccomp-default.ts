/**
 * devbox's default seccomp profile, in Docker's format (runtime/seccomp.ts), modelled on Docker's and podman's
 * defaults: the system calls ordinary programs make are allowed; what reaches kernel state no container owns
 * (keyrings, kexec, modules, swap, the clock), what opens large attack surface (bpf, perf_event_open,
 * userfaultfd, io_uring) and what would build new containers inside (mount, unshare, setns, clone with
 * namespace flags) is refused. Where a capability makes a system call legitimate (as in Docker), it is
 * allowed when the sandbox has that capability (--cap-add) and fails with EPERM otherwise.
 *
 * Anything not listed fails with ENOSYS, as podman's default does: it looks absent, so C libraries fall back
 * to an older call. Debian 12's libseccomp does not know the system calls of newer kernels (fchmodat2,
 * mseal, …); with EPERM a newer libc in an image would fail instead of falling back (Docker avoids this by
 * patching the filter in runc). Only the native ABI is accepted: an x86_64 filter kills a process that uses
 * the i386 (int 0x80) or x32 entry points, whose different numbering is the classic way around a filter.
 */
import { words } from '../util/format.js';
import type { SeccompProfile, SeccompRule } from './seccomp.js';

const ENOSYS = 38;
const EPERM = 1;

const allow = (names: string[]): SeccompRule => ({ names, action: 'SCMP_ACT_ALLOW' });
const refuse = (names: string[]): SeccompRule => ({ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM });

/** Allowed with any of `caps`, EPERM without (Docker gates the same calls on the same capabilities). */
function gated(caps: string[], names: string[]): SeccompRule[] {
  return [...caps.map((cap) => ({ ...allow(names), includes: { caps: [cap] } })), { ...refuse(names), excludes: { caps } }];
}

const FILES = words(`
  access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat chown chown32 fchown fchown32 fchownat
  lchown lchown32 creat open openat openat2 close close_range dup dup2 dup3 fcntl fcntl64 flock stat stat64 fstat
  fstat64 lstat lstat64 newfstatat fstatat64 statx statfs statfs64 fstatfs fstatfs64 getdents getdents64 link
  linkat symlink symlinkat readlink readlinkat rename renameat renameat2 mkdir mkdirat mknod mknodat rmdir unlink
  unlinkat truncate truncate64 ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 arm_fadvise64_64 umask utime
  utimes utimensat utimensat_time64 futimesat sync syncfs fsync fdatasync sync_file_range sync_file_range2
  arm_sync_file_range copy_file_range sendfile sendfile64 splice tee vmsplice readahead name_to_handle_at
  inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark getxattr lgetxattr fgetxattr
  listxattr llistxattr flistxattr setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr
`);

const IO = words(`
  read readv pread64 preadv preadv2 write writev pwrite64 pwritev pwritev2 lseek _llseek ioctl pipe pipe2 poll
  ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
  epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 eventfd eventfd2 signalfd signalfd4 timerfd_create
  timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64 memfd_create memfd_secret io_setup
  io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64
`);

/**
 * ptrace and process_vm_* trace one's own processes (gdb, strace): safe since Linux 4.8, which checks the filter
 * again after a tracer changed a call; Docker allows them there too.
 */
const PROCESSES = words(`
  execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tkill tgkill getpid getppid gettid getpgid
  getpgrp setpgid getsid setsid getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid
  getresuid32 getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32
  setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32
  setgroups setgroups32 capget capset prctl arch_prctl getpriority setpriority getrlimit ugetrlimit setrlimit
  prlimit64 getrusage times sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr
  sched_getparam sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max
  sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64 ioprio_get ioprio_set set_tid_address
  set_robust_list get_robust_list rseq futex futex_time64 futex_waitv membarrier getcpu getrandom uname sysinfo
  seccomp pidfd_open pidfd_send_signal landlock_create_ruleset landlock_add_rule landlock_restrict_self
  set_thread_area get_thread_area modify_ldt set_tls cacheflush breakpoint ptrace process_vm_readv
  process_vm_writev
`);

/** adjtimex and clock_adjtime only read the clock's state without CAP_SYS_TIME of the initial namespace. */
const SIGNALS_AND_TIME = words(`
  rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend rt_sigpending rt_sigtimedwait rt_sigtimedwait_time64
  rt_sigqueueinfo rt_tgsigqueueinfo sigaltstack sigreturn restart_syscall pause alarm nanosleep clock_nanosleep
  clock_nanosleep_time64 clock_gettime clock_gettime64 clock_getres clock_getres_time64 gettimeofday time
  getitimer setitimer timer_create timer_delete timer_gettime timer_gettime64 timer_settime timer_settime64
  timer_getoverrun adjtimex clock_adjtime clock_adjtime64
`);

const MEMORY = words(`
  brk mmap mmap2 munmap mremap mprotect madvise mincore mlock mlock2 mlockall munlock munlockall msync
  remap_file_pages pkey_alloc pkey_free pkey_mprotect process_mrelease
`);

const NETWORK_AND_IPC = words(`
  socketpair bind listen accept accept4 connect getsockname getpeername getsockopt setsockopt send sendto sendmsg
  sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown socketcall msgget msgsnd msgrcv msgctl semget
  semop semtimedop semtimedop_time64 semctl shmget shmat shmdt shmctl ipc mq_open mq_unlink mq_timedsend
  mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr
`);

/** Kernel-wide state no capability inside a container may touch: refused outright. */
const NEVER = words(`
  keyctl add_key request_key kexec_load kexec_file_load userfaultfd swapon swapoff nfsservctl uselib ustat sysfs
  _sysctl bdflush vm86 vm86old create_module get_kernel_syms query_module pciconfig_iobase pciconfig_read
  pciconfig_write
`);

/** Mounts, namespaces and other container-building calls: CAP_SYS_ADMIN's, as in Docker. */
const SYS_ADMIN = words(`
  mount umount umount2 pivot_root fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr unshare setns
  clone3 fanotify_init lookup_dcookie quotactl quotactl_fd sethostname setdomainname
`);

/** clone's namespace flags: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NAMESPACES = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];
const CLONE_NAMESPACE_MASK = CLONE_NAMESPACES.reduce((a, b) => a + b, 0);

/** PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and the query: what Docker lets personality(2) set. */
const PERSONALITIES = [0, 0x8, 0x20000, 0x20008, 0xffffffff];

const AF_VSOCK = 40;

export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: ENOSYS,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: [] },
  ],
  syscalls: [
    allow([...FILES, ...IO, ...PROCESSES, ...SIGNALS_AND_TIME, ...MEMORY, ...NETWORK_AND_IPC]),
    refuse(NEVER),
    // Host devices are not reachable through vsock from a container (Docker refuses it the same way).
    { ...allow(['socket']), args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
    { ...refuse(['socket']), args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_EQ' }] },
    ...PERSONALITIES.map((value) => ({ ...allow(['personality']), args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    // Threads and processes, but no new namespaces without CAP_SYS_ADMIN (clone3's flags cannot be inspected:
    // it is refused with ENOSYS then, and C libraries fall back to clone).
    { ...allow(['clone']), args: [{ index: 0, value: CLONE_NAMESPACE_MASK, op: 'SCMP_CMP_MASKED_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN'] } },
    ...CLONE_NAMESPACES.map((flag) => ({
      ...refuse(['clone']),
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    })),
    { ...allow(['clone']), includes: { caps: ['CAP_SYS_ADMIN'] } },
    ...gated(
      ['CAP_SYS_ADMIN'],
      SYS_ADMIN.filter((n) => n !== 'clone3'),
    ),
    { ...allow(['clone3']), includes: { caps: ['CAP_SYS_ADMIN'] } },
    ...gated(['CAP_SYS_ADMIN', 'CAP_BPF'], ['bpf']),
    ...gated(['CAP_SYS_ADMIN', 'CAP_PERFMON'], ['perf_event_open']),
    ...gated(['CAP_SYS_ADMIN', 'CAP_SYSLOG'], ['syslog']),
    ...gated(['CAP_DAC_READ_SEARCH'], ['open_by_handle_at']),
    ...gated(['CAP_SYS_BOOT'], ['reboot']),
    ...gated(['CAP_SYS_CHROOT'], ['chroot']),
    ...gated(['CAP_SYS_MODULE'], ['init_module', 'finit_module', 'delete_module']),
    ...gated(['CAP_SYS_PACCT'], ['acct']),
    ...gated(['CAP_SYS_PTRACE'], ['kcmp', 'pidfd_getfd', 'process_madvise']),
    ...gated(['CAP_SYS_RAWIO'], ['iopl', 'ioperm']),
    ...gated(['CAP_SYS_TIME'], ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']),
    ...gated(['CAP_SYS_TTY_CONFIG'], ['vhangup']),
    ...gated(['CAP_SYS_NICE'], ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'migrate_pages', 'move_pages']),
  ],
};
