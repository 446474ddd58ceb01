/*
 * The sandbox's root while it is being set up: every path inside it is resolved from the root's fd with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), missing parts are created relative to their parent's fd,
 * and mounts go onto /proc/self/fd/N. A symlink in a hostile image therefore cannot aim a mount, a mkdir or
 * an open at the host (the class of CVE-2021-30465 and CVE-2025-31133).
 */
#include "helper.h"
#include "kernel.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int root_fd = -1; /* the assembled root, O_PATH */

void
open_sandbox_root (const char *path)
{
  root_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    die_with_error ("open %s", path);
}

/* A process that entered a live sandbox's mount namespace resolves paths inside its root, like pid 1 did. */
void
use_current_root (void)
{
  root_fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    die_with_error ("open the sandbox's root");
}

int
sandbox_root (void)
{
  return root_fd;
}

void
close_sandbox_root (void)
{
  close (root_fd);
  root_fd = -1;
}

int
open_in_root (const char *path, int flags)
{
  struct open_how how = {
    .flags = (unsigned long long) (flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  while (*path == '/')
    path++;
  /* EAGAIN: a rename or mount anywhere on the machine raced the resolution of a "..", and the kernel could not
     vouch that it stayed inside the root; openat2(2) says to try again. */
  int fd, tries = 0;
  while ((fd = (int) syscall (SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how)) < 0 && errno == EAGAIN && ++tries < 100)
    ;
  return fd;
}

/*
 * Opens path inside the root (O_PATH), creating what is missing: parents as directories, the last component
 * as a directory or an empty file. Each parent is resolved inside the root and created relative to its fd.
 */
int
open_or_create_in_root (const char *path, bool directory)
{
  int fd = open_in_root (path, O_PATH);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  cleanup_free char *parent_path = xstrdup (path);
  char *slash = strrchr (parent_path, '/');
  const char *name = slash ? slash + 1 : parent_path;
  if (slash)
    *slash = '\0';
  cleanup_fd int parent = open_or_create_in_root (slash ? parent_path : "/", true);
  if (parent < 0)
    return -1;
  int ret = directory ? mkdirat (parent, name, 0755) : mknodat (parent, name, S_IFREG | 0644, 0);
  if (ret < 0 && errno != EEXIST)
    return -1;
  return open_in_root (path, O_PATH);
}

void
bind_fd (int source_fd, int dest_fd, const char *dest)
{
  cleanup_free char *from = fd_path (source_fd);
  cleanup_free char *to = fd_path (dest_fd);
  if (mount (from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_with_error ("bind mount on %s", dest);
}
