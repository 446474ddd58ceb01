/* What /proc says of a process, for the helper's supervisor and the launcher alike (libc only). */
#include "proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * Field 22 of /proc/PID/stat, the start time that tells a process from a later one with the same pid; "" when
 * there is no such process or it has already exited (a zombie), as util/processes.ts's startTimeOf.
 */
void
process_start_time (pid_t pid, char *buf, size_t len)
{
  buf[0] = '\0';
  char path[32];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char stat[1024];
  ssize_t n = read (fd, stat, sizeof stat - 1);
  close (fd);
  if (n <= 0)
    return;
  stat[n] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
  char *p = strrchr (stat, ')');
  if (p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
    return;
  for (int field = 2; p && field < 22; field++)
    p = strchr (p + 1, ' ');
  if (p == NULL)
    return;
  size_t span = strcspn (p + 1, " ");
  snprintf (buf, len, "%.*s", (int) span, p + 1);
}
