/*
 * devbox-launcher: the program the `devbox` command runs first (setup.sh links it onto the PATH).
 *
 * Every command is Node.js's (bin/devbox), with one exception that decides how fast a repo feels: entering a
 * project's live sandbox again (`devbox shell`, `devbox run CMD`). Node.js takes 60–90 ms here only to start;
 * the join itself takes a few. So when devbox (src/project/join-record.ts) entered a sandbox without starting
 * anything, it left a join record: the helper's --join command line it ran, and everything that command was
 * made from — the folder, devbox's arguments, a hash of the whole environment, whether stdin was a terminal,
 * the stat(2) signature of every file it read (the config, devbox.lock, the settings, the sandbox's state,
 * devbox's own files, the paths whose absence decided which config was found) and the start times of the
 * sandbox's processes. The launcher replays the record only when all of it is as recorded, so it runs exactly
 * the command devbox would run; anything else — no record, one difference, a record another user could have
 * written — goes to Node.js, which enters the slow way and records again. When a replayed join fails because
 * the sandbox ended meanwhile (the helper's setup status, 125, and a pid 1 that is gone), Node.js takes over
 * as well and starts it, as devbox itself does.
 *
 * Record file: $XDG_CACHE_HOME/devbox/joins/KEY-ENV (~/.cache without XDG_CACHE_HOME), KEY the FNV-1a 64 of
 * the folder and the arguments, ENV that of the environment; the format is in native/README.md.
 */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define RECORD_MAGIC "devbox-join/1"
#define RECORD_MAX (256 * 1024)
#define SETUP_FAILED 125

static const uint64_t FNV_OFFSET = 0xcbf29ce484222325ULL;
static const uint64_t FNV_PRIME = 0x100000001b3ULL;

static uint64_t
fnv1a (uint64_t hash, const char *bytes, size_t length)
{
  for (size_t i = 0; i < length; i++)
    {
      hash ^= (unsigned char) bytes[i];
      hash *= FNV_PRIME;
    }
  return hash;
}

/* Each string with its terminating NUL. */
static uint64_t
fnv1a_string (uint64_t hash, const char *s)
{
  return fnv1a (hash, s, strlen (s) + 1);
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The environment's entries in byte order, each with its NUL. */
static uint64_t
environment_hash (void)
{
  size_t count = 0;
  while (environ[count])
    count++;
  char **sorted = calloc (count + 1, sizeof *sorted);
  if (!sorted)
    return 0;
  memcpy (sorted, environ, count * sizeof *sorted);
  qsort (sorted, count, sizeof *sorted, compare_strings);
  uint64_t hash = FNV_OFFSET;
  for (size_t i = 0; i < count; i++)
    hash = fnv1a_string (hash, sorted[i]);
  free (sorted);
  return hash;
}

#define DEFERRED_EXTRA_CA "DEVBOX_DEFERRED_EXTRA_CA_CERTS"

/* Node.js runs bin/devbox, found beside this program's folder; execvp finds node on the PATH as its #! line would. */
static void __attribute__ ((noreturn))
run_node (int argc, char **argv)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    {
      fprintf (stderr, "devbox: cannot find the devbox installation: readlink /proc/self/exe: %s\n", strerror (errno));
      exit (SETUP_FAILED);
    }
  self[n] = '\0';
  char *slash = strrchr (self, '/');
  *slash = '\0';
  char script[PATH_MAX + 16];
  snprintf (script, sizeof script, "%s/../bin/devbox", self);
  char **args = calloc ((size_t) argc + 2, sizeof *args);
  if (!args)
    exit (SETUP_FAILED);
  args[0] = (char *) "node";
  args[1] = script;
  for (int i = 1; i < argc; i++)
    args[i + 1] = argv[i];
  /* Node.js reads and parses the whole of NODE_EXTRA_CA_CERTS's file as it starts (~40 ms for a system CA
     bundle, on every command); devbox adds those certificates to its HTTPS client when it first connects
     (bin/devbox puts the variable back for the programs it runs, registry/http.ts adds them). */
  const char *extra_ca = getenv ("NODE_EXTRA_CA_CERTS");
  if (extra_ca && *extra_ca && (setenv (DEFERRED_EXTRA_CA, extra_ca, 1) < 0 || unsetenv ("NODE_EXTRA_CA_CERTS") < 0))
    exit (SETUP_FAILED);
  execvp ("node", args);
  fprintf (stderr, "devbox: cannot run node: %s (install Node.js 20 or later, see README.md)\n", strerror (errno));
  exit (errno == ENOENT ? 127 : 126);
}

