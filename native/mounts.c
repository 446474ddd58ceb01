/*
 * The sandbox's file system: the root (kernel overlay, fuse-overlayfs or a prepared directory), then /proc,
 * /dev, /sys, /tmp and the caller's mounts inside it, then pivot_root. Every path inside the new root goes
 * through root.c, so a symlink in a hostile image can never aim a mount or a mkdir at the host.
 */
#include <linux/mount.h> /* before kernel.h, which fills what old headers lack */

#include "helper.h"
#include "kernel.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *
root_path (const Options *opts)
{
  return opts->rootfs == ROOTFS_DIRECTORY ? opts->rootfs_dir : opts->mountpoint;
}

/* Created by root of the namespace, so "/" in the container belongs to root and not to the caller. */
static void
ensure_root_owned_dir (const char *path)
{
  if (mkdir (path, 0755) == 0)
    {
      if (chmod (path, 0755) < 0) /* whatever the caller's umask */
        die_with_error ("chmod %s", path);
    }
  else if (errno != EEXIST)
    die_with_error ("mkdir %s", path);
}

/* Appends the kernel's own explanation, which fsconfig keeps on the context fd ("e overlayfs: ..."). */
static void __attribute__ ((noreturn))
die_with_fs_context (int fs_fd, const char *what)
{
  int saved = errno;
  char log[512] = "";
  ssize_t n = read (fs_fd, log, sizeof log - 1);
  log[n > 0 ? n : 0] = '\0';
  log[strcspn (log, "\n")] = '\0';
  errno = saved;
  if (log[0])
    die ("%s: %s (%s)", what, strerror (saved), log + (log[1] == ' ' ? 2 : 0));
  die_with_error ("%s", what);
}

/* PATH is DIR/… (no ".." below DIR): what --remove-after deletes. */
static bool
inside_removed_dir (const char *path, const char *dir)
{
  size_t len = strlen (dir);
  return strncmp (path, dir, len) == 0 && path[len] == '/' && !strstr (path + len, "/..");
}

/*
 * A --rm container's upper and work directories go with its directory: mounted `volatile` (as podman mounts a
 * --rm container's), the overlay's unmount when the sandbox ends skips syncing the whole file system they are
 * on, which made every --rm run wait for the disk (tens of ms, far more while others write). A crash may then
 * leave that upper directory inconsistent, and the kernel refuses to mount it again; it was to be removed.
 */
static bool
overlay_is_disposable (const Options *opts)
{
  return opts->remove_after && inside_removed_dir (opts->upperdir, opts->remove_after) && inside_removed_dir (opts->workdir, opts->remove_after);
}

/*
 * Linux 6.8+ takes each lower dir as its own "lowerdir+" parameter: no page-size limit on the option
 * string and no escaping. Returns false (nothing mounted) on older kernels.
 */
