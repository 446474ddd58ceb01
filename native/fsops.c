/*
 * File operations by fd or without following symlinks:
 *  - fsops mode, for the layer unpacker and the build's layer diff (already root of the user namespace): what
 *    Node.js has no API for, whiteout devices, FIFOs with exact modes, setting and listing extended attributes,
 *    syncfs (one flush of a whole unpacked layer instead of an fsync per file), and removing trees whose
 *    files belong to the namespace's ids (layers, container directories);
 *  - the recursive removal behind --remove-after and fsops remove.
 */
#include "helper.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* NULL when hex is not an even number of hex digits. */
static unsigned char *
decode_hex (const char *hex, size_t *len)
{
  size_t n = strlen (hex);
  if (n % 2 || strspn (hex, "0123456789abcdefABCDEF") != n)
    return NULL;
  unsigned char *out = xcalloc (n / 2 + 1, 1);
  for (size_t i = 0; i < n / 2; i++)
    sscanf (hex + 2 * i, "%2hhx", &out[i]); /* two hex digits, checked above */
  *len = n / 2;
  return out;
}

static mode_t
parse_mode (const char *text)
{
  char *end = NULL;
  unsigned long mode = strtoul (text, &end, 8);
  if (text[0] < '0' || text[0] > '7' || *end != '\0' || mode > 07777)
    die ("fsops fifo: not an octal mode from 0 to 7777: \"%s\"", text);
  return (mode_t) mode;
}

static int
op_arity (const char *op)
{
  if (strcmp (op, "whiteout") == 0)
    return 1;
  if (strcmp (op, "fifo") == 0)
    return 2;
  if (strcmp (op, "xattr") == 0)
    return 3;
  if (strcmp (op, "xattrs") == 0)
    return 1;
  if (strcmp (op, "syncfs") == 0)
    return 1;
  if (strcmp (op, "remove") == 0)
    return 1;
  die ("fsops: unknown operation \"%s\"", op);
}

/* Everything is checked before the first operation runs. */
static void
validate_ops (int argc, char **argv)
{
  for (int i = 0; i < argc; i += 1 + op_arity (argv[i]))
    {
      const char *op = argv[i];
      int n = op_arity (op);
      if (argc - i - 1 < n)
        die ("fsops %s takes %d argument%s", op, n, n == 1 ? "" : "s");
      if (argv[i + 1][0] != '/')
        die ("fsops %s: the path must be absolute: \"%s\"", op, argv[i + 1]);
      if (strcmp (op, "remove") == 0)
        {
          const char *last = strrchr (argv[i + 1], '/') + 1;
          if (*last == '\0' || strcmp (last, ".") == 0 || strcmp (last, "..") == 0)
            die ("fsops remove: not a path to remove: \"%s\"", argv[i + 1]);
        }
      size_t len;
      if (strcmp (op, "fifo") == 0)
        parse_mode (argv[i + 2]);
      else if (strcmp (op, "xattr") == 0)
        {
          unsigned char *value = decode_hex (argv[i + 3], &len);
          if (value == NULL)
            die ("fsops xattr: not a hex value: \"%s\"", argv[i + 3]);
          free (value);
        }
    }
}

/* mknod and mkfifo never follow a symlink in the last component: an existing one is EEXIST, untouched. */
static void
make_fifo (const char *path, mode_t mode)
{
  if (mkfifo (path, 0600) < 0)
    die_with_error ("fsops fifo %s", path);
  /* chmod by fd, so the setuid, setgid and sticky bits land exactly, on this FIFO and nothing else. */
  cleanup_fd int fd = open (path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fchmod (fd, mode) < 0)
    die_with_error ("fsops fifo %s", path);
}

static void
print_hex (const unsigned char *data, size_t len)
{
  for (size_t i = 0; i < len; i++)
    printf ("%02x", data[i]);
}

/* Writes back everything on the file system that holds the directory path; syncfs reports writeback
   errors since Linux 5.8. */
static void
sync_file_system (const char *path)
{
  cleanup_fd int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || syncfs (fd) < 0)
    die_with_error ("fsops syncfs %s", path);
}

/* Removes path and everything below it (a missing path is fine), never following a symlink below its
   folder. Returns the number of entries that could not be removed (each reported). */
