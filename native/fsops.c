/*
 * fsops mode: file-system operations Node.js has no API for, done by a process that is already root of the
 * user namespace (the layer unpacker): whiteout devices, FIFOs and extended attributes. Applied in order.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void
require_absolute (const char *op, const char *path)
{
  if (path[0] != '/')
    die ("fsops %s: path must be absolute: \"%s\"", op, path);
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static unsigned char *
decode_hex (const char *hex, size_t *len)
{
  size_t n = strlen (hex);
  if (n % 2)
    die ("fsops xattr: odd-length hex value");
  unsigned char *out = xcalloc (n / 2 + 1, 1);
  for (size_t i = 0; i < n / 2; i++)
    {
      int hi = hex_value (hex[2 * i]), lo = hex_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        die ("fsops xattr: not a hex value: \"%s\"", hex);
      out[i] = (unsigned char) (hi << 4 | lo);
    }
  *len = n / 2;
  return out;
}

int
fsops_main (int argc, char **argv)
{
  for (int i = 0; i < argc;)
    {
      const char *op = argv[i];
      int need = strcmp (op, "whiteout") == 0 ? 1 : strcmp (op, "fifo") == 0 ? 2 : strcmp (op, "xattr") == 0 ? 3 : -1;
      if (need < 0)
        die ("fsops: unknown operation \"%s\"", op);
      if (i + need >= argc)
        die ("fsops %s takes %d arguments", op, need);
      const char *path = argv[i + 1];
      require_absolute (op, path);
      if (strcmp (op, "whiteout") == 0)
        {
          /* An overlay whiteout is a 0/0 character device; mknod fails on an existing path, never follows it. */
          if (mknod (path, S_IFCHR, makedev (0, 0)) < 0)
            {
              fprintf (stderr, "devbox-helper: fsops whiteout %s: %s\n", path, strerror (errno));
              return 1;
            }
        }
      else if (strcmp (op, "fifo") == 0)
        {
          mode_t mode = (mode_t) strtoul (argv[i + 2], NULL, 8) & 07777;
          int fd = -1;
          if (mkfifo (path, 0600) < 0 || (fd = open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 || fchmodat (AT_FDCWD, path, mode, 0) < 0)
            {
              fprintf (stderr, "devbox-helper: fsops fifo %s: %s\n", path, strerror (errno));
              return 1;
            }
          close (fd);
        }
      else
        {
          size_t len;
          cleanup_free unsigned char *value = decode_hex (argv[i + 3], &len);
          if (lsetxattr (path, argv[i + 2], value, len, 0) < 0)
            {
              fprintf (stderr, "devbox-helper: fsops xattr %s %s: %s\n", path, argv[i + 2], strerror (errno));
              return 1;
            }
        }
      i += need + 1;
    }
  return 0;
}
