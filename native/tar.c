/*
 * The tar format, as much of it as `devbox cp` and `devbox export` move: POSIX ustar headers, with a PAX
 * extended header in front when a name, a link target, a size or an id does not fit (what Go's archive/tar
 * and GNU tar write). Reading also takes GNU long names and base-256 numbers, which other tools write.
 * Names are opaque bytes: no user or group name is ever looked up (CVE-2019-14271 loaded NSS modules from
 * the container to do that).
 */
#include "tar.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 512

/* Field offsets and widths of a ustar header. */
enum
{
  F_NAME = 0, F_MODE = 100, F_UID = 108, F_GID = 116, F_SIZE = 124, F_MTIME = 136, F_CHKSUM = 148,
  F_TYPE = 156, F_LINKNAME = 157, F_MAGIC = 257, F_VERSION = 263, F_DEVMAJOR = 329, F_DEVMINOR = 337,
  F_PREFIX = 345,
};

static const unsigned long long MAX_OCTAL_8 = 07777777ULL;       /* 7 digits: mode, ids, device numbers */
static const unsigned long long MAX_OCTAL_12 = 077777777777ULL;  /* 11 digits: size, mtime */

void
tar_entry_clear (TarEntry *e)
{
  free (e->name);
  free (e->linkname);
  for (size_t i = 0; i < e->n_xattrs; i++)
    {
      free (e->xattrs[i].name);
      free (e->xattrs[i].value);
    }
  free (e->xattrs);
  memset (e, 0, sizeof *e);
}

static void
put_octal (char *field, size_t width, unsigned long long value)
{
  char text[32];
  snprintf (text, sizeof text, "%0*llo", (int) (width - 1), value);
  memcpy (field, text, width - 1);
  field[width - 1] = '\0';
}

static void
put_checksum (unsigned char *block)
{
  memset (block + F_CHKSUM, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < BLOCK; i++)
    sum += block[i];
  char text[8];
  snprintf (text, sizeof text, "%06o", sum);
  memcpy (block + F_CHKSUM, text, 7); /* six digits, NUL; the eighth byte stays a space */
}

/* One "LEN key=value\n" record; LEN counts the whole record, its own digits included. */
static void
pax_record (char **buf, size_t *len, const char *key, const char *value, size_t value_len)
{
  size_t body = 1 + strlen (key) + 1 + value_len + 1;
  size_t total = body + 1;
  while (total != body + (size_t) snprintf (NULL, 0, "%zu", total))
    total = body + (size_t) snprintf (NULL, 0, "%zu", total);
  *buf = xrealloc (*buf, *len + total + 1, 1);
  int n = sprintf (*buf + *len, "%zu %s=", total, key);
  memcpy (*buf + *len + n, value, value_len);
  (*buf)[*len + total - 1] = '\n';
  *len += total;
}

static void
write_blocks (int fd, const void *data, size_t len)
{
  if (write_all (fd, data, len) < 0)
    die_with_error ("write the archive");
  static const char zeros[BLOCK];
  if (len % BLOCK && write_all (fd, zeros, BLOCK - len % BLOCK) < 0)
    die_with_error ("write the archive");
}

static void
write_ustar (int fd, const char *name, const TarEntry *e, char type, unsigned long long size)
{
  unsigned char block[BLOCK] = { 0 };
  memcpy (block + F_NAME, name, strnlen (name, 100));
  put_octal ((char *) block + F_MODE, 8, e->mode & 07777);
  put_octal ((char *) block + F_UID, 8, e->uid <= MAX_OCTAL_8 ? e->uid : 0);
  put_octal ((char *) block + F_GID, 8, e->gid <= MAX_OCTAL_8 ? e->gid : 0);
  put_octal ((char *) block + F_SIZE, 12, size <= MAX_OCTAL_12 ? size : 0);
  put_octal ((char *) block + F_MTIME, 12, e->mtime >= 0 && (unsigned long long) e->mtime <= MAX_OCTAL_12 ? (unsigned long long) e->mtime : 0);
  block[F_TYPE] = (unsigned char) type;
  if (e->linkname)
    memcpy (block + F_LINKNAME, e->linkname, strnlen (e->linkname, 100));
  memcpy (block + F_MAGIC, "ustar", 6);
  memcpy (block + F_VERSION, "00", 2);
  if (type == TAR_CHAR || type == TAR_BLOCK)
    {
      put_octal ((char *) block + F_DEVMAJOR, 8, e->devmajor);
      put_octal ((char *) block + F_DEVMINOR, 8, e->devminor);
    }
  put_checksum (block);
  write_blocks (fd, block, BLOCK);
}

