/*
 * The layer extractor's input: its stdin, inflated here when devbox hands it a gzip blob (--gunzip), on a
 * thread of its own, and hashed as it is inflated (a plain tar: as the tar reader takes it), so that the
 * layer's diffID (the SHA-256 of the whole uncompressed tar, its padding after the end-of-archive marker
 * included) is known at the end. devbox keeps the download and
 * the blob's digest; moving the inflating and the second digest here takes ~170 MB of tar (a Debian base
 * image) off devbox's process and its socket to the helper, which then carries the ~63 MB blob instead.
 *
 * zlib inflates (the library every gzip reader on the system uses); Nettle (GnuTLS's) hashes, as fast as
 * OpenSSL's libcrypto (both use the CPU's SHA extensions). Both are linked statically, so that the helper's
 * other uses (every `devbox run` and join) do not pay for loading them (native/README.md).
 */
#include "layer-input.h"
#include "tar.h"
#include "util.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Compressed bytes read at a time. */
#define COMPRESSED_SIZE (256 << 10)
/* The inflating thread's output, handed to the tar reader a slot at a time: room for it to run ahead while the
   tar reader creates files (the tar reader asks for up to 1 MiB at a time). */
#define SLOT_SIZE (1 << 20)
#define SLOTS 4

static struct
{
  bool gunzip;
  z_stream z;
  bool member_ended; /* between two gzip members: the input may end here, or have another one */
  bool input_ended;
  unsigned char *compressed;
  struct sha256_ctx sha256;
  unsigned long long size;
} in;

/* From the inflating thread to the tar reader. Slot `taken % SLOTS` is the reader's until `taken` moves on;
   the others are the inflater's while `filled - taken < SLOTS`. */
static struct
{
  pthread_mutex_t lock;
  pthread_cond_t changed;
  unsigned char *data[SLOTS];
  size_t len[SLOTS];
  unsigned long filled, taken;
  size_t offset;   /* the reader's position in slot `taken % SLOTS` */
  bool ended;      /* nothing more will be filled: the input ended, or `error` */
  char error[200]; /* why the input could not be inflated to its end, if it could not */
} ring;

static void
hash (const void *data, size_t len)
{
  sha256_update (&in.sha256, len, data);
  in.size += len;
}

/* One read of compressed input, when the last one is used up; false once the input has ended, -1 on error. */
static int
refill (int fd)
{
  if (in.z.avail_in > 0)
    return 1;
  if (in.input_ended)
    return 0;
  ssize_t n = TEMP_FAILURE_RETRY (read (fd, in.compressed, COMPRESSED_SIZE));
  if (n < 0)
    {
      snprintf (ring.error, sizeof ring.error, "read the layer: %s", strerror (errno));
      return -1;
    }
  in.z.next_in = in.compressed;
  in.z.avail_in = (uInt) n;
  in.input_ended = n == 0;
  return n > 0;
}

/* Up to `len` inflated bytes into `buf`, hashed: as read(2), but -1 with `ring.error` set on bad input. */
static ssize_t
inflate_some (int fd, unsigned char *buf, size_t len)
{
  for (;;)
    {
      int more = refill (fd);
      if (more < 0)
        return -1;
      if (in.member_ended)
        {
          if (!more)
            return 0; /* the end of the last member */
          /* Another member (gzip's concatenation, which Go's and Node.js's readers take too); anything else is
             refused by inflate as a wrong header. */
          if (inflateReset (&in.z) != Z_OK)
            {
              snprintf (ring.error, sizeof ring.error, "corrupt gzip data (%s)", in.z.msg ? in.z.msg : "reset failed");
              return -1;
            }
          in.member_ended = false;
        }
      else if (!more)
        {
          snprintf (ring.error, sizeof ring.error, "truncated gzip data (the input ends inside its compressed stream)");
          return -1;
        }
      in.z.next_out = buf;
      in.z.avail_out = (uInt) (len < UINT32_MAX ? len : UINT32_MAX);
      uInt room = in.z.avail_out;
      int status = inflate (&in.z, Z_NO_FLUSH);
      if (status == Z_STREAM_END)
        in.member_ended = true;
      else if (status != Z_OK && status != Z_BUF_ERROR) /* Z_BUF_ERROR: no progress until more input */
        {
          snprintf (ring.error, sizeof ring.error, "corrupt gzip data (%s)", in.z.msg ? in.z.msg : zError (status));
          return -1;
        }
      size_t made = room - in.z.avail_out;
      if (made > 0)
        {
          hash (buf, made);
          return (ssize_t) made;
        }
    }
}

