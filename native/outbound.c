/*
 * --slirp4netns ARG…: a container's outbound link, started by the outer process as soon as pid 1's namespaces
 * exist and its id maps are written, while pid 1 mounts (--setup-during-sync). devbox used to start it itself
 * once it had learnt pid 1's pid: a fork of its ~50 MB Node.js process and a round trip through its event loop
 * on the critical path of every run.
 *
 * The command is the caller's, its argument `{pid}` replaced by pid 1's pid; the helper gives it fd 3, the other end of a
 * socket pid 1 holds for as long as it lives (its --exit-fd: it ends with the sandbox, whoever ends that),
 * and fd 4, the pipe it writes once the network inside is configured (its --ready-fd). It runs in a session
 * of its own (the terminal's signals are the container's), in the container's directory (where its API
 * socket goes), with umask 0 (with --enable-sandbox it creates
 * its API socket as root of the sandbox's user namespace, which is not the caller; the container's 0700
 * directory keeps others out), its stderr to --slirp4netns-log. The supervisor reaps it and waits for its end
 * before it exits, so a caller that waited for the supervisor finds the host ports it held free.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long slirp4netns may take to notice the sandbox has ended before it is killed. */
#define OUTBOUND_GRACE_MS 2000

/* In the forked child: the descriptors slirp4netns expects, then its exec. Never returns. */
static void __attribute__ ((noreturn))
exec_slirp4netns (const ContainerOpts *c, pid_t sandbox, int lifetime, int ready)
{
  reset_signals ();
  /* Its API socket goes where it runs: the container's directory. */
  if (setsid () < 0 || chdir (c->dir) < 0)
    _exit (127);
  umask (0);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int log = open (c->slirp4netns_log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  /* Above 4 first, so that moving one to 3 or 4 cannot close the other. */
  int high_lifetime = fcntl (lifetime, F_DUPFD_CLOEXEC, 10), high_ready = fcntl (ready, F_DUPFD_CLOEXEC, 10);
  if (null < 0 || log < 0 || high_lifetime < 0 || high_ready < 0 || dup2 (null, STDIN_FILENO) < 0 || dup2 (null, STDOUT_FILENO) < 0
      || dup2 (log, STDERR_FILENO) < 0 || dup2 (high_lifetime, 3) < 0 || dup2 (high_ready, 4) < 0)
    _exit (127);
  if (syscall (SYS_close_range, 5U, ~0U, 0U) < 0)
    _exit (127);
  char **argv = xcalloc (c->n_slirp4netns + 1, sizeof (char *));
  for (size_t i = 0; i < c->n_slirp4netns; i++)
    argv[i] = strcmp (c->slirp4netns[i], SLIRP4NETNS_PID) == 0 ? xasprintf ("%d", (int) sandbox) : c->slirp4netns[i];
  execv (argv[0], argv);
  dprintf (STDERR_FILENO, "devbox-helper: exec %s: %s\n", argv[0], strerror (errno));
  _exit (127);
}

pid_t
start_outbound (const ContainerOpts *c, pid_t sandbox, int lifetime, int *ready_fd)
{
  int ready[2];
  if (pipe2 (ready, O_CLOEXEC) < 0)
    die_with_error ("pipe2");
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork");
  if (pid == 0)
    exec_slirp4netns (c, sandbox, lifetime, ready[1]);
  close (ready[1]);
  *ready_fd = ready[0];
  return pid;
}

/* Whether it configured the network: its byte on the ready pipe; end of file means it ended (its log says why). */
bool
outbound_ready (pid_t pid, int ready_fd)
{
  char byte;
  int n = read_byte (ready_fd, &byte);
  close (ready_fd);
  if (n == 1)
    return true;
  end_outbound (pid);
  return false;
}

/* Killed if it is still running, and reaped: nothing of it is left writing in the container's directory. */
void
end_outbound (pid_t pid)
{
  (void) kill (pid, SIGKILL);
  (void) TEMP_FAILURE_RETRY (waitpid (pid, NULL, 0));
}

/*
 * Once pid 1 has ended: slirp4netns sees its exit fd hang up and ends on its own; after OUTBOUND_GRACE_MS it
 * is killed. `pid` is our child and not reaped yet (the supervisor forgets it when it reaps it earlier), so
 * its pid cannot have been reused.
 */
void
await_outbound_end (pid_t pid)
{
  int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd >= 0)
    {
      struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
      while (poll (&pfd, 1, OUTBOUND_GRACE_MS) < 0 && errno == EINTR)
        ;
      close (pidfd);
    }
  end_outbound (pid);
}
