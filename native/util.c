#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void (*fatal_hook) (void);

void
set_fatal_hook (void (*hook) (void))
{
  fatal_hook = hook;
}

static void __attribute__ ((noreturn))
exit_setup_failed (void)
{
  void (*hook) (void) = fatal_hook;
  fatal_hook = NULL;
  if (hook)
    hook ();
  _exit (EXIT_SETUP_FAILED);
}

static void
vreport (const char *format, va_list args, const char *suffix)
{
  /* One line on stderr, so devbox can show it as is. */
  fputs ("devbox-helper: ", stderr);
  vfprintf (stderr, format, args);
  if (suffix)
    fprintf (stderr, ": %s", suffix);
  fputc ('\n', stderr);
}

void
die (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  vreport (format, args, NULL);
  va_end (args);
  exit_setup_failed ();
}

void
die_with_error (const char *format, ...)
{
  int saved = errno;
  va_list args;
  va_start (args, format);
  vreport (format, args, strerror (saved));
  va_end (args);
  exit_setup_failed ();
}

void
warn_msg (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  vreport (format, args, NULL);
  va_end (args);
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    die ("out of memory");
  return p;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    die ("out of memory");
  return p;
}

char *
xasprintf (const char *format, ...)
{
  char *p = NULL;
  va_list args;
  va_start (args, format);
  if (vasprintf (&p, format, args) < 0)
    die ("out of memory");
  va_end (args);
  return p;
}

unsigned long
parse_number (const char *text, unsigned long max, const char *what)
{
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > max)
    die ("%s: not a number from 0 to %lu: \"%s\"", what, max, text);
  return value;
}

int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
write_file_at (int dirfd, const char *path, const char *text)
{
  int fd = openat (dirfd, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int ret = write_all (fd, text, strlen (text));
  int saved = errno;
  close (fd);
  errno = saved;
  return ret;
}

void
cleanup_freep (void *p)
{
  free (*(void **) p);
}

void
cleanup_fdp (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}
