/*
 * --sync-fd: the caller attaches programs to the sandbox's namespaces before anything runs in them
 * (slirp4netns must configure the network namespace before the command starts). The outer process reports
 * pid 1's pid and waits for one byte; pid 1 keeps the fd open for as long as it lives, so the caller's end
 * hangs up exactly when the sandbox ends, whoever started it (slirp4netns --exit-fd is given that end).
 * With --setup-during-sync pid 1 mounts its root and file systems while the caller attaches (slirp4netns's
 * start overlaps them) and only its command waits for the byte, passed on by the outer process (main.c).
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

void
validate_sync_fd (int fd)
{
  if (fd < 3)
    die ("--sync-fd: %d is a standard stream; give a descriptor of its own", fd);
  if (fcntl (fd, F_GETFD) < 0)
    die_with_error ("--sync-fd: descriptor %d", fd);
}

/*
 * In the outer process, after the id maps are written: report pid 1's pid (and slirp4netns's after it, when
 * the helper started it: `outbound`, else 0) and wait for the caller's byte.
 * With --setup-during-sync pid 1 is setting up meanwhile, and may fail: child_fd (the end of pid 1's channel
 * to this process, which it writes nothing on before the go) then hangs up, and this returns false without
 * waiting for the caller, whose end this process closes (pid 1's copy is gone with it). -1: pid 1 waits too.
 */
bool
sync_with_caller (int fd, pid_t child, pid_t outbound, int child_fd)
{
  char line[32];
  int len = outbound ? snprintf (line, sizeof line, "%d %d\n", (int) child, (int) outbound) : snprintf (line, sizeof line, "%d\n", (int) child);
  if (write_all (fd, line, (size_t) len) < 0)
    die_with_error ("--sync-fd: report the sandbox's pid");
  /* The descriptor may be non-blocking (it is shared with the caller's event loop). */
  struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = child_fd, .events = POLLIN } };
  for (;;)
    {
      if (poll (pfd, child_fd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          die_with_error ("--sync-fd: poll");
        }
      if (pfd[0].revents)
        break;
      if (child_fd >= 0 && pfd[1].revents)
        {
          close (fd);
          return false;
        }
    }
  char byte;
  int n = read_byte (fd, &byte);
  if (n < 0)
    die_with_error ("--sync-fd: wait for the caller");
  if (n == 0)
    {
      /* The caller gave up on the sandbox and says why; it removes the container's directory, which
         slirp4netns writes in, once this process has ended. */
      if (outbound)
        end_outbound (outbound);
      _exit (EXIT_SETUP_FAILED);
    }
  /* From now on only pid 1 holds it. */
  if (close (fd) < 0)
    die_with_error ("--sync-fd: close");
  return true;
}
