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

/* An extended attribute from a PAX header (SCHILY.xattr.NAME): its value is bytes, maybe binary. */
typedef struct
{
  char *name;
  unsigned char *value;
  size_t len;
} TarXattr;

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
  TarXattr *xattrs; /* when read: the entry's SCHILY.xattr PAX records, in order */
  size_t n_xattrs;
  bool gnu_sparse; /* when read: GNU.sparse PAX records, whose data is a sparse map and not the content */
} TarEntry;

void tar_entry_clear (TarEntry *e);

/* Writing: a header (with a PAX header first when needed), then exactly `size` bytes copied from src. */
void tar_write_header (int fd, const TarEntry *e);
void tar_write_data (int fd, int src, unsigned long long size, const char *what);
void tar_write_end (int fd);

/* Where the reader takes the archive's bytes from: read(2) on its fd unless a source is set (the layer
   extractor's inflates and hashes them, layer-input.c). A source returns as read(2) does. */
typedef ssize_t (*TarSource) (int fd, void *buf, size_t len);
void tar_set_source (TarSource source);

/* Reading: the next entry (false at the end of the archive), then its data into dest (-1: skip it). */
bool tar_read_header (int fd, TarEntry *e);
void tar_read_data (int fd, int dest, unsigned long long size, const char *what);
/* The data of a regular file into dest, a new empty file, leaving holes where the tar has aligned 4 KiB blocks
   of zeros (a tar carries holes as zeros). 0, or -1 with errno set when writing dest failed (the data is
   still read past); a failed read of the archive dies. */
int tar_read_file (int fd, int dest, unsigned long long size, const char *what);
/* Reads what follows the end-of-archive marker, to the end of the input; true when it is only zeros (the
   writer's padding to a record size), false for anything else (garbage, or a second archive). */
bool tar_read_trailer (int fd);

/* An entry's name (or a link's target) relative to where the archive is extracted: leading "/" and "./"
   dropped, ".." resolved lexically, before the file system is touched, so "a/../b" never walks through
   whatever "a" is. NULL when it would leave the top. Free the result. */
char *tar_clean_name (const char *name);

#endif
