/*
 * --seccomp PROGRAM: the system call filter of the sandbox's processes. devbox turns a profile (Docker's JSON
 * format, its default or the user's) into this line program; the helper compiles it with libseccomp, which
 * knows every architecture's system call numbers, before any namespace exists (a bad program is refused
 * early), and the command loads the compiled BPF as its very last step before exec, after no_new_privs
 * (runc's order). A line is one of:
 *
 *   default ACTION                      what every other system call gets
 *   arch NAME                           an ABI the filter accepts (libseccomp's names: x86_64, aarch64, …);
 *                                       any other ABI kills the process (no bypass through int 0x80 or x32)
 *   ACTION NAME[,NAME…] [COND…]         a rule; its conditions must all hold (INDEX:OP:VALUE[:VALUE2], OP one
 *                                       of ne lt le eq ge gt masked_eq)
 *
 * ACTION is allow, errno:N, kill_thread, kill_process, trap, log or trace:N. A name libseccomp does not
 * know is skipped, as Docker and runc do (profiles list the system calls of every architecture).
 *
 * --seccomp-cache DIR keeps the compiled filter between runs: libseccomp's compile of a default profile
 * costs more than the rest of the helper's start. Each program has its file there, DIR/SHA256.bpf, named here
 * (Nettle's hash: hashing the program in JavaScript cost devbox's start a few milliseconds). The file holds
 * the program it was compiled from, the libseccomp version and the native ABI; it is used only when all three
 * are this run's, so a stale or foreign file is compiled over, never loaded. It is replaced by a rename, so
 * concurrent runs see a whole one.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <nettle/sha2.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ctx freed on every exit path of compile_seccomp, die() included. */
static void
cleanup_seccomp_ctx (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

static uint32_t
parse_action (const char *text, unsigned line)
{
  static const struct
  {
    const char *name;
    uint32_t action;
  } plain[] = {
    { "allow", SCMP_ACT_ALLOW }, { "kill_thread", SCMP_ACT_KILL_THREAD }, { "kill_process", SCMP_ACT_KILL_PROCESS },
    { "trap", SCMP_ACT_TRAP },   { "log", SCMP_ACT_LOG },
  };
  for (size_t i = 0; i < N_ELEMENTS (plain); i++)
    if (strcmp (text, plain[i].name) == 0)
      return plain[i].action;
  char what[64];
  snprintf (what, sizeof what, "--seccomp line %u: %.5s", line, text);
  if (strncmp (text, "errno:", 6) == 0)
    return SCMP_ACT_ERRNO ((uint16_t) parse_number (text + 6, 4095, what));
  if (strncmp (text, "trace:", 6) == 0)
    return SCMP_ACT_TRACE ((uint16_t) parse_number (text + 6, 65535, what));
  die ("--seccomp line %u: unknown action \"%s\"", line, text);
}

static uint64_t
parse_value (const char *text, unsigned line)
{
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull (text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
    die ("--seccomp line %u: not an unsigned 64-bit value: \"%s\"", line, text);
  return value;
}

static struct scmp_arg_cmp
parse_condition (char *text, unsigned line)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT }, { "le", SCMP_CMP_LE },        { "eq", SCMP_CMP_EQ },
    { "ge", SCMP_CMP_GE }, { "gt", SCMP_CMP_GT }, { "masked_eq", SCMP_CMP_MASKED_EQ },
  };
  char *save = NULL;
  char *index = strtok_r (text, ":", &save), *op = strtok_r (NULL, ":", &save);
  char *value = strtok_r (NULL, ":", &save), *value2 = strtok_r (NULL, ":", &save);
  if (!index || !op || !value || strtok_r (NULL, ":", &save))
    die ("--seccomp line %u: a condition is INDEX:OP:VALUE[:VALUE2]", line);
  char what[64];
  snprintf (what, sizeof what, "--seccomp line %u: argument index", line);
  struct scmp_arg_cmp cmp = {
    .arg = (unsigned) parse_number (index, 5, what),
    .datum_a = parse_value (value, line),
    .datum_b = value2 ? parse_value (value2, line) : 0,
  };
  for (size_t i = 0; i < N_ELEMENTS (ops); i++)
    if (strcmp (op, ops[i].name) == 0)
      {
        cmp.op = ops[i].op;
        return cmp;
      }
  die ("--seccomp line %u: unknown comparison \"%s\"", line, op);
}