void
tar_write_header (int fd, const TarEntry *e)
{
  cleanup_free char *pax = NULL;
  size_t pax_len = 0;
  if (strlen (e->name) > 100)
    pax_record (&pax, &pax_len, "path", e->name, strlen (e->name));
  if (e->linkname && strlen (e->linkname) > 100)
    pax_record (&pax, &pax_len, "linkpath", e->linkname, strlen (e->linkname));
  char number[32];
  if (e->size > MAX_OCTAL_12)
    pax_record (&pax, &pax_len, "size", number, (size_t) snprintf (number, sizeof number, "%llu", e->size));
  if (e->uid > MAX_OCTAL_8)
    pax_record (&pax, &pax_len, "uid", number, (size_t) snprintf (number, sizeof number, "%u", (unsigned) e->uid));
  if (e->gid > MAX_OCTAL_8)
    pax_record (&pax, &pax_len, "gid", number, (size_t) snprintf (number, sizeof number, "%u", (unsigned) e->gid));
  if (e->mtime < 0 || (unsigned long long) e->mtime > MAX_OCTAL_12)
    pax_record (&pax, &pax_len, "mtime", number, (size_t) snprintf (number, sizeof number, "%lld", e->mtime));
  if (pax)
    {
      TarEntry header = { .mode = 0644, .mtime = e->mtime >= 0 ? e->mtime : 0 };
      write_ustar (fd, "PaxHeader", &header, TAR_PAX, pax_len);
      write_blocks (fd, pax, pax_len);
    }
  write_ustar (fd, e->name, e, e->type, e->type == TAR_REGULAR ? e->size : 0);
}

void
tar_write_data (int fd, int src, unsigned long long size, const char *what)
{
  static char buf[65536];
  unsigned long long done = 0;
  /* A file that shrank while it was read is padded with zeros, one that grew is cut: the header said `size`. */
  while (done < size)
    {
      size_t want = size - done < sizeof buf ? (size_t) (size - done) : sizeof buf;
      ssize_t n = src < 0 ? 0 : TEMP_FAILURE_RETRY (read (src, buf, want));
      if (n < 0)
        die_with_error ("read %s", what);
      if (n == 0)
        {
          memset (buf, 0, want);
          n = (ssize_t) want;
          src = -1;
        }
      if (write_all (fd, buf, (size_t) n) < 0)
        die_with_error ("write the archive");
      done += (unsigned long long) n;
    }
  static const char zeros[BLOCK];
  if (size % BLOCK && write_all (fd, zeros, BLOCK - size % BLOCK) < 0)
    die_with_error ("write the archive");
}

void
tar_write_end (int fd)
{
  static const char zeros[2 * BLOCK];
  if (write_all (fd, zeros, sizeof zeros) < 0)
    die_with_error ("write the archive");
}

/* Reading, through one buffer: a layer of thousands of small files would otherwise cost a read(2) per header
   and per file. What the buffer holds past the end-of-archive marker is never looked at. */

#define INPUT_SIZE (1u << 20)
static struct
{
  int fd;
  unsigned char *buf;
  size_t pos, len;
} input = { .fd = -1 };

static TarSource source;

void
tar_set_source (TarSource to)
{
  source = to;
}

/* At least `want` bytes (≤ INPUT_SIZE) of fd's unread input contiguous at input.buf + input.pos, reading
   more as needed; returns how many are there. At the end of the input: 0 if nothing is left and eof_ok,
   else an error naming `what`. */
static size_t
input_fill (int fd, size_t want, bool eof_ok, const char *what)
{
  if (input.fd != fd)
    {
      input.fd = fd;
      input.pos = input.len = 0;
      if (input.buf == NULL)
        input.buf = xcalloc (INPUT_SIZE, 1);
    }
  if (input.len - input.pos >= want)
    return input.len - input.pos;
  memmove (input.buf, input.buf + input.pos, input.len - input.pos);
  input.len -= input.pos;
  input.pos = 0;
  while (input.len < want)
    {
      size_t room = INPUT_SIZE - input.len;
      ssize_t n = source ? source (fd, input.buf + input.len, room) : TEMP_FAILURE_RETRY (read (fd, input.buf + input.len, room));
      if (n < 0)
        die_with_error ("read the archive");
      if (n == 0)
        {
          if (input.len == 0 && eof_ok)
            return 0;
          die ("the tar archive is truncated (it ends in the middle of %s)", what);
        }
      input.len += (size_t) n;
    }
  return input.len;
}

