/*
 * --sync-fd: the caller attaches programs to the sandbox's namespaces before anything runs in them
 * (slirp4netns must configure the network namespace before the command starts). The outer process reports
 * pid 1's pid and waits for one byte; pid 1 keeps the fd open for as long as it lives, so the caller's end
 * hangs up exactly when the sandbox ends, whoever started it (slirp4netns --exit-fd is given that end).
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* In the outer process, after the id maps are written and before pid 1 may go on with its setup. */
void
sync_with_caller (int fd, pid_t child)
{
  char line[32];
  int len = snprintf (line, sizeof line, "%d\n", (int) child);
  if (write_all (fd, line, (size_t) len) < 0)
    die_with_error ("--sync-fd: report the sandbox's pid");
  /* The descriptor may be non-blocking (it is shared with the caller's event loop). */
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  while (poll (&pfd, 1, -1) < 0)
    if (errno != EINTR)
      die_with_error ("--sync-fd: poll");
  char byte;
  int n = read_byte (fd, &byte);
  if (n < 0)
    die_with_error ("--sync-fd: wait for the caller");
  if (n == 0)
    _exit (EXIT_SETUP_FAILED); /* the caller gave up on the sandbox and says why */
  /* From now on only pid 1 holds it. */
  if (close (fd) < 0)
    die_with_error ("--sync-fd: close");
}
