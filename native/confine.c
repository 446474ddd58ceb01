/*
 * --no-pivot --confine DIR --archive -- layer …: the layer extractor's cell, so that a bug in the extractor
 * cannot write outside the layer it is writing (containers/storage's chrootarchive does the same for Go).
 * DIR becomes the root before the first byte of the tar is read: bind-mounted onto itself, pivot_root into
 * it, the old root detached. layer.c then drops to the capabilities extraction needs and extracts into "/".
 */
#include "helper.h"
#include "util.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static void
enter_cell (int dir_fd, const char *dir)
{
  if (fchdir (dir_fd) < 0)
    die_with_error ("chdir %s", dir);
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    die_with_error ("pivot_root %s", dir);
  if (umount2 (".", MNT_DETACH) < 0)
    die_with_error ("detach the host's root");
  if (chdir ("/") < 0)
    die_with_error ("chdir /");
}

int
run_confined (const Options *opts)
{
  const char *dir = opts->confine_dir;
  /* As runc: nothing mounted here reaches the host. pivot_root needs DIR to be a mount point. */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    die_with_error ("make / a slave mount");
  if (mount (dir, dir, NULL, MS_BIND, NULL) < 0)
    die_with_error ("bind %s onto itself", dir);
  cleanup_fd int dir_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    die_with_error ("open %s", dir);
  enter_cell (dir_fd, dir);
  return extract_layer (opts);
}