/* false at a clean end of input before the first byte; a block cut short is an error. */
static bool
read_block (int fd, unsigned char *block, bool eof_ok)
{
  if (input_fill (fd, BLOCK, eof_ok, "an entry") == 0)
    return false;
  memcpy (block, input.buf + input.pos, BLOCK);
  input.pos += BLOCK;
  return true;
}

/* Octal (NUL- or space-terminated, maybe space-padded), or GNU base-256 when the first byte has its top bit. */
static unsigned long long
get_number (const unsigned char *field, size_t width, const char *what)
{
  if (field[0] & 0x80)
    {
      unsigned long long value = field[0] & 0x3f;
      for (size_t i = 1; i < width; i++)
        {
          if (value >> 56)
            die ("tar header: %s is too large", what);
          value = (value << 8) | field[i];
        }
      return value;
    }
  unsigned long long value = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ')
    i++;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; i++)
    value = value * 8 + (unsigned long long) (field[i] - '0');
  if (i < width && field[i] != '\0' && field[i] != ' ')
    die ("tar header: %s is not a number", what);
  return value;
}

/* Whether the header's checksum field is right; one that is no number is not (text is not a tar). */
static bool
checksum_ok (const unsigned char *block)
{
  const unsigned char *field = block + F_CHKSUM;
  size_t i = 0;
  while (i < 8 && field[i] == ' ')
    i++;
  unsigned long long want = 0;
  size_t digits = 0;
  for (; i < 8 && field[i] >= '0' && field[i] <= '7'; i++, digits++)
    want = want * 8 + (unsigned long long) (field[i] - '0');
  if (digits == 0 || (i < 8 && field[i] != '\0' && field[i] != ' '))
    return false;
  unsigned long long sum = 0;
  for (int b = 0; b < BLOCK; b++)
    sum += (b >= F_CHKSUM && b < F_CHKSUM + 8) ? ' ' : block[b];
  return sum == want;
}

static char *
read_payload (int fd, unsigned long long size, const char *what)
{
  if (size > (1 << 20))
    die ("tar: a %s of %llu bytes is more than devbox reads", what, size);
  char *data = xcalloc ((size_t) size + BLOCK + 1, 1);
  for (unsigned long long got = 0; got < size; got += BLOCK)
    read_block (fd, (unsigned char *) data + got, false);
  data[size] = '\0';
  return data;
}

/* Which numbers of the next entry a PAX header gave. */
typedef struct
{
  bool size, uid, gid, mtime;
} PaxGiven;

#define XATTR_PREFIX "SCHILY.xattr."

/* Applies the PAX records devbox uses to the next entry; the others (atime, …) are read past. */
static void
apply_pax (TarEntry *next, const char *data, size_t len, PaxGiven *given)
{
  size_t pos = 0;
  while (pos < len)
    {
      char *end = NULL;
      unsigned long record = strtoul (data + pos, &end, 10);
      if (end == data + pos || *end != ' ' || record < 5 || record > len - pos || data[pos + record - 1] != '\n')
        die ("tar: a malformed PAX header record");
      const char *key = end + 1;
      const char *eq = memchr (key, '=', (size_t) (data + pos + record - key));
      if (eq == NULL)
        die ("tar: a PAX header record without '='");
      size_t key_len = (size_t) (eq - key);
      const char *value = eq + 1;
      size_t value_len = (size_t) (data + pos + record - 1 - value);
      cleanup_free char *text = xcalloc (value_len + 1, 1);
      memcpy (text, value, value_len);
      if (key_len == 4 && memcmp (key, "path", 4) == 0)
        {
          free (next->name);
          next->name = xstrdup (text);
        }
      else if (key_len == 8 && memcmp (key, "linkpath", 8) == 0)
        {
          free (next->linkname);
          next->linkname = xstrdup (text);
        }
      else if (key_len == 4 && memcmp (key, "size", 4) == 0)
        {
          next->size = strtoull (text, NULL, 10);
          given->size = true;
        }
      else if (key_len == 3 && memcmp (key, "uid", 3) == 0)
        {
          next->uid = (uid_t) strtoul (text, NULL, 10);
          given->uid = true;
        }
      else if (key_len == 3 && memcmp (key, "gid", 3) == 0)
        {
          next->gid = (gid_t) strtoul (text, NULL, 10);
          given->gid = true;
        }
      else if (key_len == 5 && memcmp (key, "mtime", 5) == 0)
        {
          next->mtime = strtoll (text, NULL, 10); /* seconds; a fraction after '.' is dropped */
          given->mtime = true;
        }
      else if (key_len > strlen (XATTR_PREFIX) && memcmp (key, XATTR_PREFIX, strlen (XATTR_PREFIX)) == 0)
        {
          next->xattrs = xrealloc (next->xattrs, next->n_xattrs + 1, sizeof *next->xattrs);
          TarXattr *x = &next->xattrs[next->n_xattrs++];
          size_t name_len = key_len - strlen (XATTR_PREFIX);
          x->name = xcalloc (name_len + 1, 1);
          memcpy (x->name, key + strlen (XATTR_PREFIX), name_len);
          x->value = (unsigned char *) text;
          text = NULL;
          x->len = value_len;
        }
      else if (key_len > 11 && memcmp (key, "GNU.sparse.", 11) == 0)
        next->gnu_sparse = true;
      pos += record;
    }
}