/* The inflating thread: inflating (~0.5 s of CPU for a Debian base image) runs beside the file creation of the
   tar reader (~0.45 s), on the machine's other core, instead of between its files. */
static void *
inflater (void *arg)
{
  int fd = *(int *) arg;
  for (;;)
    {
      pthread_mutex_lock (&ring.lock);
      while (ring.filled - ring.taken == SLOTS)
        pthread_cond_wait (&ring.changed, &ring.lock);
      unsigned char *slot = ring.data[ring.filled % SLOTS];
      pthread_mutex_unlock (&ring.lock);
      size_t len = 0;
      ssize_t n = 1;
      while (len < SLOT_SIZE && (n = inflate_some (fd, slot + len, SLOT_SIZE - len)) > 0)
        len += (size_t) n;
      pthread_mutex_lock (&ring.lock);
      if (len > 0)
        ring.len[ring.filled++ % SLOTS] = len;
      ring.ended = n <= 0;
      pthread_cond_broadcast (&ring.changed);
      pthread_mutex_unlock (&ring.lock);
      if (n <= 0)
        return NULL;
    }
}

/* The tar reader's source (tar_set_source): as read(2), of the uncompressed tar. Bad gzip input ends the
   extractor where the tar reader comes to it, after everything inflated before it. */
static ssize_t
read_layer (int fd, void *buf, size_t len)
{
  if (!in.gunzip)
    {
      ssize_t n = TEMP_FAILURE_RETRY (read (fd, buf, len));
      if (n > 0)
        hash (buf, (size_t) n);
      return n;
    }
  pthread_mutex_lock (&ring.lock);
  while (ring.taken == ring.filled && !ring.ended)
    pthread_cond_wait (&ring.changed, &ring.lock);
  bool empty = ring.taken == ring.filled;
  pthread_mutex_unlock (&ring.lock);
  if (empty)
    {
      if (ring.error[0])
        die ("%s", ring.error);
      return 0;
    }
  /* The slot is the reader's until `taken` moves on. */
  size_t slot = ring.taken % SLOTS;
  size_t n = ring.len[slot] - ring.offset < len ? ring.len[slot] - ring.offset : len;
  memcpy (buf, ring.data[slot] + ring.offset, n);
  ring.offset += n;
  if (ring.offset == ring.len[slot])
    {
      pthread_mutex_lock (&ring.lock);
      ring.taken++;
      ring.offset = 0;
      pthread_cond_broadcast (&ring.changed);
      pthread_mutex_unlock (&ring.lock);
    }
  return (ssize_t) n;
}

void
layer_input_open (bool gunzip)
{
  sha256_init (&in.sha256);
  in.gunzip = gunzip;
  if (gunzip)
    {
      in.compressed = xcalloc (COMPRESSED_SIZE, 1);
      if (inflateInit2 (&in.z, 16 + MAX_WBITS) != Z_OK) /* 16: a gzip wrapper, not zlib's */
        die ("could not set up zlib: %s", in.z.msg ? in.z.msg : "out of memory");
      for (size_t i = 0; i < SLOTS; i++)
        ring.data[i] = xcalloc (SLOT_SIZE, 1);
      pthread_mutex_init (&ring.lock, NULL);
      pthread_cond_init (&ring.changed, NULL);
      static int input = STDIN_FILENO;
      pthread_t thread;
      int error = pthread_create (&thread, NULL, inflater, &input);
      if (error != 0)
        {
          errno = error;
          die_with_error ("start the inflating thread");
        }
      pthread_detach (thread);
    }
  tar_set_source (read_layer);
}

void
layer_input_digest (char hex[65], unsigned long long *size)
{
  unsigned char digest[SHA256_DIGEST_SIZE];
  sha256_digest (&in.sha256, sizeof digest, digest);
  hex_encode (digest, sizeof digest, hex);
  *size = in.size;
}
