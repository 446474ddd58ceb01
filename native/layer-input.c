/*
 * The layer extractor's input: its stdin, inflated here when devbox hands it a gzip blob (--gunzip), and
 * hashed as the tar reader takes it, so that the layer's diffID (the SHA-256 of the whole uncompressed tar,
 * its padding after the end-of-archive marker included) is known at the end. devbox keeps the download and
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
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Compressed bytes read at a time: the tar reader asks for up to 1 MiB of inflated bytes. */
#define COMPRESSED_SIZE (256 << 10)

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

static void
hash (const void *data, size_t len)
{
  sha256_update (&in.sha256, len, data);
  in.size += len;
}

/* One read of compressed input, when the last one is used up; false once the input has ended. */
static bool
refill (int fd)
{
  if (in.z.avail_in > 0)
    return true;
  if (in.input_ended)
    return false;
  ssize_t n = TEMP_FAILURE_RETRY (read (fd, in.compressed, COMPRESSED_SIZE));
  if (n < 0)
    die_with_error ("read the layer");
  in.z.next_in = in.compressed;
  in.z.avail_in = (uInt) n;
  in.input_ended = n == 0;
  return n > 0;
}

/* The tar reader's source (tar_set_source): as read(2), of the uncompressed tar. */
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
  for (;;)
    {
      bool more = refill (fd);
      if (in.member_ended)
        {
          if (!more)
            return 0; /* the end of the last member */
          /* Another member (gzip's concatenation, which Go's and Node.js's readers take too); anything else is
             refused by inflate as a wrong header. */
          if (inflateReset (&in.z) != Z_OK)
            die ("corrupt gzip data (%s)", in.z.msg ? in.z.msg : "reset failed");
          in.member_ended = false;
        }
      else if (!more)
        die ("truncated gzip data (the input ends inside its compressed stream)");
      in.z.next_out = buf;
      in.z.avail_out = (uInt) (len < UINT32_MAX ? len : UINT32_MAX);
      uInt room = in.z.avail_out;
      int status = inflate (&in.z, Z_NO_FLUSH);
      if (status == Z_STREAM_END)
        in.member_ended = true;
      else if (status != Z_OK && status != Z_BUF_ERROR) /* Z_BUF_ERROR: no progress until more input */
        die ("corrupt gzip data (%s)", in.z.msg ? in.z.msg : zError (status));
      size_t made = room - in.z.avail_out;
      if (made > 0)
        {
          hash (buf, made);
          return (ssize_t) made;
        }
    }
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
    }
  tar_set_source (read_layer);
}

void
layer_input_digest (char hex[65], unsigned long long *size)
{
  unsigned char digest[SHA256_DIGEST_SIZE];
  sha256_digest (&in.sha256, sizeof digest, digest);
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof digest; i++)
    {
      hex[2 * i] = digits[digest[i] >> 4];
      hex[2 * i + 1] = digits[digest[i] & 15];
    }
  hex[64] = '\0';
  *size = in.size;
}