bool
tar_read_header (int fd, TarEntry *e)
{
  tar_entry_clear (e);
  /* Values from PAX or GNU long-name entries, for the entry that follows them. */
  TarEntry pending = { 0 };
  PaxGiven given = { 0 };
  for (;;)
    {
      unsigned char block[BLOCK];
      if (!read_block (fd, block, true))
        goto end;
      static const unsigned char zeros[BLOCK];
      if (memcmp (block, zeros, BLOCK) == 0)
        goto end; /* the end-of-archive marker; what follows it is not read */
      if (!checksum_ok (block))
        die ("not a tar archive (invalid tar header)");
      char type = (char) block[F_TYPE];
      unsigned long long size = get_number (block + F_SIZE, 12, "size");
      if (type == TAR_PAX || type == TAR_GLOBAL_PAX || type == TAR_GNU_LONGNAME || type == TAR_GNU_LONGLINK)
        {
          cleanup_free char *data = read_payload (fd, size, "extended header");
          if (type == TAR_PAX)
            apply_pax (&pending, data, (size_t) size, &given);
          else if (type == TAR_GNU_LONGNAME)
            {
              free (pending.name);
              pending.name = xstrdup (data);
            }
          else if (type == TAR_GNU_LONGLINK)
            {
              free (pending.linkname);
              pending.linkname = xstrdup (data);
            }
          continue;
        }
      if (pending.name)
        {
          e->name = pending.name;
          pending.name = NULL;
        }
      else
        {
          char name[256 + 1] = { 0 };
          size_t prefix_len = strnlen ((const char *) block + F_PREFIX, 155);
          /* ustar's prefix field; an old-GNU header has other data there, but no "ustar\0" magic. */
          if (memcmp (block + F_MAGIC, "ustar", 6) == 0 && prefix_len)
            {
              memcpy (name, block + F_PREFIX, prefix_len);
              name[prefix_len] = '/';
              memcpy (name + prefix_len + 1, block + F_NAME, strnlen ((const char *) block + F_NAME, 100));
            }
          else
            memcpy (name, block + F_NAME, strnlen ((const char *) block + F_NAME, 100));
          e->name = xstrdup (name);
        }
      if (pending.linkname)
        {
          e->linkname = pending.linkname;
          pending.linkname = NULL;
        }
      else
        {
          char link[100 + 1] = { 0 };
          memcpy (link, block + F_LINKNAME, strnlen ((const char *) block + F_LINKNAME, 100));
          e->linkname = xstrdup (link);
        }
      e->type = type == '\0' || type == TAR_CONTIGUOUS ? TAR_REGULAR : type;
      e->mode = (mode_t) (get_number (block + F_MODE, 8, "mode") & 07777);
      e->uid = given.uid ? pending.uid : (uid_t) get_number (block + F_UID, 8, "uid");
      e->gid = given.gid ? pending.gid : (gid_t) get_number (block + F_GID, 8, "gid");
      e->size = given.size ? pending.size : size;
      e->mtime = given.mtime ? pending.mtime : (long long) get_number (block + F_MTIME, 12, "mtime");
      e->devmajor = (unsigned) get_number (block + F_DEVMAJOR, 8, "device major");
      e->devminor = (unsigned) get_number (block + F_DEVMINOR, 8, "device minor");
      /* Regular files carry data, and so may types devbox does not know (read past); links, dirs and nodes do not. */
      bool no_data = e->type == TAR_DIRECTORY || e->type == TAR_SYMLINK || e->type == TAR_HARDLINK || e->type == TAR_CHAR
                     || e->type == TAR_BLOCK || e->type == TAR_FIFO;
      e->data_size = no_data ? 0 : e->size;
      e->xattrs = pending.xattrs;
      e->n_xattrs = pending.n_xattrs;
      e->gnu_sparse = pending.gnu_sparse;
      pending.xattrs = NULL;
      pending.n_xattrs = 0;
      tar_entry_clear (&pending);
      return true;
    }
end:
  tar_entry_clear (&pending);
  return false;
}

