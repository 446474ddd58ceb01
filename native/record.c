/* What the container supervisor writes for devbox to read: time stamps, JSON strings, whole files, log lines. */
#include "container.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 3339 in UTC with nanoseconds, as Docker's and the CRI log format's time stamps. */
void
format_timestamp (const struct timespec *ts, char *buf, size_t len)
{
  struct tm tm;
  gmtime_r (&ts->tv_sec, &tm);
  char date[32];
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, len, "%s.%09ldZ", date, ts->tv_nsec);
}

/* A quoted JSON string; control characters and bytes that are not UTF-8 text are escaped. */
char *
json_string (const char *text, size_t len)
{
  char *out = xcalloc (len * 6 + 3, 1);
  char *p = out;
  *p++ = '"';
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) text[i];
      if (c == '"' || c == '\\')
        {
          *p++ = '\\';
          *p++ = (char) c;
        }
      else if (c == '\n')
        p += sprintf (p, "\\n");
      else if (c < 0x20 || c == 0x7f || c >= 0x80)
        p += sprintf (p, "\\u%04x", c < 0x80 ? c : 0xfffd); /* one replacement character per byte past ASCII */
      else
        *p++ = (char) c;
    }
  *p++ = '"';
  return out;
}

/* temp + rename in the same directory: devbox never reads half a record. Failures are reported, not fatal. */
void
write_record (const char *path, const char *text)
{
  cleanup_free char *temp = xasprintf ("%s.%d.tmp", path, (int) getpid ());
  int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write_all (fd, text, strlen (text)) < 0 || close (fd) < 0 || rename (temp, path) < 0)
    {
      warn_msg ("write %s: %s", path, strerror (errno));
      (void) unlink (temp);
    }
}

/* One JSON line appended to the store's event log (O_APPEND: lines from several writers never interleave). */
void
append_event (const char *events_path, const char *id, const char *action, const char *attribute, const char *value)
{
  if (events_path == NULL)
    return;
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  char time[48];
  format_timestamp (&now, time, sizeof time);
  cleanup_free char *line =
    attribute ? xasprintf ("{\"time\":\"%s\",\"type\":\"container\",\"action\":\"%s\",\"id\":\"%s\",\"attributes\":{\"%s\":\"%s\"}}\n", time, action, id, attribute, value)
              : xasprintf ("{\"time\":\"%s\",\"type\":\"container\",\"action\":\"%s\",\"id\":\"%s\"}\n", time, action, id);
  int fd = open (events_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || write_all (fd, line, strlen (line)) < 0)
    warn_msg ("append to %s: %s", events_path, strerror (errno));
  if (fd >= 0)
    close (fd);
}