static void
add_rule (scmp_filter_ctx ctx, uint32_t default_action, char *line_text, unsigned line)
{
  char *save = NULL;
  uint32_t action = parse_action (strtok_r (line_text, " ", &save), line);
  char *names = strtok_r (NULL, " ", &save);
  if (names == NULL)
    die ("--seccomp line %u: a rule needs system call names", line);
  struct scmp_arg_cmp conditions[6];
  unsigned n = 0;
  for (char *cond = strtok_r (NULL, " ", &save); cond; cond = strtok_r (NULL, " ", &save))
    {
      if (n == N_ELEMENTS (conditions))
        die ("--seccomp line %u: more than %zu conditions", line, N_ELEMENTS (conditions));
      conditions[n++] = parse_condition (cond, line);
    }
  /* libseccomp refuses a rule that says what the default says; it changes nothing anyway. */
  if (action == default_action)
    return;
  char *name_save = NULL;
  for (char *name = strtok_r (names, ",", &name_save); name; name = strtok_r (NULL, ",", &name_save))
    {
      int nr = seccomp_syscall_resolve_name (name);
      if (nr == __NR_SCMP_ERROR)
        continue;
      int rc = seccomp_rule_add_array (ctx, action, nr, n, conditions);
      if (rc < 0)
        {
          errno = -rc;
          die_with_error ("--seccomp line %u: rule for %s (conflicting with an earlier rule?)", line, name);
        }
    }
}

/* The BPF program, exported into memory: libseccomp 2.5 writes it to an fd only. */
static struct sock_fprog
export_filter (scmp_filter_ctx ctx)
{
  cleanup_fd int fd = memfd_create ("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0)
    die_with_error ("memfd_create");
  int rc = seccomp_export_bpf (ctx, fd);
  if (rc < 0)
    {
      errno = -rc;
      die_with_error ("--seccomp: export the filter");
    }
  off_t size = lseek (fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t) sizeof (struct sock_filter) != 0 || size / (off_t) sizeof (struct sock_filter) > BPF_MAXINSNS)
    die ("--seccomp: the filter compiles to %lld bytes, not a loadable program", (long long) size);
  struct sock_filter *insns = xcalloc ((size_t) size / sizeof (struct sock_filter), sizeof (struct sock_filter));
  if (pread (fd, insns, (size_t) size, 0) != size)
    die_with_error ("--seccomp: read the filter back");
  return (struct sock_fprog){ .len = (unsigned short) (size / (off_t) sizeof (struct sock_filter)), .filter = insns };
}

/* The header of a --seccomp-cache file; the program's bytes and then the BPF instructions follow it. */
typedef struct
{
  char magic[8];
  uint32_t libseccomp; /* major << 16 | minor << 8 | micro */
  uint32_t arch;       /* seccomp_arch_native () */
  uint32_t program_len;
  uint32_t n_insns;
} CacheHeader;

static const char CACHE_MAGIC[8] = "dbxscmp1";

static CacheHeader
cache_header (const char *program, unsigned n_insns)
{
  const struct scmp_version *v = seccomp_version ();
  CacheHeader header = {
    .libseccomp = v->major << 16 | v->minor << 8 | v->micro,
    .arch = seccomp_arch_native (),
    .program_len = (uint32_t) strlen (program),
    .n_insns = n_insns,
  };
  memcpy (header.magic, CACHE_MAGIC, sizeof header.magic);
  return header;
}

/* The cached filter of `program`, or false when the file is missing, foreign or stale. */
static bool
read_cached_filter (const char *path, const char *program, struct sock_fprog *out)
{
  cleanup_fd int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  CacheHeader header;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || read (fd, &header, sizeof header) != (ssize_t) sizeof header)
    return false;
  CacheHeader expected = cache_header (program, header.n_insns);
  if (memcmp (&header, &expected, sizeof header) != 0 || header.n_insns == 0 || header.n_insns > BPF_MAXINSNS
      || st.st_size != (off_t) (sizeof header + header.program_len + header.n_insns * sizeof (struct sock_filter)))
    return false;
  cleanup_free char *cached_program = xcalloc (header.program_len + 1, 1);
  struct sock_filter *insns = xcalloc (header.n_insns, sizeof (struct sock_filter));
  size_t insns_size = header.n_insns * sizeof (struct sock_filter);
  if (read (fd, cached_program, header.program_len) != (ssize_t) header.program_len || strcmp (cached_program, program) != 0
      || read (fd, insns, insns_size) != (ssize_t) insns_size)
    {
      free (insns);
      return false;
    }
  *out = (struct sock_fprog){ .len = (unsigned short) header.n_insns, .filter = insns };
  return true;
}