static unsigned long long
padded_size (unsigned long long size)
{
  return (size + BLOCK - 1) / BLOCK * BLOCK;
}

void
tar_read_data (int fd, int dest, unsigned long long size, const char *what)
{
  unsigned long long padded = padded_size (size);
  for (unsigned long long done = 0; done < padded;)
    {
      size_t n = input_fill (fd, 1, false, what);
      if (n > padded - done)
        n = (size_t) (padded - done);
      size_t data = done >= size ? 0 : (size - done < (unsigned long long) n ? (size_t) (size - done) : n);
      if (dest >= 0 && data && write_all (dest, input.buf + input.pos, data) < 0)
        die_with_error ("write %s", what);
      input.pos += n;
      done += n;
    }
}

bool
tar_read_trailer (int fd)
{
  bool zeros = true;
  while (input_fill (fd, 1, true, "the trailer") > 0)
    {
      for (size_t i = input.pos; i < input.len && zeros; i++)
        zeros = input.buf[i] == 0;
      input.pos = input.len;
    }
  return zeros;
}

#define PAGE_BLOCK 4096
static const unsigned char zero_page[PAGE_BLOCK];

static int
pwrite_all (int fd, const unsigned char *data, size_t len, off_t offset)
{
  while (len > 0)
    {
      ssize_t n = TEMP_FAILURE_RETRY (pwrite (fd, data, len, offset));
      if (n < 0)
        return -1;
      data += n;
      len -= (size_t) n;
      offset += n;
    }
  return 0;
}

int
tar_read_file (int fd, int dest, unsigned long long size, const char *what)
{
  int error = 0;
  unsigned long long end = 0; /* of the last data written: a file that ends in a hole needs ftruncate */
  /* off stays a multiple of PAGE_BLOCK until the last piece, so every block looked at is aligned in the file. */
  for (unsigned long long off = 0; off < size;)
    {
      size_t n = input_fill (fd, size - off < PAGE_BLOCK ? (size_t) (size - off) : PAGE_BLOCK, false, what);
      if (n > size - off)
        n = (size_t) (size - off);
      else if (off + n < size)
        n -= n % PAGE_BLOCK;
      const unsigned char *data = input.buf + input.pos;
      size_t run = 0; /* start of the bytes not written yet, none of them in a hole */
      for (size_t i = 0; i < n && !error; i += PAGE_BLOCK)
        {
          bool hole = n - i >= PAGE_BLOCK && memcmp (data + i, zero_page, PAGE_BLOCK) == 0;
          if (hole && i > run && pwrite_all (dest, data + run, i - run, (off_t) (off + run)) < 0)
            error = errno;
          if (hole)
            run = i + PAGE_BLOCK;
        }
      if (!error && run < n)
        {
          if (pwrite_all (dest, data + run, n - run, (off_t) (off + run)) < 0)
            error = errno;
          end = off + n;
        }
      input.pos += n;
      off += n;
    }
  if (!error && end < size && ftruncate (dest, (off_t) size) < 0)
    error = errno;
  for (size_t pad = (size_t) (padded_size (size) - size); pad > 0;)
    {
      size_t n = input_fill (fd, 1, false, what);
      n = n < pad ? n : pad;
      input.pos += n;
      pad -= n;
    }
  errno = error;
  return error ? -1 : 0;
}

char *
tar_clean_name (const char *name)
{
  size_t len = 0;
  char *out = xcalloc (strlen (name) + 1, 1);
  for (const char *p = name; *p;)
    {
      const char *end = strchrnul (p, '/');
      size_t part = (size_t) (end - p);
      if (part == 2 && p[0] == '.' && p[1] == '.')
        {
          if (len == 0)
            {
              free (out);
              return NULL;
            }
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
        }
      else if (part > 0 && !(part == 1 && p[0] == '.'))
        {
          if (len)
            out[len++] = '/';
          memcpy (out + len, p, part);
          len += part;
        }
      out[len] = '\0';
      p = *end ? end + 1 : end;
    }
  return out;
}
