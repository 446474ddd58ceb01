/*
 * devbox-helper: runs one command in a rootless sandbox described entirely by argv (bubblewrap-style).
 * Parse and validate everything, then: the outer process clones pid 1 of the sandbox into new namespaces,
 * writes its id maps, and relays signals (and the terminal) until it exits. See README.md.
 */
#include "helper.h"
#include "kernel.h"
#include "monitor.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static Options opts;
static Sandbox sandbox = { .ready_fd = -1, .go_fd = -1, .console_socket = -1, .pty_slave = -1, .remove_parent = -1, .stdio = { -1, -1, -1 } };

/* --remove-after also holds when setup fails: no half-made container stays in the store. */
static void
remove_on_failure (void)
{
  end_all_processes (); /* fuse-overlayfs, if it was started; we are pid 1, so only the sandbox's */
  /* Before pivot_root the root is still mounted inside the directory, which makes it busy. */
  (void) umount2 (opts.rootfs == ROOTFS_DIRECTORY ? opts.rootfs_dir : opts.mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
  (void) remove_tree_at (sandbox.remove_parent, sandbox.remove_name);
}

static void
open_remove_target (const char *path)
{
  cleanup_free char *parent = xstrdup (path);
  char *slash = strrchr (parent, '/');
  sandbox.remove_name = xstrdup (slash + 1);
  *slash = '\0';
  /* Opened now, by fd: after pivot_root the path would mean something inside the sandbox. */
  sandbox.remove_parent = open (parent[0] ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sandbox.remove_parent < 0)
    die_with_error ("open %s", parent[0] ? parent : "/");
  set_fatal_hook (remove_on_failure);
}

/* In the child: wait until the outer process has written the id maps; end of file means it died. */
static void
await_id_maps (int sync_fd)
{
  char byte;
  if (read_byte (sync_fd, &byte) != 1)
    _exit (EXIT_SETUP_FAILED);
}

/*
 * The child must not outlive the outer process. The death signal is cleared by every credential change,
 * so it is set after becoming root. getppid() is 0 across a pid namespace and cannot tell whether the
 * parent died just before; the sync pipe can: the outer process holds its write end until it exits.
 */
static void
die_with_outer_process (int sync_fd)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_with_error ("prctl(PR_SET_PDEATHSIG)");
  struct pollfd pfd = { .fd = sync_fd, .events = POLLIN };
  if (poll (&pfd, 1, 0) < 0)
    die_with_error ("poll");
  if (pfd.revents & (POLLHUP | POLLERR))
    _exit (EXIT_SETUP_FAILED);
  if (opts.setup_during_sync)
    sandbox.go_fd = sync_fd; /* the go byte comes on it once set up */
  else
    close (sync_fd);
}

/*
 * --setup-during-sync, in pid 1 once everything is mounted: nothing runs before the caller's go, passed on by
 * the outer process; end of file means the caller gave up (or the outer process died), quietly. Made
 * undumpable only now (run_sandbox): until the go the caller's programs (slirp4netns) open the namespaces
 * through /proc/PID/ns, which an undumpable pid 1 refuses, and nothing runs in the sandbox that could use it.
 */
static void
await_go (void)
{
  if (sandbox.go_fd < 0)
    return;
  char byte;
  if (read_byte (sandbox.go_fd, &byte) != 1)
    _exit (EXIT_SETUP_FAILED);
  close (sandbox.go_fd);
  sandbox.go_fd = -1;
  /* Not dumpable: nothing in the sandbox may open our fds through /proc/1/fd (runc does the same). */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    die_with_error ("prctl(PR_SET_DUMPABLE)");
}

/* --no-pivot: the host's file system, with ownership in the mapped range; the caller's env and cwd (with
   --confine, one directory of it: confine.c). */
