/*
 * keep-namespace mode: the store's user namespace owner (src/network/owner.ts). Run by the helper as the
 * command of a --no-pivot --unshare-net namespace with the user's whole id map, it keeps that user namespace
 * alive so that containers are made inside it (--userns-of), their maps written by the helper itself instead
 * of by newuidmap and newgidmap, the setuid tools that cost a start ~20 ms; and so that every devbox network
 * and networked container share one user namespace. It is podman's pause process: it does nothing but wait.
 *
 *   devbox-helper keep-namespace DIR
 *
 * DIR is the owner's directory; devbox writes DIR/owner.json (this process's pid and start time) once this
 * process has said "ready". It ends when that file is removed after it was written, or when DIR is (the store
 * was deleted), or when the file never comes (its starter died): inotify wakes it for those, nothing else does.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STATE_FILE "owner.json"
/* How long devbox may take to write the state file after "ready": longer means its starter died. */
#define FIRST_STATE_MS 30000

static bool
state_file_exists (int dirfd)
{
  struct stat st;
  return fstatat (dirfd, STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
keep_namespace_main (int argc, char **argv)
{
  if (argc != 1)
    die ("usage: devbox-helper keep-namespace DIR");
  /* It needs none of what it inherited but its stdio (fd 4 is its starter's lifetime socket): nothing else stays held. */
  if (syscall (SYS_close_range, 3U, ~0U, 0U) < 0)
    die_with_error ("close_range");
  int dirfd = open (argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    die_with_error ("open %s", argv[0]);
  int events = inotify_init1 (IN_CLOEXEC);
  if (events < 0)
    die_with_error ("inotify_init1");
  /* Watched before the first look, so no removal falls between the two. */
  if (inotify_add_watch (events, argv[0], IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0)
    die_with_error ("watch %s", argv[0]);
  /* Holds no directory of the store, and no pipe of its starter's once it has said it is ready. */
  if (chdir ("/") < 0)
    die_with_error ("chdir /");
  /* Looked at before "ready": a file written before then counts as seen, and so does its removal right after. */
  bool seen = state_file_exists (dirfd), timed_out = false;
  if (write (STDOUT_FILENO, "ready\n", 6) != 6)
    die_with_error ("say ready");
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2 (null, STDIN_FILENO) < 0 || dup2 (null, STDOUT_FILENO) < 0)
    die_with_error ("/dev/null");
  close (null);

  for (;;)
    {
      if (state_file_exists (dirfd))
        seen = true;
      else if (seen || timed_out)
        return 0;
      struct pollfd p = { .fd = events, .events = POLLIN };
      int n = poll (&p, 1, seen ? -1 : FIRST_STATE_MS);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die_with_error ("poll");
      timed_out = n == 0;
      if (n == 0)
        continue;
      char buffer[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
      ssize_t got = read (events, buffer, sizeof buffer);
      if (got < 0 && errno != EINTR)
        die_with_error ("read inotify");
      for (ssize_t at = 0; at < got;)
        {
          const struct inotify_event *event = (const struct inotify_event *) (buffer + at);
          if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
            return 0;
          at += (ssize_t) (sizeof *event + event->len);
        }
    }
}
