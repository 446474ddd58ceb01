/*
 * --join PID: run a command in a live sandbox (one started with --keep-alive), as `podman exec` does. Every
 * namespace of its pid 1 is entered at once through a pidfd, so a pid recycled after devbox checked it cannot
 * be entered by mistake; then a fork puts the command inside the pid namespace. This process stays outside
 * it (invisible to the sandbox's processes) and relays signals and the terminal until the command exits.
 */
#include "helper.h"
#include "util.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static bool
same_namespace (pid_t pid, const char *name)
{
  cleanup_free char *theirs = xasprintf ("/proc/%d/ns/%s", (int) pid, name);
  cleanup_free char *ours = xasprintf ("/proc/self/ns/%s", name);
  struct stat a, b;
  if (stat (theirs, &a) < 0)
    die_with_error ("stat %s", theirs);
  if (stat (ours, &b) < 0)
    die_with_error ("stat %s", ours);
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void
enter_namespaces (pid_t pid)
{
  int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    die_with_error ("no live sandbox with pid %d", (int) pid);
  int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  /* A sandbox on the host's network shares ours; entering it again would need privilege over it. */
  if (!same_namespace (pid, "net"))
    flags |= CLONE_NEWNET;
  /* Re-entering our own user namespace is refused (EINVAL): the pid is not a sandbox of ours. */
  if (setns (pidfd, flags) < 0)
    die_with_error ("enter the namespaces of pid %d", (int) pid);
  close (pidfd);
  /* Entering the mount namespace put root and cwd at the sandbox's root. */
  use_current_root ();
}

/*
 * --userns-of PID (and --netns-of PID): enter that process's user namespace, whose owner we are, before the
 * sandbox's namespaces are made, so that they are made inside it. A devbox network's holder owns the
 * network's namespace: a container whose user namespace is nested in the holder's can be given a veth pair
 * by it, which a sibling user namespace could not (moving a link into a network namespace takes
 * CAP_NET_ADMIN over the namespace's owner). --netns-of shares the network namespace of another container.
 */
void
enter_outer_namespaces (const Options *opts)
{
  int pidfd = (int) syscall (SYS_pidfd_open, opts->userns_of, 0);
  if (pidfd < 0)
    die_with_error ("--userns-of: no process %d", (int) opts->userns_of);
  if (setns (pidfd, CLONE_NEWUSER | (opts->netns_of ? CLONE_NEWNET : 0)) < 0)
    die_with_error ("enter the namespaces of pid %d", (int) opts->userns_of);
  close (pidfd);
}

int
join_sandbox (const Options *opts)
{
  /* Nothing in the sandbox may read this process's memory or fds, though it has the namespace's privileges. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    die_with_error ("prctl(PR_SET_DUMPABLE)");
  /* Into the container's cgroup while the host's cgroup file system is still reachable; the command forked
     below inherits it, so its limits count what an exec runs (as podman's exec). */
  if (opts->cgroup)
    enter_cgroup (opts->cgroup, getpid ());
  enter_namespaces (opts->join_pid);
  int console[2] = { -1, -1 };
  if (opts->tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
    die_with_error ("socketpair");
  pid_t child = fork ();
  if (child < 0)
    die_with_error ("fork into the sandbox");
  if (child == 0)
    {
      /* The terminal comes from the sandbox's own devpts, allocated in here, as pid 1 does for run --tty. */
      int pty_slave = -1;
      if (opts->tty)
        {
          close (console[0]);
          pty_slave = open_console (console[1], false);
        }
      if (opts->archive)
        _exit (run_archive (opts));
      exec_command (opts, pty_slave);
    }
  if (opts->tty)
    close (console[1]);
  return supervise (child, -1, console[0]);
}