static bool
mount_overlay_fsconfig (const Options *opts)
{
  cleanup_fd int fs = (int) syscall (SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return false;
  cleanup_free char *lowers = xstrdup (opts->lowerdirs);
  char *save = NULL;
  bool first = true;
  for (char *dir = strtok_r (lowers, ":", &save); dir; dir = strtok_r (NULL, ":", &save), first = false)
    if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", dir, 0) < 0)
      {
        if (first && errno == EINVAL)
          return false; /* "lowerdir+" is unknown before 6.8 */
        die_with_fs_context (fs, xasprintf ("overlay lower dir %s", dir));
      }
  if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", opts->upperdir, 0) < 0)
    die_with_fs_context (fs, xasprintf ("overlay upper dir %s", opts->upperdir));
  if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", opts->workdir, 0) < 0)
    die_with_fs_context (fs, xasprintf ("overlay work dir %s", opts->workdir));
  /* userxattr: overlay metadata in user.overlay.*, the only xattrs a user namespace may write (5.11+). */
  if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
    die_with_fs_context (fs, "overlay option userxattr");
  if (overlay_is_disposable (opts) && syscall (SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
    die_with_fs_context (fs, "overlay option volatile");
  if (syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    die_with_fs_context (fs, xasprintf ("mount overlay on %s", opts->mountpoint));
  cleanup_fd int mnt = (int) syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    die_with_fs_context (fs, xasprintf ("mount overlay on %s", opts->mountpoint));
  if (syscall (SYS_move_mount, mnt, "", AT_FDCWD, opts->mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    die_with_error ("attach overlay to %s", opts->mountpoint);
  return true;
}

static void
mount_overlay_legacy (const Options *opts)
{
  /* volatile (5.10) is older than userxattr (5.11): any kernel this mount works on knows it. */
  cleanup_free char *data = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s,userxattr%s", opts->lowerdirs, opts->upperdir, opts->workdir,
                                       overlay_is_disposable (opts) ? ",volatile" : "");
  /* mount(2) splits its options at ',' and the kernel copies at most one page of them. */
  if (strchr (opts->lowerdirs, ',') || strchr (opts->upperdir, ',') || strchr (opts->workdir, ','))
    die ("overlay: a layer path contains ',', which mount(2) options cannot carry");
  if (strlen (data) >= (size_t) sysconf (_SC_PAGESIZE))
    die ("overlay: %zu bytes of layer paths exceed the one-page limit of mount(2) options (Linux 6.8 lifts it)", strlen (data));
  if (mount ("overlay", opts->mountpoint, "overlay", 0, data) < 0)
    die_with_error ("mount overlay on %s", opts->mountpoint);
}

/* fuse-overlayfs daemonizes once its mount is ready; the daemon stays in the sandbox's pid namespace. */
static void
mount_fuse_overlay (const Options *opts)
{
  cleanup_free char *data = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", opts->lowerdirs, opts->upperdir, opts->workdir);
  /* Its warnings are shown only if it fails. A memfd, not a pipe: the daemon keeps the fd as long as it runs. */
  cleanup_fd int log = memfd_create ("fuse-overlayfs-log", MFD_CLOEXEC);
  if (log < 0)
    die_with_error ("memfd_create");
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork %s", opts->fuse_program);
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (log, 1) < 0 || dup2 (log, 2) < 0)
        _exit (EXIT_SETUP_FAILED);
      reset_signals ();
      execl (opts->fuse_program, opts->fuse_program, "-o", data, opts->mountpoint, (char *) NULL);
      dprintf (2, "exec: %s", strerror (errno));
      _exit (127);
    }
  int status = wait_exit_status (pid);
  if (status != 0)
    {
      char message[512];
      ssize_t n = pread (log, message, sizeof message - 1, 0);
      message[n > 0 ? n : 0] = '\0';
      for (char *p = message; *p; p++)
        *p = *p == '\n' ? ' ' : *p;
      die ("%s could not mount %s (status %d): %s", opts->fuse_program, opts->mountpoint, status, message);
    }
}

void
mount_rootfs (const Options *opts)
{
  /* Slave, as runc does: nothing we mount reaches the host; the host's unmounts still reach us. */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    die_with_error ("make / a slave mount");
  if (opts->rootfs == ROOTFS_OVERLAY || opts->rootfs == ROOTFS_FUSE)
    {
      ensure_root_owned_dir (opts->upperdir);
      ensure_root_owned_dir (opts->workdir);
    }
  if (opts->rootfs == ROOTFS_OVERLAY && !mount_overlay_fsconfig (opts))
    mount_overlay_legacy (opts);
  else if (opts->rootfs == ROOTFS_FUSE)
    {
      mount_fuse_overlay (opts);
      /* pivot_root moves the root of every process in the mount namespace that shares ours, and the
         daemon's root then being its own mount deadlocks it. In a namespace of our own, it keeps the host's. */
      if (unshare (CLONE_NEWNS) < 0)
        die_with_error ("unshare the mount namespace");
    }
  /* pivot_root needs the new root to be a mount point. */
  else if (opts->rootfs == ROOTFS_DIRECTORY && mount (opts->rootfs_dir, opts->rootfs_dir, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_with_error ("bind %s onto itself", opts->rootfs_dir);
  if (opts->no_pivot)
    return;
  open_sandbox_root (root_path (opts));
}

/* Makes the mount at dest, and every mount below it, read-only. */
static void
make_readonly (const char *dest)
{
  cleanup_fd int fd = open_in_root (dest, O_PATH); /* the new mount, which covers the fd we mounted on */
  if (fd < 0)
    die_with_error ("reopen %s", dest);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0)
    return;
  if (errno != ENOSYS)
    die_with_error ("make %s read-only", dest);
  /* Before 5.12: a remount in a user namespace must keep the flags locked on the source, or it is EPERM. */
  cleanup_free char *target = fd_path (fd);
  struct statvfs st;
  if (statvfs (target, &st) < 0)
    die_with_error ("statvfs %s", dest);
  unsigned long locked = (st.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (st.f_flag & ST_NODEV ? MS_NODEV : 0)
                         | (st.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
  if (mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked, NULL) < 0)
    die_with_error ("remount %s read-only", dest);
}

static void
bind_into_root (const char *source, const char *dest, bool readonly)
{
  cleanup_fd int src = open (source, O_PATH | O_CLOEXEC);
  struct stat st;
  if (src < 0 || fstat (src, &st) < 0)
    die_with_error ("bind source %s", source);
  cleanup_fd int dst = open_or_create_in_root (dest, S_ISDIR (st.st_mode));
  if (dst < 0)
    die_with_error ("create %s in the sandbox", dest);
  bind_fd (src, dst, dest);
  if (readonly)
    make_readonly (dest);
}

/* A bind's propagation, as asked (docker's bind-propagation); the shared kinds cannot reach the host from here. */
static void
set_propagation (const char *dest, unsigned long flags)
{
  cleanup_fd int fd = open_in_root (dest, O_PATH);
  if (fd < 0)
    die_with_error ("open %s in the sandbox", dest);
  cleanup_free char *target = fd_path (fd);
  if (mount (NULL, target, NULL, flags, NULL) < 0)
    die_with_error ("set the propagation of %s", dest);
}

/* Mounts a fresh file system on a directory inside the root, creating the directory if missing. */
static void
mount_in_root (const char *fstype, const char *dest, unsigned long flags, const char *data)
{
  cleanup_fd int fd = open_or_create_in_root (dest, true);
  if (fd < 0)
    die_with_error ("create %s in the sandbox", dest);
  cleanup_free char *target = fd_path (fd);
  if (mount (fstype, target, fstype, flags, data) < 0)
    die_with_error ("mount %s on %s", fstype, dest);
}

static void
setup_dev (const Options *opts)
{
  mount_in_root ("tmpfs", "/dev", MS_NOSUID, "mode=0755,size=65536k");
  /* mknod is not allowed in a user namespace: bind the host's nodes, as runc does for rootless containers. */
  static const char *const nodes[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty" };
  for (size_t i = 0; i < N_ELEMENTS (nodes); i++)
    bind_into_root (nodes[i], nodes[i], false);
  static const char *const links[][2] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
  };
  cleanup_fd int dev = open_in_root ("/dev", O_PATH | O_DIRECTORY);
  if (dev < 0)
    die_with_error ("open /dev in the sandbox");
  for (size_t i = 0; i < N_ELEMENTS (links); i++)
    if (symlinkat (links[i][0], dev, links[i][1]) < 0)
      die_with_error ("symlink /dev/%s", links[i][1]);
  /* gid=5 (tty) only when that group exists in the namespace, or the mount fails with EINVAL. */
  mount_in_root ("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                 id_map_contains (&opts->gid_map, 5) ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620");
  mount_in_root ("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
  /* POSIX message queues are optional (a kernel without CONFIG_POSIX_MQUEUE refuses them): no error. */
  cleanup_fd int mq = open_or_create_in_root ("/dev/mqueue", true);
  cleanup_free char *mq_target = mq >= 0 ? fd_path (mq) : NULL;
  if (mq >= 0)
    (void) mount ("mqueue", mq_target, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* A fresh sysfs needs a network namespace of our own; otherwise bind the host's read-only, as runc does. */
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
  cleanup_fd int host = open ("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host < 0)
    die_with_error ("open /sys");
  bind_fd (host, fd, "/sys");
  make_readonly ("/sys");
}

/*
 * runc's masked paths: a file shows the sandbox's /dev/null, a directory an empty read-only tmpfs. /dev is
 * the sandbox's own tmpfs, but its null device is still checked before anything is bound from it (a mask
 * that binds whatever "/dev/null" resolves to was CVE-2025-31133). A path the kernel lacks needs no mask.
 */
static void
mask_path (const char *dest)
{
  cleanup_fd int fd = open_in_root (dest, O_PATH);
  struct stat st;
  if (fd < 0 && errno == ENOENT)
    return;
  if (fd < 0 || fstat (fd, &st) < 0)
    die_with_error ("mask %s", dest);
  if (S_ISDIR (st.st_mode))
    {
      cleanup_free char *target = fd_path (fd);
      if (mount ("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
        die_with_error ("mask %s", dest);
      return;
    }
  cleanup_fd int null = open_in_root ("/dev/null", O_PATH | O_NOFOLLOW);
  struct stat null_st;
  if (null < 0 || fstat (null, &null_st) < 0)
    die_with_error ("open /dev/null in the sandbox");
  if (!S_ISCHR (null_st.st_mode) || null_st.st_rdev != makedev (1, 3))
    die ("mask %s: the sandbox's /dev/null is not the null device", dest);
  bind_fd (null, fd, dest);
}

/* runc's read-only paths: the path bound onto itself, then made read-only with everything below it. */
static void
make_path_readonly (const char *dest)
{
  cleanup_fd int fd = open_in_root (dest, O_PATH);
  if (fd < 0 && errno == ENOENT)
    return;
  if (fd < 0)
    die_with_error ("make %s read-only", dest);
  bind_fd (fd, fd, dest);
  make_readonly (dest);
}

/*
 * fuse-overlayfs took pids 2 and 3. Without this the command would be pid 4 with that backend only, and a
 * script's `$$` or pid-file check would differ by backend. Written now, while /proc/sys may still be written
 * (its read-only path comes below), and before pid 1 forks; one write, not an error if refused.
 */
static void
reset_last_pid (void)
{
  cleanup_fd int fd = open_in_root ("/proc/sys/kernel/ns_last_pid", O_WRONLY);
  if (fd >= 0)
    (void) write_all (fd, "1", 1);
}

void
mount_sandbox_filesystems (const Options *opts)
{
  /* --archive sees what Docker's cp sees of a stopped container: its files and its volumes, no kernel file systems. */
  if (!opts->archive)
    {
      mount_in_root ("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
      if (opts->rootfs == ROOTFS_FUSE)
        reset_last_pid ();
      setup_dev (opts);
      setup_sys ();
    }
  if (!opts->image_tmp && !opts->archive)
    mount_in_root ("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
  for (size_t i = 0; i < opts->n_mounts; i++)
    {
      const MountOp *m = &opts->mounts[i];
      if (m->kind == MOUNT_TMPFS)
        mount_in_root ("tmpfs", m->dest, m->flags, m->data);
      else if (m->kind == MOUNT_PROPAGATION)
        set_propagation (m->dest, m->flags);
      else if (m->kind == MOUNT_MASK)
        mask_path (m->dest);
      else if (m->kind == MOUNT_READONLY)
        make_path_readonly (m->dest);
      else
        bind_into_root (m->source, m->dest, m->kind == MOUNT_RO_BIND);
    }
}

/* pivot_root(".", ".") stacks the old root under the new one; detaching it needs no temporary directory. */
void
enter_rootfs (const Options *opts)
{
  if (fchdir (sandbox_root ()) < 0)
    die_with_error ("chdir %s", root_path (opts));
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    die_with_error ("pivot_root %s", root_path (opts));
  if (umount2 (".", MNT_DETACH) < 0)
    die_with_error ("detach the host's root");
  /* Never keep a host directory as the cwd (CVE-2024-21626). */
  if (chdir ("/") < 0)
    die_with_error ("chdir /");
  close_sandbox_root ();
  if (opts->hostname && sethostname (opts->hostname, strlen (opts->hostname)) < 0)
    die_with_error ("sethostname %s", opts->hostname);
}