/* A record is read only from a file and folder of the user's own that nobody else may write. */
static bool
owned_privately (const struct stat *st)
{
  return st->st_uid == getuid () && (st->st_mode & 022) == 0;
}

static char *
read_record (const char *folder, const char *name, size_t *length)
{
  int dir = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return NULL;
  struct stat st;
  int fd = -1;
  char *data = NULL;
  if (fstat (dir, &st) < 0 || !owned_privately (&st))
    goto out;
  fd = openat (dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || !owned_privately (&st) || st.st_size <= 0 || st.st_size > RECORD_MAX)
    goto out;
  data = malloc ((size_t) st.st_size + 1);
  if (!data)
    goto out;
  size_t done = 0;
  while (done < (size_t) st.st_size)
    {
      ssize_t n = read (fd, data + done, (size_t) st.st_size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          free (data);
          data = NULL;
          goto out;
        }
      done += (size_t) n;
    }
  data[done] = '\0';
  *length = done;
out:
  if (fd >= 0)
    close (fd);
  close (dir);
  return data;
}

/* The record's NUL-terminated fields, in order. */
struct fields
{
  char *next;
  char *end;
};

static const char *
field (struct fields *f)
{
  if (f->next >= f->end)
    return NULL;
  char *s = f->next;
  char *nul = memchr (s, '\0', (size_t) (f->end - s));
  if (!nul)
    return NULL;
  f->next = nul + 1;
  return s;
}

static bool
field_is (struct fields *f, const char *expected)
{
  const char *s = field (f);
  return s && strcmp (s, expected) == 0;
}

/* "TYPE:INO:SIZE:MTIME_NS:CTIME_NS", or "-" when there is nothing; as join-record.ts writes it. */
static void
signature (const char *path, bool follow, char *out, size_t size)
{
  struct stat st;
  if ((follow ? stat (path, &st) : lstat (path, &st)) < 0)
    {
      snprintf (out, size, "-");
      return;
    }
  char type = S_ISREG (st.st_mode) ? 'f' : S_ISDIR (st.st_mode) ? 'd' : S_ISLNK (st.st_mode) ? 'l' : 'o';
  long long mtime = (long long) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  long long ctime = (long long) st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
  snprintf (out, size, "%c:%llu:%lld:%lld:%lld", type, (unsigned long long) st.st_ino, (long long) st.st_size, mtime, ctime);
}

/* The start time of the process a record names by its decimal pid; "" when the pid is not one. */
static void
start_time (const char *pid, char *out, size_t size)
{
  char *end;
  errno = 0;
  long n = strtol (pid, &end, 10);
  if (errno || end == pid || *end || n <= 0 || n > INT_MAX)
    {
      out[0] = '\0';
      return;
    }
  process_start_time ((pid_t) n, out, size);
}

/* What a valid record asks to run, pointing into the record; NULL when anything differs from the record. */
struct replay
{
  const char *file;
  char **args;
  /* pid 1 of the sandbox and its start time, checked again after a failed join. */
  const char *pid;
  const char *pid_start;
};

static bool
check_record (char *data, size_t length, const char *cwd, int argc, char **argv, const char *env_hash, struct replay *replay)
{
  struct fields f = { data, data + length };
  char buffer[128];
  if (!field_is (&f, RECORD_MAGIC))
    return false;
  for (;;)
    {
      const char *kind = field (&f);
      if (!kind)
        return false;
      if (strcmp (kind, "cwd") == 0)
        {
          if (!field_is (&f, cwd))
            return false;
        }
      else if (strcmp (kind, "argv") == 0)
        {
          const char *count = field (&f);
          if (!count || atoi (count) != argc - 1)
            return false;
          for (int i = 1; i < argc; i++)
            if (!field_is (&f, argv[i]))
              return false;
        }
      else if (strcmp (kind, "env") == 0)
        {
          if (!field_is (&f, env_hash))
            return false;
        }
      else if (strcmp (kind, "stdin-tty") == 0)
        {
          if (!field_is (&f, isatty (STDIN_FILENO) ? "1" : "0"))
            return false;
        }
      else if (strcmp (kind, "stat") == 0 || strcmp (kind, "lstat") == 0)
        {
          const char *path = field (&f);
          if (!path)
            return false;
          signature (path, kind[0] == 's', buffer, sizeof buffer);
          if (!field_is (&f, buffer))
            return false;
        }
      else if (strcmp (kind, "live") == 0)
        {
          const char *pid = field (&f);
          if (!pid)
            return false;
          start_time (pid, buffer, sizeof buffer);
          const char *start = field (&f);
          if (!start || !buffer[0] || strcmp (start, buffer) != 0)
            return false;
          if (!replay->pid)
            {
              replay->pid = pid;
              replay->pid_start = start;
            }
        }
      else if (strcmp (kind, "exec") == 0)
        {
          const char *count = field (&f);
          int n = count ? atoi (count) : 0;
          if (n < 1 || n > 100000)
            return false;
          replay->args = calloc ((size_t) n + 1, sizeof *replay->args);
          if (!replay->args)
            return false;
          for (int i = 0; i < n; i++)
            if (!(replay->args[i] = (char *) field (&f)))
              return false;
          replay->file = replay->args[0];
        }
      else if (strcmp (kind, "end") == 0)
        return replay->file != NULL && replay->pid != NULL && f.next == f.end;
      else
        return false;
    }
}

