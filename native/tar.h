/* tar.c: reading and writing tar archives (ustar with PAX extended headers). */
#ifndef DEVBOX_TAR_H
#define DEVBOX_TAR_H

#include <stdbool.h>
#include <sys/types.h>

/* Entry types (the typeflag byte). */
#define TAR_REGULAR '0'
#define TAR_HARDLINK '1'
#define TAR_SYMLINK '2'
#define TAR_CHAR '3'
#define TAR_BLOCK '4'
#define TAR_DIRECTORY '5'
#define TAR_FIFO '6'
#define TAR_CONTIGUOUS '7'
#define TAR_PAX 'x'
#define TAR_GLOBAL_PAX 'g'
#define TAR_GNU_LONGNAME 'L'
#define TAR_GNU_LONGLINK 'K'

typedef struct
{
  char *name;     /* as in the archive; a directory's ends in '/' when written */
  char *linkname; /* symlink target, or the archive name a hard link points at; "" otherwise when read */
  char type;
  mode_t mode; /* permission bits only (07777) */
  uid_t uid;
  gid_t gid;
  unsigned long long size;
  unsigned long long data_size; /* bytes of data that follow the header when read */
  long long mtime;              /* seconds */
  unsigned devmajor, devminor;
} TarEntry;

void tar_entry_clear (TarEntry *e);

/* Writing: a header (with a PAX header first when needed), then exactly `size` bytes copied from src. */
void tar_write_header (int fd, const TarEntry *e);
void tar_write_data (int fd, int src, unsigned long long size, const char *what);
void tar_write_end (int fd);

/* Reading: the next entry (false at the end of the archive), then its data into dest (-1: skip it). */
bool tar_read_header (int fd, TarEntry *e);
void tar_read_data (int fd, int dest, unsigned long long size, const char *what);

#endif
