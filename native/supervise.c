/*
 * The outer process's loop while a sandbox (or a joined command) runs: signals from the caller go to its
 * pid 1, the terminal is relayed with --tty, and its exit status becomes ours. Shared by a run, a kept-alive
 * sandbox's supervisor and --join.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* SIGCHLD → the exit status once the sandbox ended; SIGWINCH → resize; others go to pid 1. -1: go on. */
static int
handle_signal (int sfd, pid_t child, const Relay *relay)
{
  struct signalfd_siginfo info;
  if (TEMP_FAILURE_RETRY (read (sfd, &info, sizeof info)) != sizeof info)
    die_with_error ("read signalfd");
  int wstatus;
  if (info.ssi_signo == SIGCHLD)
    return waitpid (child, &wstatus, WNOHANG) == child ? exit_status_of (wstatus) : -1;
  if (info.ssi_signo == SIGWINCH && relay)
    relay_resize (relay);
  else
    (void) kill (child, (int) info.ssi_signo); /* ESRCH: it is exiting, SIGCHLD follows */
  return -1;
}

/* A sandbox that ended before it was up failed to start, whatever its status: 125. */
static int
status_after_setup (int status, int ready_fd)
{
  if (ready_fd < 0) /* already known to be up */
    return status;
  char byte;
  if (read_byte (ready_fd, &byte) == 1)
    return status;
  if (status > 128)
    warn_msg ("the sandbox was killed by signal %d while it was being set up", status - 128);
  return EXIT_SETUP_FAILED;
}

int
supervise (pid_t child, int ready_fd, int console_socket)
{
  Relay relay;
  bool relaying = console_socket >= 0 && relay_start (&relay, console_socket);
  if (console_socket >= 0)
    close (console_socket);
  sigset_t set;
  handled_signals (&set);
  cleanup_fd int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    die_with_error ("signalfd");
  int status = -1;
  while (status < 0)
    {
      struct pollfd fds[3] = { { .fd = sfd, .events = POLLIN } };
      nfds_t n = 1 + (relaying ? (nfds_t) relay_poll_fds (&relay, fds + 1) : 0);
      if (poll (fds, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          die_with_error ("poll");
        }
      if (relaying)
        relay_handle (&relay, fds + 1);
      if (fds[0].revents & POLLIN)
        status = handle_signal (sfd, child, relaying ? &relay : NULL);
    }
  if (relaying)
    relay_finish (&relay);
  return status_after_setup (status, ready_fd);
}
