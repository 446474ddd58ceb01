/* Small helpers shared by every part of devbox-helper: fatal errors, allocation, cleanup attributes. */
#ifndef DEVBOX_UTIL_H
#define DEVBOX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit status for "the sandbox could not be set up", distinct from the command's own statuses. */
#define EXIT_SETUP_FAILED 125

void die (const char *format, ...) __attribute__ ((noreturn, format (printf, 1, 2)));
/* Like die, appending ": strerror(errno)"; errno is saved before anything else runs. */
void die_with_error (const char *format, ...) __attribute__ ((noreturn, format (printf, 1, 2)));
void warn_msg (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

/* Called by die() before exiting (once), e.g. to remove a half-made container; NULL for none. */
void set_fatal_hook (void (*hook) (void));

void *xcalloc (size_t n, size_t size);
char *xstrdup (const char *s);
char *xasprintf (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

/* Parses a whole decimal number in [0, max]; dies naming the option otherwise. */
unsigned long parse_number (const char *text, unsigned long max, const char *what);

/* Writes all of buf to fd, retrying on EINTR and short writes. Returns 0 or -1 with errno set. */
int write_all (int fd, const void *buf, size_t len);
/* Writes a small text file at path (which must exist, as /proc files do). Returns 0 or -1 with errno set. */
int write_file_at (int dirfd, const char *path, const char *text);

void cleanup_freep (void *p);
void cleanup_fdp (int *fd);
#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_fd __attribute__ ((cleanup (cleanup_fdp)))

#endif
