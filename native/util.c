#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int die_status = EXIT_SETUP_FAILED;
static void (*fatal_hook) (void);

void
set_die_status (int status)
{
  die_status = status;
}

void
set_fatal_hook (void (*hook) (void))
{
  fatal_hook = hook;
}

static void __attribute__ ((noreturn))
exit_failed (void)
{
  void (*hook) (void) = fatal_hook;
  fatal_hook = NULL;
  if (hook)
    hook ();
  _exit (die_status);
}

/* One line on stderr, so devbox can show it as is. */
static void
report (const char *format, va_list args, const char *suffix)
{
  char line[1024];
  vsnprintf (line, sizeof line, format, args);
  if (suffix)
    fprintf (stderr, "devbox-helper: %s: %s\n", line, suffix);
  else
    fprintf (stderr, "devbox-helper: %s\n", line);
}

void
die (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  report (format, args, NULL);
  va_end (args);
  exit_failed ();
}

void
die_with_error (const char *format, ...)
{
  int saved = errno; /* before anything else can change it */
  va_list args;
  va_start (args, format);
  report (format, args, strerror (saved));
  va_end (args);
  exit_failed ();
}

void
warn_msg (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  report (format, args, NULL);
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

void *
xrealloc (void *p, size_t n, size_t size)
{
  void *q = reallocarray (p, n ? n : 1, size);
  if (q == NULL)
    die ("out of memory");
  return q;
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
  int n = vasprintf (&p, format, args);
  va_end (args);
  if (n < 0)
    die ("out of memory");
  return p;
}

unsigned long
parse_number (const char *text, unsigned long max, const char *what)
{
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] < '0' || text[0] > '9' || value > max)
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
      if (n < 0 && errno == EAGAIN)
        {
          /* A non-blocking descriptor shared with our caller (a terminal): wait until it takes more. */
          struct pollfd pfd = { .fd = fd, .events = POLLOUT };
          if (poll (&pfd, 1, -1) < 0 && errno != EINTR)
            return -1;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
write_file (const char *path, const char *text)
{
  cleanup_fd int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  return write_all (fd, text, strlen (text));
}

int
write_byte (int fd, char byte)
{
  return write_all (fd, &byte, 1);
}

int
read_byte (int fd, char *byte)
{
  ssize_t n = TEMP_FAILURE_RETRY (read (fd, byte, 1));
  return n < 0 ? -1 : (int) n;
}

char *
fd_path (int fd)
{
  return xasprintf ("/proc/self/fd/%d", fd);
}

void
hex_encode (const unsigned char *data, size_t len, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 15];
    }
  out[2 * len] = '\0';
}

char *
find_in_path (const char *name)
{
  if (strchr (name, '/'))
    return access (name, X_OK) == 0 ? xstrdup (name) : NULL;
  const char *path = getenv ("PATH");
  cleanup_free char *dirs = xstrdup (path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  char *save = NULL;
  for (char *dir = strtok_r (dirs, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *candidate = xasprintf ("%s/%s", dir, name);
      struct stat st;
      if (stat (candidate, &st) == 0 && S_ISREG (st.st_mode) && access (candidate, X_OK) == 0)
        return candidate;
      free (candidate);
    }
  return NULL;
}

int
exit_status_of (int wstatus)
{
  return WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
}

int
wait_exit_status (pid_t pid)
{
  int wstatus;
  if (TEMP_FAILURE_RETRY (waitpid (pid, &wstatus, 0)) < 0)
    die_with_error ("waitpid %d", (int) pid);
  return exit_status_of (wstatus);
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

#ifdef __SANITIZE_ADDRESS__
/*
 * The sanitizer build (make sanitize) looks for memory errors, not leaks: LeakSanitizer's scan at exit stops
 * the process with a helper process that ptraces it, which a --join helper (not dumpable, its children born
 * in the sandbox's pid namespace) cannot allow, and the scan hangs. What the helper allocates lives until it
 * exits anyway.
 */
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
  return "detect_leaks=0";
}
#endif
