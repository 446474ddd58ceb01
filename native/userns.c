/* User namespace id maps: "inside:outside:count,..." on the command line, written for the sandbox's pid 1. */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
parse_range (char *text, IdRange *range, const char *option)
{
  char *fields[3];
  char *save = NULL;
  size_t k = 0;
  for (char *f = strtok_r (text, ":", &save); f; f = strtok_r (NULL, ":", &save))
    {
      if (k == 3)
        die ("%s: expected inside:outside:count, got \"%s\"", option, text);
      fields[k++] = f;
    }
  if (k != 3)
    die ("%s: expected inside:outside:count", option);
  range->inside = parse_number (fields[0], 0xfffffffeUL, option);
  range->outside = parse_number (fields[1], 0xfffffffeUL, option);
  range->count = parse_number (fields[2], 0xffffffffUL - range->inside, option);
  if (range->count == 0)
    die ("%s: a range of 0 ids", option);
}

void
parse_id_map (const char *text, IdMap *map, const char *option)
{
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      map->ranges = xrealloc (map->ranges, map->n + 1, sizeof (IdRange));
      parse_range (tok, &map->ranges[map->n++], option);
    }
  if (map->n == 0)
    die ("%s: empty map", option);
}

bool
id_map_contains (const IdMap *map, unsigned long inside)
{
  for (size_t i = 0; i < map->n; i++)
    if (inside >= map->ranges[i].inside && inside - map->ranges[i].inside < map->ranges[i].count)
      return true;
  return false;
}

/* The kernel lets root map anything and anyone map their own id once; all else needs the setuid tools. */
bool
writes_map_itself (const IdMap *map, unsigned long own_id)
{
  return geteuid () == 0 || (map->n == 1 && map->ranges[0].count == 1 && map->ranges[0].outside == own_id);
}

static void
write_map_file (pid_t child, const char *file, const IdMap *map)
{
  char text[4096];
  size_t used = 0;
  for (size_t i = 0; i < map->n; i++)
    {
      const IdRange *r = &map->ranges[i];
      int n = snprintf (text + used, sizeof text - used, "%lu %lu %lu\n", r->inside, r->outside, r->count);
      if (n < 0 || (size_t) n >= sizeof text - used)
        die ("%s: too many ranges", file);
      used += (size_t) n;
    }
  cleanup_free char *path = xasprintf ("/proc/%d/%s", (int) child, file);
  if (write_file (path, text) < 0)
    die_with_error ("write %s", path);
}

static char **
map_tool_argv (const char *tool, pid_t child, const IdMap *map)
{
  char **argv = xcalloc (3 + 3 * map->n, sizeof (char *));
  size_t k = 0;
  argv[k++] = (char *) tool;
  argv[k++] = xasprintf ("%d", (int) child);
  for (size_t i = 0; i < map->n; i++)
    {
      argv[k++] = xasprintf ("%lu", map->ranges[i].inside);
      argv[k++] = xasprintf ("%lu", map->ranges[i].outside);
      argv[k++] = xasprintf ("%lu", map->ranges[i].count);
    }
  return argv;
}

/* Reads what the tool printed, as one line for our own error message. */
static void
read_message (int fd, char *message, size_t size)
{
  size_t used = 0;
  ssize_t n;
  while (used < size - 1 && (n = TEMP_FAILURE_RETRY (read (fd, message + used, size - 1 - used))) > 0)
    used += (size_t) n;
  while (used > 0 && (message[used - 1] == '\n' || message[used - 1] == ' '))
    used--;
  message[used] = '\0';
  for (char *p = message; *p; p++)
    if (*p == '\n')
      *p = ' ';
}

/* newuidmap/newgidmap (setuid root) check /etc/subuid and /etc/subgid and write the map for us. */
typedef struct
{
  const char *tool;
  char **argv;
  pid_t pid;
  int out; /* its stdout and stderr */
} MapTool;

static MapTool
start_map_tool (const char *tool, pid_t child, const IdMap *map)
{
  MapTool run = { .tool = tool, .argv = map_tool_argv (tool, child, map) };
  int out[2];
  if (pipe2 (out, O_CLOEXEC) < 0)
    die_with_error ("pipe2");
  run.pid = fork ();
  if (run.pid < 0)
    die_with_error ("fork %s", tool);
  if (run.pid == 0)
    {
      if (dup2 (out[1], STDOUT_FILENO) < 0 || dup2 (out[1], STDERR_FILENO) < 0)
        _exit (127);
      reset_signals ();
      execv (tool, run.argv);
      fprintf (stderr, "exec %s: %s", tool, strerror (errno));
      _exit (127);
    }
  close (out[1]);
  run.out = out[0];
  return run;
}

static void
finish_map_tool (MapTool *run)
{
  char message[1024];
  read_message (run->out, message, sizeof message);
  close (run->out);
  int status = wait_exit_status (run->pid);
  if (status != 0)
    die ("%s %s failed (status %d): %s (check /etc/sub%cid for this user)", run->tool, run->argv[1], status,
         message[0] ? message : "no message", strstr (run->tool, "newuidmap") ? 'u' : 'g');
}

void
write_id_maps (pid_t child, const Options *opts)
{
  /* The two setuid tools run at once: each is a process start that the sandbox's start waits for. */
  MapTool uid = { 0 }, gid = { 0 };
  if (opts->uid_map.tool)
    uid = start_map_tool (opts->uid_map.tool, child, &opts->uid_map);
  if (opts->gid_map.tool)
    gid = start_map_tool (opts->gid_map.tool, child, &opts->gid_map);
  if (uid.tool)
    finish_map_tool (&uid);
  else
    write_map_file (child, "uid_map", &opts->uid_map);
  if (gid.tool)
    {
      finish_map_tool (&gid);
      return;
    }
  /* Unprivileged, the kernel takes a self-written gid map only after setgroups is denied (CVE-2014-8989);
     nested in a namespace of ours (--userns-of) we have CAP_SETGID over it, and the groups stay usable. */
  if (geteuid () != 0 && !opts->userns_of)
    {
      cleanup_free char *path = xasprintf ("/proc/%d/setgroups", (int) child);
      if (write_file (path, "deny") < 0)
        die_with_error ("write %s", path);
    }
  write_map_file (child, "gid_map", &opts->gid_map);
}

/* In the sandbox's pid 1, once the maps exist: become 0:0 of the namespace, without the host's groups. */
void
become_namespace_root (void)
{
  /* EPERM here means setgroups was denied for a single-id map: then there are no host groups to drop. */
  if (setgroups (0, NULL) < 0 && errno != EPERM)
    die_with_error ("setgroups");
  if (setresgid (0, 0, 0) < 0)
    die_with_error ("setresgid 0");
  if (setresuid (0, 0, 0) < 0)
    die_with_error ("setresuid 0");
}
