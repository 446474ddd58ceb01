/*
 * The sandbox's file system: the root (overlay, fuse-overlayfs or a prepared directory), then /proc, /dev,
 * /sys, /tmp and the caller's binds inside it, then pivot_root. Every path inside the new root is resolved
 * with openat2(RESOLVE_IN_ROOT), so a symlink in a hostile image cannot aim a mount or a mkdir at the host.
 */
#include "helper.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int root_fd = -1; /* the assembled root, O_PATH */

static const char *
rootfs_mountpoint (const Options *opts)
{
  return opts->rootfs == ROOTFS_DIRECTORY ? opts->rootfs_dir : opts->mountpoint;
}

/* The upper and work dirs belong to container root, so "/" in the container is root's, not the caller's. */
static void
ensure_dir (const char *path)
{
  if (mkdir (path, 0755) < 0 && errno != EEXIST)
    die_with_error ("mkdir %s", path);
}

static void
mount_overlay (const Options *opts)
{
  ensure_dir (opts->upperdir);
  ensure_dir (opts->workdir);
  /* userxattr: overlay metadata in user.overlay.*, the only namespace an unprivileged mount may use (5.11+). */
  cleanup_free char *data = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", opts->lowerdirs, opts->upperdir, opts->workdir);
  if (strlen (data) >= (size_t) sysconf (_SC_PAGESIZE))
    die ("overlay: the layer paths are longer than one mount option page (%zu bytes)", strlen (data));
  if (mount ("overlay", opts->mountpoint, "overlay", 0, data) < 0)
    die_with_error ("mount overlay on %s", opts->mountpoint);
}

/* fuse-overlayfs daemonizes once the mount is ready; its daemon stays in the sandbox's pid namespace. */
static void
mount_fuse_overlay (const Options *opts)
{
  ensure_dir (opts->upperdir);
  ensure_dir (opts->workdir);
  cleanup_free char *data = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", opts->lowerdirs, opts->upperdir, opts->workdir);
  /* Its chatter (it warns about host mount options it does not know) is shown only when it fails. A memfd,
     not a pipe: the daemon keeps the descriptor open for as long as it runs. */
  cleanup_fd int log = memfd_create ("fuse-overlayfs-log", MFD_CLOEXEC);
  if (log < 0)
    die_with_error ("memfd_create");
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork %s", opts->fuse_program);
  if (pid == 0)
    {
      if (dup2 (log, STDERR_FILENO) < 0 || dup2 (log, STDOUT_FILENO) < 0)
        _exit (EXIT_SETUP_FAILED);
      execl (opts->fuse_program, opts->fuse_program, "-o", data, opts->mountpoint, (char *) NULL);
      _exit (127);
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      die_with_error ("waitpid %s", opts->fuse_program);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      char message[512] = "";
      ssize_t n = pread (log, message, sizeof message - 1, 0);
      message[n > 0 ? n : 0] = '\0';
      for (char *p = message; *p; p++)
        if (*p == '\n')
          *p = ' ';
      die ("%s could not mount %s (status %d): %s", opts->fuse_program, opts->mountpoint, WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status), message);
    }
}

void
mount_rootfs (const Options *opts)
{
  /* Nothing we mount may propagate back to the host's mount namespace. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    die_with_error ("make / private");
  switch (opts->rootfs)
    {
    case ROOTFS_OVERLAY:
      mount_overlay (opts);
      break;
    case ROOTFS_FUSE:
      mount_fuse_overlay (opts);
      break;
    case ROOTFS_DIRECTORY:
      /* pivot_root needs the new root to be a mount point. */
      if (mount (opts->rootfs_dir, opts->rootfs_dir, NULL, MS_BIND | MS_REC, NULL) < 0)
        die_with_error ("bind %s", opts->rootfs_dir);
      break;
    case ROOTFS_NONE:
    default:
      return;
    }
  const char *root = rootfs_mountpoint (opts);
  root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    die_with_error ("open %s", root);
}