/* Best effort: a run whose cache cannot be written (a read-only store, a full disk) compiles the next time too. */
static void
write_cached_filter (const char *path, const char *program, const struct sock_fprog *filter)
{
  cleanup_free char *temp = xasprintf ("%s.XXXXXX", path);
  size_t suffix = strlen (temp) - 6;
  int fd = mkostemp (temp, O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    {
      cleanup_free char *dir = xstrdup (path);
      memcpy (temp + suffix, "XXXXXX", 6); /* a failed mkostemp leaves the template changed */
      if (mkdir (dirname (dir), 0700) == 0 || errno == EEXIST)
        fd = mkostemp (temp, O_CLOEXEC);
    }
  if (fd < 0)
    return;
  CacheHeader header = cache_header (program, filter->len);
  bool written = write_all (fd, &header, sizeof header) == 0 && write_all (fd, program, header.program_len) == 0
                 && write_all (fd, filter->filter, filter->len * sizeof (struct sock_filter)) == 0;
  close (fd);
  if (!written || rename (temp, path) < 0)
    unlink (temp);
}

/* DIR/SHA256.bpf: the cache file of `program`. */
static char *
cache_path (const char *dir, const char *program)
{
  struct sha256_ctx ctx;
  uint8_t digest[SHA256_DIGEST_SIZE];
  char hex[2 * SHA256_DIGEST_SIZE + 1];
  sha256_init (&ctx);
  sha256_update (&ctx, strlen (program), (const uint8_t *) program);
  sha256_digest (&ctx, sizeof digest, digest);
  hex_encode (digest, sizeof digest, hex);
  return xasprintf ("%s/%s.bpf", dir, hex);
}

void
compile_seccomp (const char *program, const char *cache_dir, struct sock_fprog *out)
{
  cleanup_free char *cache = cache_dir ? cache_path (cache_dir, program) : NULL;
  if (cache && read_cached_filter (cache, program, out))
    return;
  cleanup_free char *text = xstrdup (program);
  char *save = NULL;
  char *first = strtok_r (text, "\n", &save);
  char *word_save = NULL;
  const char *keyword = first ? strtok_r (first, " ", &word_save) : NULL;
  if (keyword == NULL || strcmp (keyword, "default") != 0)
    die ("--seccomp: the program must start with \"default ACTION\"");
  const char *default_text = strtok_r (NULL, " ", &word_save);
  uint32_t default_action = parse_action (default_text ? default_text : "", 1);
  __attribute__ ((cleanup (cleanup_seccomp_ctx))) scmp_filter_ctx ctx = seccomp_init (default_action);
  if (ctx == NULL)
    die ("--seccomp: libseccomp could not create a filter");
  /* no_new_privs is the helper's own step; a foreign ABI kills the whole process, not one thread. */
  if (seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 || seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
    die ("--seccomp: libseccomp refused a filter attribute");
  /* A binary tree of system call numbers: a few comparisons per call instead of one per rule. */
  (void) seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  bool native_listed = false, any_arch = false;
  unsigned line = 1;
  for (char *l = strtok_r (NULL, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      line++;
      if (strncmp (l, "arch ", 5) == 0)
        {
          uint32_t arch = seccomp_arch_resolve_name (l + 5);
          if (arch == 0)
            die ("--seccomp line %u: unknown architecture \"%s\"", line, l + 5);
          any_arch = true;
          if (arch == seccomp_arch_native ())
            native_listed = true;
          else if (seccomp_arch_add (ctx, arch) < 0)
            die ("--seccomp line %u: architecture %s cannot be added", line, l + 5);
          continue;
        }
      add_rule (ctx, default_action, l, line);
    }
  /* seccomp_init put the native ABI in; a program that lists others without it leaves it out. */
  if (any_arch && !native_listed && seccomp_arch_remove (ctx, seccomp_arch_native ()) < 0)
    die ("--seccomp: cannot leave out the native architecture");
  *out = export_filter (ctx);
  if (cache)
    write_cached_filter (cache, program, out);
}

/* As close to exec as possible: whatever runs after this is filtered too. */
void
load_seccomp (const struct sock_fprog *filter)
{
  if (filter->filter == NULL)
    return;
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter, 0, 0) < 0)
    die_with_error ("load the seccomp filter");
}
