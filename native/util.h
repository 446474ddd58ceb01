/* Small helpers shared by every part of devbox-helper: fatal errors, allocation, cleanup attributes. */
#ifndef DEVBOX_UTIL_H
#define DEVBOX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit status for "the sandbox could not be set up", distinct from the command's own statuses (as Docker). */
#define EXIT_SETUP_FAILED 125

#define N_ELEMENTS(a) (sizeof (a) / sizeof (a)[0])

/* Print "devbox-helper: <message>" (die_with_error appends ": <strerror(errno)>") and exit. */
void die (const char *format, ...) __attribute__ ((noreturn, format (printf, 1, 2)));
void die_with_error (const char *format, ...) __attribute__ ((noreturn, format (printf, 1, 2)));
void warn_msg (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

/* The status die() exits with (125 unless changed, e.g. 1 for fsops). */
void set_die_status (int status);
/* Run once by die() before exiting: restore the terminal, remove a half-made container. NULL for none. */
void set_fatal_hook (void (*hook) (void));

void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n, size_t size);
char *xstrdup (const char *s);
char *xasprintf (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

/* A whole decimal number in [0, max]; dies naming `what` otherwise. */
unsigned long parse_number (const char *text, unsigned long max, const char *what);

/* Write all of buf, retrying on EINTR, short writes and EAGAIN. 0, or -1 with errno set. */
int write_all (int fd, const void *buf, size_t len);
/* Write text to an existing file (a /proc file). 0, or -1 with errno set. */
int write_file (const char *path, const char *text);
/* One byte over a sync pipe or socket; read_byte returns 1, 0 at end of file, -1 on error. */
int write_byte (int fd, char byte);
int read_byte (int fd, char *byte);
/* The path of fd as a magic link, for calls that take a path (mount(2)). */
char *fd_path (int fd);
/* `len` bytes as lowercase hex digits into `out`, which holds 2 * len + 1 (NUL-terminated). */
void hex_encode (const unsigned char *data, size_t len, char *out);

/* The first executable named `name` in $PATH (or name itself if it has a slash); NULL when none. */
char *find_in_path (const char *name);
/* waitpid for one child, retrying on EINTR; the status as a shell reports it (128+N for signal N). */
int wait_exit_status (pid_t pid);
int exit_status_of (int wstatus);

void cleanup_freep (void *p);
void cleanup_fdp (int *fd);
#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_fd __attribute__ ((cleanup (cleanup_fdp)))

/* Hand an fd out of a cleanup_fd variable. */
static inline int
steal_fd (int *fd)
{
  int ret = *fd;
  *fd = -1;
  return ret;
}

#endif