static pid_t child_pid;

static void
forward_signal (int sig)
{
  if (child_pid > 0)
    kill (child_pid, sig);
}

/* As devbox runs the helper (util/exec.ts startForeground): signals passed on, the terminal's own ignored. */
static int
run_join (const struct replay *replay)
{
  sigset_t all, previous;
  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, &previous);
  child_pid = fork ();
  if (child_pid < 0)
    {
      sigprocmask (SIG_SETMASK, &previous, NULL);
      return -1;
    }
  if (child_pid == 0)
    {
      /* Default dispositions and an empty mask, as Node.js (libuv) gives the programs it spawns. */
      for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
          signal (sig, SIG_DFL);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (replay->file, replay->args);
      fprintf (stderr, "devbox: cannot run %s: %s\n", replay->file, strerror (errno));
      _exit (SETUP_FAILED);
    }
  struct sigaction forward = { .sa_handler = forward_signal };
  sigemptyset (&forward.sa_mask);
  const int forwarded[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaction (forwarded[i], &forward, NULL);
  signal (SIGINT, SIG_IGN);
  signal (SIGQUIT, SIG_IGN);
  sigprocmask (SIG_SETMASK, &previous, NULL);
  int status;
  while (waitpid (child_pid, &status, 0) < 0)
    if (errno != EINTR)
      return SETUP_FAILED;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* The join the record describes, when it is still what devbox would run; false when Node.js must decide. */
static bool
try_replay (int argc, char **argv, int *status)
{
  char cwd[PATH_MAX];
  if (!getcwd (cwd, sizeof cwd))
    return false;
  const char *cache = getenv ("XDG_CACHE_HOME");
  const char *home = getenv ("HOME");
  char folder[PATH_MAX];
  if (cache && cache[0] == '/')
    snprintf (folder, sizeof folder, "%s/devbox/joins", cache);
  else if (home && home[0] == '/')
    snprintf (folder, sizeof folder, "%s/.cache/devbox/joins", home);
  else
    return false;
  uint64_t key = fnv1a_string (FNV_OFFSET, cwd);
  for (int i = 1; i < argc; i++)
    key = fnv1a_string (key, argv[i]);
  char env_hash[17], name[40];
  snprintf (env_hash, sizeof env_hash, "%016llx", (unsigned long long) environment_hash ());
  snprintf (name, sizeof name, "%016llx-%s", (unsigned long long) key, env_hash);
  size_t length = 0;
  char *data = read_record (folder, name, &length);
  if (!data)
    return false;
  struct replay replay = { 0 };
  if (!check_record (data, length, cwd, argc, argv, env_hash, &replay))
    {
      free (replay.args);
      free (data);
      return false;
    }
  int result = run_join (&replay);
  char now[128];
  start_time (replay.pid, now, sizeof now);
  /* The sandbox ended between the check and the join: Node.js starts it again, as devbox does. */
  bool ended = result == SETUP_FAILED && strcmp (now, replay.pid_start) != 0;
  free (replay.args);
  free (data);
  if (result < 0 || ended)
    {
      signal (SIGINT, SIG_DFL);
      signal (SIGQUIT, SIG_DFL);
      return false;
    }
  *status = result;
  return true;
}

int
main (int argc, char **argv)
{
  int status;
  if (argc >= 2 && (strcmp (argv[1], "shell") == 0 || strcmp (argv[1], "run") == 0) && try_replay (argc, argv, &status))
    return status;
  run_node (argc, argv);
}