/* A new network namespace has only a loopback device, and it starts down. */
static void
bring_up_loopback (void)
{
  cleanup_fd int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    die_with_error ("socket");
  struct ifreq ifr = { .ifr_name = "lo" };
  if (ioctl (sock, SIOCGIFFLAGS, &ifr) < 0)
    die_with_error ("get the flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (sock, SIOCSIFFLAGS, &ifr) < 0)
    die_with_error ("bring lo up");
}

static void __attribute__ ((noreturn))
run_utility (void)
{
  if (opts.rootfs == ROOTFS_OVERLAY)
    mount_rootfs (&opts);
  if (write_byte (sandbox.ready_fd, 'r') < 0)
    die_with_error ("tell the outer process the namespace is up");
  if (opts.command == NULL)
    _exit (0);
  if (opts.unshare_net)
    bring_up_loopback ();
  if (opts.confine_dir)
    _exit (run_confined (&opts));
  reset_signals ();
  execvp (opts.command[0], opts.command);
  exec_failed (opts.command[0]);
}

/* The sandbox's pid 1, root of the new user namespace. */
static void __attribute__ ((noreturn))
run_sandbox (void)
{
  /* What pid 1 kept of the caller's environment, root in a live sandbox would read in /proc/1/environ. */
  wipe_environment ();
  umask (022);
  /* Out of the caller's session and process group: terminal signals reach us once, through the outer process. */
  if (setsid () < 0)
    die_with_error ("setsid");
  /* Becoming root of the namespace made this process undumpable; until the go (--setup-during-sync) the
     caller's programs must be able to open its namespaces, and nothing runs in the sandbox yet. */
  if (prctl (PR_SET_DUMPABLE, opts.setup_during_sync ? 1 : 0, 0, 0, 0) < 0)
    die_with_error ("prctl(PR_SET_DUMPABLE)");
  /* A container's supervisor removes it from outside: pid 1 is joinable and must hold no host directory. */
  if (opts.remove_after && !opts.container.dir)
    open_remove_target (opts.remove_after);
  if (opts.unshare_net)
    bring_up_loopback ();
  mount_rootfs (&opts);
  mount_sandbox_filesystems (&opts);
  /* After every mount, as runc: the terminal comes from the devpts the sandbox ends up with. */
  if (opts.tty)
    sandbox.pty_slave = open_console (sandbox.console_socket, true);
  enter_rootfs (&opts);
  await_go ();
  _exit (run_init (&opts, &sandbox));
}

/* A network namespace's program gets its lifetime socket as fd 4 (runtime/namespace.ts spawnNetworkNamespace). */
#define NETWORK_PROGRAM_LIFETIME_FD 4

/*
 * All but the descriptors the caller hands over on purpose: --sync-fd, which pid 1 holds as the sandbox's
 * lifetime, and a container's --notify-fd, which only the supervisor keeps (pid 1 closes it). -1: none.
 */
static void
close_inherited_fds (int sync_fd, int notify_fd)
{
  int keep[2] = { sync_fd < notify_fd ? sync_fd : notify_fd, sync_fd < notify_fd ? notify_fd : sync_fd };
  unsigned int first = 3;
  for (size_t i = 0; i < N_ELEMENTS (keep); i++)
    {
      if (keep[i] < (int) first)
        continue;
      if ((unsigned int) keep[i] > first && syscall (SYS_close_range, first, (unsigned int) keep[i] - 1, 0U) < 0)
        die_with_error ("close_range");
      first = (unsigned int) keep[i] + 1;
    }
  if (syscall (SYS_close_range, first, ~0U, 0U) < 0)
    die_with_error ("close_range");
}

static void __attribute__ ((noreturn))
run_child (int sync_fd)
{
  await_id_maps (sync_fd);
  become_namespace_root ();
  /* --setup-during-sync: becoming root made this process undumpable, and the caller's programs (slirp4netns)
     open its namespaces through /proc/PID/ns as soon as the caller learns its pid: dumpable again first, and
     only then the outer process tells the caller (a byte back on the sync socket). */
  if (opts.setup_during_sync)
    {
      if (prctl (PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        die_with_error ("prctl(PR_SET_DUMPABLE)");
      if (write_byte (sync_fd, 'r') < 0)
        _exit (EXIT_SETUP_FAILED);
    }
  die_with_outer_process (sync_fd);
  if (opts.no_pivot)
    run_utility ();
  run_sandbox ();
}

/* Like fork, into new namespaces: a raw clone without a new stack behaves as fork on every architecture. */
static pid_t
clone_child (void)
{
  unsigned long flags = CLONE_NEWNS | SIGCHLD | (opts.unshare_net ? CLONE_NEWNET : 0);
  /* --no-pivot --userns-of: the namespaces are made in the user namespace entered, not in one of their own. */
  if (!(opts.no_pivot && opts.userns_of))
    flags |= CLONE_NEWUSER;
  if (!opts.no_pivot)
    flags |= CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  pid_t pid = (pid_t) syscall (SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0)
    die_with_error ("clone (new user namespace)");
  return pid;
}

/* devbox may be killed with SIGKILL: then this process dies too, and the sandbox with it. */
static void
die_with_caller (void)
{
  pid_t parent = getppid ();
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_with_error ("prctl(PR_SET_PDEATHSIG)");
  if (getppid () != parent)
    die ("the calling process exited");
}

/*
 * --keep-alive: once the sandbox is up, its pid 1's host pid goes to stdout (what devbox joins), and stdout is
 * closed so the caller reading it sees the end; then wait for the sandbox to be stopped.
 */
static int
announce_when_up (pid_t child, int ready_fd)
{
  char byte;
  if (read_byte (ready_fd, &byte) != 1)
    return supervise (child, ready_fd, -1); /* it failed: its status, reported as a setup failure */
  close (ready_fd);
  char line[32];
  int len = snprintf (line, sizeof line, "%d\n", (int) child);
  if (write_all (STDOUT_FILENO, line, (size_t) len) < 0)
    die_with_error ("write the sandbox's pid");
  cleanup_fd int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0 || dup2 (null, STDOUT_FILENO) < 0)
    die_with_error ("close stdout");
  return supervise (child, -1, -1);
}

typedef struct
{
  int in[2], out[2], err[2];
} ContainerPipes;

/*
 * --container: one supervisor per container (a lock on DIR, held by it and by pid 1, which inherits it), a
 * message socket to pid 1 in place of the ready pipe, and the command's stdio as pipes unless it has a terminal.
 */
static void
prepare_container (ContainerPipes *pipes, int ctl[2])
{
  int dir = open (opts.container.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    die_with_error ("open %s", opts.container.dir);
  if (flock (dir, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno == EWOULDBLOCK)
        die ("the container in %s is already running: another supervisor holds it", opts.container.dir);
      die_with_error ("lock %s", opts.container.dir);
    }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
    die_with_error ("socketpair");
  if (opts.tty)
    return;
  if ((opts.container.interactive && pipe2 (pipes->in, O_CLOEXEC) < 0) || pipe2 (pipes->out, O_CLOEXEC) < 0 || pipe2 (pipes->err, O_CLOEXEC) < 0)
    die_with_error ("pipe2");
}

static int
open_user_namespace (pid_t child)
{
  cleanup_free char *path = xasprintf ("/proc/%d/ns/user", (int) child);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die_with_error ("open %s", path);
  return fd;
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "fsops") == 0)
    return fsops_main (argc - 2, argv + 2);
  if (argc >= 2 && strcmp (argv[1], "forward-ports") == 0)
    return forward_ports_main (argc - 2, argv + 2);
  if (argc >= 2 && strcmp (argv[1], "watch-ports") == 0)
    return watch_ports_main (argc - 2, argv + 2);
  if (argc >= 2 && strcmp (argv[1], "keep-namespace") == 0)
    return keep_namespace_main (argc - 2, argv + 2);
  parse_args (argc, argv, &opts);
  remember_command_line (argc, argv);
  validate_options (&opts);

  /* Until a kept-alive sandbox is released (--sync-fd) this process dies with its caller too: a sandbox that
     outlives it is one its caller recorded first (devbox stop must find every sandbox there is). */
  die_with_caller ();
  /* Nothing the caller left open may reach the sandbox (CVE-2024-21626 is an fd leaked this way): pid 1
     never execs, and in a live sandbox it is dumpable; the supervisor outlives the caller. --sync-fd is ours. */
  if (!opts.no_pivot)
    close_inherited_fds (opts.sync_fd, opts.container.notify_fd);
  /* A network namespace's program (--no-pivot --sync-fd: the store's owner, a network's holder) outlives the
     command that started it: of what that command inherited it keeps only its stdio, --sync-fd and fd 4, its
     lifetime socket (runtime/namespace.ts), or a pipe a caller of devbox waits on would never see its end. */
  else if (opts.sync_fd >= 0)
    close_inherited_fds (opts.sync_fd, NETWORK_PROGRAM_LIFETIME_FD);
  /* Blocked before clone, so none is lost before the signalfd loops start; the child inherits the mask. */
  sigset_t set;
  handled_signals (&set);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    die_with_error ("sigprocmask");

  if (opts.join_pid)
    return join_sandbox (&opts);

  int sync_pipe[2], ready_pipe[2], console[2] = { -1, -1 };
  ContainerPipes pipes = { .in = { -1, -1 }, .out = { -1, -1 }, .err = { -1, -1 } };
  if (opts.container.dir)
    prepare_container (&pipes, ready_pipe);
  else if (pipe2 (ready_pipe, O_CLOEXEC) < 0)
    die_with_error ("pipe2");
  /* A socket, not a pipe: the go byte after the caller's (--setup-during-sync) may meet a pid 1 that failed
     meanwhile, and must not raise SIGPIPE. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_pipe) < 0)
    die_with_error ("socketpair");
  if (opts.tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
    die_with_error ("socketpair");
  /* --slirp4netns: pid 1 holds one end for as long as it lives (it never execs), slirp4netns gets the other. */
  int lifetime[2] = { -1, -1 };
  if (opts.container.slirp4netns && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, lifetime) < 0)
    die_with_error ("socketpair");

  if (opts.userns_of)
    enter_outer_namespaces (&opts);
  pid_t child = clone_child ();
  if (child == 0)
    {
      /* The caller's pipe to the supervisor: pid 1 is joinable and must hold nothing of the host. */
      if (opts.container.notify_fd >= 0)
        close (opts.container.notify_fd);
      close (sync_pipe[1]);
      close (ready_pipe[0]);
      if (opts.tty)
        close (console[0]);
      if (lifetime[1] >= 0)
        close (lifetime[1]);
      sandbox.ready_fd = ready_pipe[1];
      sandbox.console_socket = console[1];
      int ends[3] = { pipes.in[0], pipes.out[1], pipes.err[1] };
      memcpy (sandbox.stdio, ends, sizeof ends);
      int supervisors_ends[3] = { pipes.in[1], pipes.out[0], pipes.err[0] }; /* held here, the command would never see EOF */
      for (int i = 0; i < 3; i++)
        if (supervisors_ends[i] >= 0)
          close (supervisors_ends[i]);
      run_child (sync_pipe[0]);
    }
  close (sync_pipe[0]);
  close (ready_pipe[1]);
  if (opts.tty)
    close (console[1]);
  if (lifetime[0] >= 0)
    close (lifetime[0]);
  /* Held until the end: removing the container's files needs to be root of its user namespace. */
  int userns = opts.container.dir ? open_user_namespace (child) : -1;
  if (!(opts.no_pivot && opts.userns_of))
    write_id_maps (child, &opts);
  if (opts.cgroup)
    enter_cgroup (opts.cgroup, child);
  /* sync_pipe[1] stays open until we exit: the child polls it to learn whether we are still alive. With
     --setup-during-sync pid 1 sets up now, while the caller attaches, and its command waits for a second byte. */
  if (opts.setup_during_sync && write_byte (sync_pipe[1], 'm') < 0)
    die_with_error ("start the sandbox");
  /* pid 1 says it may be opened through /proc before its pid goes to the caller; end of file: it failed. */
  char rooted;
  bool up = !opts.setup_during_sync || read_byte (sync_pipe[1], &rooted) == 1;
  /* slirp4netns links the namespace while pid 1 mounts; the caller learns its pid once it is ready, or that it
     failed (its log says why), and then nothing starts. */
  pid_t outbound = 0;
  if (up && opts.container.slirp4netns)
    {
      int ready;
      outbound = start_outbound (&opts.container, child, lifetime[1], &ready);
      if (!outbound_ready (outbound, ready))
        {
          outbound = 0;
          up = false;
          /* A pid 1 that failed to set up took its namespaces along, and its own message says why. */
          struct pollfd pid1_gone = { .fd = ready_pipe[0], .events = POLLIN };
          if (poll (&pid1_gone, 1, 0) == 0)
            {
              (void) kill (child, SIGKILL);
              if (write_all (opts.sync_fd, "slirp4netns-failed\n", 19) < 0 && errno != EPIPE)
                die_with_error ("--sync-fd: report that slirp4netns failed");
            }
          close (opts.sync_fd); /* the caller reads end of file (pid 1's copy is gone with it) */
          opts.sync_fd = -1;
        }
    }
  if (lifetime[1] >= 0)
    close (lifetime[1]);
  bool go = up && (opts.sync_fd < 0 || sync_with_caller (opts.sync_fd, child, outbound, opts.setup_during_sync ? ready_pipe[0] : -1));
  /* A container's caller learns it on the notify socket (its sync end went to the programs it attached), so
     that an attach failing meanwhile is not taken for the reason. */
  if (!go && opts.container.notify_fd >= 0 && write_all (opts.container.notify_fd, "setup-failed\n", 13) < 0 && errno != EPIPE)
    die_with_error ("tell the caller the sandbox failed to set up");
  /* Then the programs the caller attached may still be writing in the container's directory (slirp4netns's
     log and socket): the caller removes it once they are gone, and does the rest of a --rm itself. */
  if (!go)
    {
      opts.remove_after = NULL;
      opts.container.exit_command = NULL;
    }
  /* Released: a kept-alive sandbox or a detached container outlives the devbox command that started it (its
     records exist by now); devbox stop ends it. Not when pid 1 failed: the supervisor only reports that. */
  if (go && (opts.keep_alive || opts.container.detach || (opts.no_pivot && opts.sync_fd >= 0)) && prctl (PR_SET_PDEATHSIG, 0) < 0)
    die_with_error ("prctl(PR_SET_PDEATHSIG)");
  if (go && send (sync_pipe[1], opts.setup_during_sync ? "g" : "m", 1, MSG_NOSIGNAL) < 0 && errno != EPIPE)
    die_with_error ("start the sandbox");
  if (opts.keep_alive)
    return announce_when_up (child, ready_pipe[0]);
  if (opts.container.dir)
    {
      int commands_ends[3] = { pipes.in[0], pipes.out[1], pipes.err[1] }; /* pid 1 has them */
      for (int i = 0; i < 3; i++)
        if (commands_ends[i] >= 0)
          close (commands_ends[i]);
      MonitorFds fds = { .ctl = ready_pipe[0], .console = console[0], .out = pipes.out[0], .err = pipes.err[0], .in = pipes.in[1], .userns = userns, .outbound = outbound };
      return monitor_container (&opts, child, &fds);
    }
  return supervise (child, ready_pipe[0], console[0]);
}
