/* --cgroup DIR: the sandbox's pid 1 joins a cgroup v2 directory devbox made (and wrote the limits of) in a
   subtree delegated to the user, before it runs anything, so every process of the container is in it; with
   --join, the joining helper does, before it enters the sandbox, so the command it runs is in it too. */
#include "helper.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

void
enter_cgroup (const char *dir, pid_t child)
{
  cleanup_free char *path = xasprintf ("%s/cgroup.procs", dir);
  char pid[32];
  snprintf (pid, sizeof pid, "%d", (int) child);
  /* The kernel checks, besides this file's mode, that we may write cgroup.procs of the common ancestor of
     where the process is and where it goes: both must be in the subtree delegated to us. */
  if (write_file (path, pid) < 0)
    die_with_error ("move pid %d into the cgroup %s", (int) child, dir);
}