int
remove_path (const char *path)
{
  cleanup_free char *parent = xstrdup (path);
  char *last = strrchr (parent, '/');
  *last = '\0';
  cleanup_fd int parent_fd = open (last == parent ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      warn_msg ("remove %s: %s", path, strerror (errno));
      return 1;
    }
  return remove_tree_at (parent_fd, last + 1);
}

/* One line per attribute of path (not following a symlink): "PATH NAME VALUE", each hex-encoded. */
static void
list_xattrs (const char *path)
{
  ssize_t size = llistxattr (path, NULL, 0);
  if (size < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
    return;
  if (size < 0)
    die_with_error ("fsops xattrs %s", path);
  cleanup_free char *names = xcalloc ((size_t) size + 1, 1);
  size = llistxattr (path, names, (size_t) size);
  if (size < 0)
    die_with_error ("fsops xattrs %s", path);
  for (char *name = names; name < names + size; name += strlen (name) + 1)
    {
      ssize_t len = lgetxattr (path, name, NULL, 0);
      if (len < 0 && errno == ENODATA) /* removed meanwhile */
        continue;
      if (len < 0)
        die_with_error ("fsops xattrs %s %s", path, name);
      cleanup_free unsigned char *value = xcalloc ((size_t) len + 1, 1);
      len = lgetxattr (path, name, value, (size_t) len);
      if (len < 0)
        die_with_error ("fsops xattrs %s %s", path, name);
      print_hex ((const unsigned char *) path, strlen (path));
      putchar (' ');
      print_hex ((const unsigned char *) name, strlen (name));
      putchar (' ');
      print_hex (value, (size_t) len);
      putchar ('\n');
    }
}

int
fsops_main (int argc, char **argv)
{
  set_die_status (1);
  validate_ops (argc, argv);
  int failures = 0;
  for (int i = 0; i < argc; i += 1 + op_arity (argv[i]))
    {
      const char *op = argv[i], *path = argv[i + 1];
      if (strcmp (op, "whiteout") == 0)
        {
          /* An overlay whiteout is a character device 0/0. */
          if (mknod (path, S_IFCHR, makedev (0, 0)) < 0)
            die_with_error ("fsops whiteout %s", path);
        }
      else if (strcmp (op, "fifo") == 0)
        make_fifo (path, parse_mode (argv[i + 2]));
      else if (strcmp (op, "xattrs") == 0)
        list_xattrs (path);
      else if (strcmp (op, "syncfs") == 0)
        sync_file_system (path);
      else if (strcmp (op, "remove") == 0)
        failures += remove_path (path);
      else
        {
          size_t len = 0;
          cleanup_free unsigned char *value = decode_hex (argv[i + 3], &len);
          if (lsetxattr (path, argv[i + 2], value, len, 0) < 0)
            die_with_error ("fsops xattr %s %s", path, argv[i + 2]);
        }
    }
  if (fflush (stdout) != 0 || ferror (stdout))
    die_with_error ("fsops: write to stdout");
  return failures ? 1 : 0;
}

static int remove_entry (int parent_fd, const char *name, unsigned char type);

/* Empties the directory name under parent_fd, never following a symlink, then removes it. Best effort: a
   failure is reported and the rest still removed. Returns the number of failures. */
int
remove_tree_at (int parent_fd, const char *name)
{
  int fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOTDIR || errno == ELOOP) /* not a directory after all */
        return remove_entry (parent_fd, name, DT_REG);
      if (errno == ENOENT)
        return 0;
      warn_msg ("remove %s: %s", name, strerror (errno));
      return 1;
    }
  DIR *dir = fdopendir (fd);
  if (dir == NULL)
    {
      warn_msg ("remove %s: %s", name, strerror (errno));
      close (fd);
      return 1;
    }
  int failures = 0;
  struct dirent *e;
  while ((e = readdir (dir)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      failures += remove_entry (dirfd (dir), e->d_name, e->d_type);
  closedir (dir);
  if (unlinkat (parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    {
      warn_msg ("remove %s: %s", name, strerror (errno));
      failures++;
    }
  return failures;
}

static int
remove_entry (int parent_fd, const char *name, unsigned char type)
{
  if (type == DT_DIR || type == DT_UNKNOWN)
    return remove_tree_at (parent_fd, name);
  if (unlinkat (parent_fd, name, 0) < 0 && errno != ENOENT)
    {
      warn_msg ("remove %s: %s", name, strerror (errno));
      return 1;
    }
  return 0;
}
