/* User namespace id maps: parsed from "inside:outside:count,..." and written for the sandbox's first process. */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

void
parse_id_map (const char *text, IdMap *map, const char *option)
{
  cleanup_free char *copy = xstrdup (text);
  size_t n = 1;
  for (const char *p = text; *p; p++)
    n += *p == ',';
  map->ranges = xcalloc (n, sizeof (IdRange));
  map->n = 0;
  char *save = NULL;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      char *fields[3];
      char *field_save = NULL;
      size_t k = 0;
      for (char *f = strtok_r (tok, ":", &field_save); f && k < 3; f = strtok_r (NULL, ":", &field_save))
        fields[k++] = f;
      if (k != 3 || strtok_r (NULL, ":", &field_save) != NULL)
        die ("%s: expected inside:outside:count, got \"%s\"", option, text);
      IdRange *r = &map->ranges[map->n++];
      r->inside = parse_number (fields[0], 0xfffffffeUL, option);
      r->outside = parse_number (fields[1], 0xfffffffeUL, option);
      r->count = parse_number (fields[2], 0xffffffffUL, option);
      if (r->count == 0)
        die ("%s: a range of 0 ids in \"%s\"", option, text);
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

/* The kernel lets a process map its own id (and root anything) itself; anything else needs newuidmap. */
static bool
can_write_directly (const IdMap *map, unsigned long own_id)
{
  return geteuid () == 0 || (map->n == 1 && map->ranges[0].count == 1 && map->ranges[0].outside == own_id);
}

static void
write_map_file (pid_t child, const char *file, const IdMap *map)
{
  char text[4096] = "";
  size_t used = 0;
  for (size_t i = 0; i < map->n; i++)
    {
      int n = snprintf (text + used, sizeof text - used, "%lu %lu %lu\n", map->ranges[i].inside, map->ranges[i].outside, map->ranges[i].count);
      if (n < 0 || (size_t) n >= sizeof text - used)
        die ("%s: too many ranges", file);
      used += (size_t) n;
    }
  cleanup_free char *path = xasprintf ("/proc/%d/%s", (int) child, file);
  if (write_file_at (AT_FDCWD, path, text) < 0)
    die_with_error ("write %s", path);
}

/* Runs newuidmap/newgidmap (setuid root, checks /etc/subuid) and dies with its own message on failure. */
static void
run_map_tool (const char *tool, pid_t child, const IdMap *map)
{
  char **argv = xcalloc (2 + 3 * map->n + 1, sizeof (char *));
  size_t k = 0;
  argv[k++] = (char *) tool;
  argv[k++] = xasprintf ("%d", (int) child);
  for (size_t i = 0; i < map->n; i++)
    {
      argv[k++] = xasprintf ("%lu", map->ranges[i].inside);
      argv[k++] = xasprintf ("%lu", map->ranges[i].outside);
      argv[k++] = xasprintf ("%lu", map->ranges[i].count);
    }
  int err[2];
  if (pipe2 (err, O_CLOEXEC) < 0)
    die_with_error ("pipe2");
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork %s", tool);
  if (pid == 0)
    {
      dup2 (err[1], STDERR_FILENO);
      execvp (tool, argv);
      if (errno == ENOENT)
        fprintf (stderr, "%s not found: install the uidmap package", tool);
      else
        fprintf (stderr, "exec %s: %s", tool, strerror (errno));
      _exit (127);
    }
  close (err[1]);
  char message[1024];
  size_t used = 0;
  ssize_t n;
  while ((n = read (err[0], message + used, sizeof message - 1 - used)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      used += (size_t) n;
  close (err[0]);
  message[used] = '\0';
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      die_with_error ("waitpid %s", tool);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      kill (child, SIGKILL);
      for (char *p = message; *p; p++)
        if (*p == '\n')
          *p = ' ';
      die ("%s %s failed: %s (check /etc/sub%cid for this user)", tool, argv[1], used ? message : "no message", tool[3] == 'u' ? 'u' : 'g');
    }
}

void
write_id_maps (pid_t child, const Options *opts)
{
  if (can_write_directly (&opts->uid_map, getuid ()))
    write_map_file (child, "uid_map", &opts->uid_map);
  else
    run_map_tool ("newuidmap", child, &opts->uid_map);
  if (can_write_directly (&opts->gid_map, getgid ()))
    {
      /* An unprivileged process may only write its own gid after giving up setgroups (CVE-2014-8989). */
      if (geteuid () != 0)
        {
          cleanup_free char *path = xasprintf ("/proc/%d/setgroups", (int) child);
          if (write_file_at (AT_FDCWD, path, "deny") < 0)
            die_with_error ("write %s", path);
        }
      write_map_file (child, "gid_map", &opts->gid_map);
    }
  else
    run_map_tool ("newgidmap", child, &opts->gid_map);
}

/* In the sandbox's first process: become uid/gid 0 of the namespace, without the host's supplementary groups. */
void
become_namespace_root (const Options *opts)
{
  if (!id_map_contains (&opts->uid_map, 0) || !id_map_contains (&opts->gid_map, 0))
    die ("the id maps must map container root (0)");
  /* setgroups is denied after a self-written single-id map; then there are no host groups to drop. */
  if (setgroups (0, NULL) < 0 && errno != EPERM)
    die_with_error ("setgroups");
  if (setresgid (0, 0, 0) < 0)
    die_with_error ("setresgid(0)");
  if (setresuid (0, 0, 0) < 0)
    die_with_error ("setresuid(0)");
}
