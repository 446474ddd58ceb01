/*
 * The container's log: podman's k8s-file format, one line per line of output,
 *   2024-05-01T10:00:00.123456789Z stdout F the line
 * F for a full line, P for a part (output that did not end with a newline when it was read). Text, easy to
 * write without JSON escaping, read by `devbox logs`. Rotated by size: log → log.1 → … → log.(N-1).
 */
#include "container.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

void
log_open (LogFile *log, const char *path, long max_size, int max_files)
{
  log->path = path;
  log->max_size = max_size;
  log->max_files = max_files < 1 ? 1 : max_files;
  log->fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log->fd < 0)
    die_with_error ("open the log %s", path);
  struct stat st;
  log->size = fstat (log->fd, &st) == 0 ? (long) st.st_size : 0;
}

static void
rotate (LogFile *log)
{
  for (int i = log->max_files - 1; i >= 1; i--)
    {
      cleanup_free char *from = i == 1 ? xstrdup (log->path) : xasprintf ("%s.%d", log->path, i - 1);
      cleanup_free char *to = xasprintf ("%s.%d", log->path, i);
      if (rename (from, to) < 0 && errno != ENOENT)
        warn_msg ("rotate the log %s: %s", from, strerror (errno));
    }
  if (log->max_files == 1)
    (void) unlink (log->path);
  close (log->fd);
  log_open (log, log->path, log->max_size, log->max_files);
}

static void
write_line (LogFile *log, const char *stamp, const char *stream, char tag, const char *text, size_t len)
{
  if (log->max_size > 0 && log->size > 0 && log->size + (long) len > log->max_size)
    rotate (log);
  char head[96];
  int head_len = snprintf (head, sizeof head, "%s %s %c ", stamp, stream, tag);
  struct iovec parts[3] = { { head, (size_t) head_len }, { (void *) text, len }, { "\n", 1 } };
  ssize_t n = writev (log->fd, parts, 3);
  if (n < 0)
    warn_msg ("write the log %s: %s", log->path, strerror (errno)); /* a full disk must not stop the container */
  else
    log->size += n;
}

void
log_write (LogFile *log, const char *stream, const char *buf, size_t len)
{
  if (log->fd < 0 || len == 0)
    return;
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  char stamp[48];
  format_timestamp (&now, stamp, sizeof stamp);
  while (len > 0)
    {
      const char *nl = memchr (buf, '\n', len);
      size_t line = nl ? (size_t) (nl - buf) : len;
      write_line (log, stamp, stream, nl ? 'F' : 'P', buf, line);
      buf += line + (nl ? 1 : 0);
      len -= line + (nl ? 1 : 0);
    }
}