static int
open_in_root (const char *path, int flags)
{
  struct open_how how = { .flags = (unsigned long long) (flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  while (*path == '/')
    path++;
  return (int) syscall (SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how);
}

/*
 * Opens `path` inside the root (O_PATH), creating it when missing: every missing parent as a directory, the
 * last component as a directory or an empty file. Parents are resolved inside the root at each step.
 */
static int
open_or_create_in_root (const char *path, bool directory)
{
  int fd = open_in_root (path, O_PATH);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  cleanup_free char *copy = xstrdup (path);
  char *slash = strrchr (copy, '/');
  const char *name = slash ? slash + 1 : copy;
  if (slash)
    *slash = '\0';
  cleanup_fd int parent = slash && copy[0] ? open_or_create_in_root (copy, true) : open_in_root ("/", O_PATH);
  if (parent < 0)
    return -1;
  if (directory ? mkdirat (parent, name, 0755) : mknodat (parent, name, S_IFREG | 0644, 0))
    {
      if (errno != EEXIST)
        return -1;
    }
  return open_in_root (path, O_PATH);
}

static char *
fd_path (int fd)
{
  return xasprintf ("/proc/self/fd/%d", fd);
}

/* Mounts fstype on a path inside the root, creating the directory when missing. */
static void
mount_in_root (const char *source, const char *dest, const char *fstype, unsigned long flags, const char *data)
{
  cleanup_fd int fd = open_or_create_in_root (dest, true);
  if (fd < 0)
    die_with_error ("create %s in the sandbox", dest);
  cleanup_free char *target = fd_path (fd);
  if (mount (source, target, fstype, flags, data) < 0)
    die_with_error ("mount %s on %s", fstype ? fstype : source, dest);
}

/* Makes the mount at dest (inside the root) and everything below it read-only. */
static void
make_readonly (const char *dest)
{
  cleanup_fd int fd = open_in_root (dest, O_PATH);
  if (fd < 0)
    die_with_error ("reopen %s", dest);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
    return;
  if (errno != ENOSYS)
    die_with_error ("make %s read-only", dest);
  /* Before 5.12: a remount must keep the flags the kernel locked on the source, or it fails with EPERM. */
  struct statvfs st;
  cleanup_free char *target = fd_path (fd);
  if (statvfs (target, &st) < 0)
    die_with_error ("statvfs %s", dest);
  unsigned long locked = (st.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (st.f_flag & ST_NODEV ? MS_NODEV : 0) | (st.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
  if (mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked, NULL) < 0)
    die_with_error ("remount %s read-only", dest);
}

static void
bind_into_root (const char *source, const char *dest, bool readonly)
{
  cleanup_fd int src = open (source, O_PATH | O_CLOEXEC);
  if (src < 0)
    die_with_error ("bind source %s", source);
  struct stat st;
  if (fstat (src, &st) < 0)
    die_with_error ("stat %s", source);
  cleanup_fd int dst = open_or_create_in_root (dest, S_ISDIR (st.st_mode));
  if (dst < 0)
    die_with_error ("create %s in the sandbox", dest);
  cleanup_free char *from = fd_path (src);
  cleanup_free char *to = fd_path (dst);
  if (mount (from, to, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_with_error ("bind %s on %s", source, dest);
  if (readonly)
    make_readonly (dest);
}

static void
setup_dev (const Options *opts)
{
  mount_in_root ("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k");
  /* No mknod in a user namespace: bind the host's nodes, as runc does for rootless containers. */
  static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
    {
      cleanup_free char *host = xasprintf ("/dev/%s", nodes[i]);
      bind_into_root (host, host, false);
    }
  static const char *const links[][2] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
  };
  cleanup_fd int dev = open_in_root ("/dev", O_PATH | O_DIRECTORY);
  if (dev < 0)
    die_with_error ("open /dev in the sandbox");
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat (links[i][0], dev, links[i][1]) < 0)
      die_with_error ("symlink /dev/%s", links[i][1]);
  /* gid=5 (tty) only when that group exists in the namespace; the mount fails otherwise. */
  const char *pts_data = id_map_contains (&opts->gid_map, 5) ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620";
  mount_in_root ("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, pts_data);
  mount_in_root ("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
  mount_in_root ("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* sysfs may only be mounted by the owner of the network namespace; otherwise bind the host's, read-only. */
static void
setup_sys (void)
{
  cleanup_fd int fd = open_or_create_in_root ("/sys", true);
  if (fd < 0)
    die_with_error ("create /sys in the sandbox");
  cleanup_free char *target = fd_path (fd);
  if (mount ("sysfs", target, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) == 0)
    return;
  if (errno != EPERM)
    die_with_error ("mount sysfs on /sys");
  if (mount ("/sys", target, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_with_error ("bind /sys");
  make_readonly ("/sys");
}

void
mount_sandbox_filesystems (const Options *opts)
{
  mount_in_root ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  setup_dev (opts);
  setup_sys ();
  mount_in_root ("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  for (size_t i = 0; i < opts->n_mounts; i++)
    {
      const MountOp *m = &opts->mounts[i];
      if (m->kind == MOUNT_TMPFS)
        mount_in_root ("tmpfs", m->dest, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
      else
        bind_into_root (m->source, m->dest, m->kind == MOUNT_RO_BIND);
    }
}

/* pivot_root(".", ".") then detach the old root: the runc/crun idiom, no temporary directory needed. */
void
enter_rootfs (const Options *opts)
{
  if (fchdir (root_fd) < 0)
    die_with_error ("chdir %s", rootfs_mountpoint (opts));
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    die_with_error ("pivot_root %s", rootfs_mountpoint (opts));
  if (umount2 (".", MNT_DETACH) < 0)
    die_with_error ("detach the old root");
  /* Never leave a host directory as the cwd (CVE-2024-21626). */
  if (chdir ("/") < 0)
    die_with_error ("chdir /");
  close (root_fd);
  root_fd = -1;
  if (opts->hostname && sethostname (opts->hostname, strlen (opts->hostname)) < 0)
    die_with_error ("sethostname %s", opts->hostname);
}

/* Opens the parent of path (O_PATH) and returns the last component in name_out; before pivot_root. */
int
open_remove_target (const char *path, char **name_out)
{
  cleanup_free char *copy = xstrdup (path);
  char *slash = strrchr (copy, '/');
  if (slash == NULL || slash[1] == '\0')
    die ("--remove-after needs an absolute path to a directory: \"%s\"", path);
  *name_out = xstrdup (slash + 1);
  *slash = '\0';
  int fd = open (copy[0] ? copy : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    die_with_error ("open %s", copy);
  return fd;
}

/* Deletes name under parent_fd recursively, fd-relative and never following a symlink; best effort. */
void
remove_tree_at (int parent_fd, const char *name)
{
  int fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    {
      DIR *dir = fdopendir (fd);
      if (dir == NULL)
        {
          close (fd);
          return;
        }
      struct dirent *e;
      while ((e = readdir (dir)) != NULL)
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
          remove_tree_at (dirfd (dir), e->d_name);
      closedir (dir);
      if (unlinkat (parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        warn_msg ("remove %s: %s", name, strerror (errno));
    }
  else if (unlinkat (parent_fd, name, 0) < 0 && errno != ENOENT)
    warn_msg ("remove %s: %s", name, strerror (errno));
}
