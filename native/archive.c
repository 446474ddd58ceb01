/*
 * --archive: the helper's own file operations in a container's root, behind `devbox cp` and `devbox export`.
 * They run where the container's files are: in its mount namespace (--join for a running container), or in
 * a sandbox set up for the purpose with no command (a stopped one), as root of its user namespace. No code
 * is loaded from the container: no exec, no name lookup (CVE-2019-14271). Every path is resolved inside the
 * root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and every name below it by fd with O_NOFOLLOW,
 * so a symlink the container swaps in during the copy leads nowhere outside it (CVE-2018-15664).
 *
 *   stat PATH                     PATH without following it, then (for a symlink) what it leads to
 *   get [--follow] [--one-file-system] PATH NAME   PATH as a tar on stdout, its top entry called NAME
 *                                 ("" leaves the top out: its children are at the archive's root)
 *   put PATH UID GID              extract the tar on stdin into directory PATH, everything owned by UID:GID
 *
 * Exit status 0, 1 (one line on stderr), or 2 when the PATH of get does not exist.
 */
#include "helper.h"
#include "tar.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define EXIT_NOT_FOUND 2

static const char *const OPS[] = { "stat", "get", "put" };

void
validate_archive_command (char **command)
{
  if (command == NULL || command[0] == NULL)
    die ("--archive needs an operation after --: stat, get or put");
  size_t n = 0;
  while (command[n])
    n++;
  const char *op = command[0];
  size_t paths = 0;
  if (strcmp (op, "stat") == 0)
    paths = n == 2 ? 1 : 0;
  else if (strcmp (op, "get") == 0)
    {
      size_t i = 1;
      while (i < n && (strcmp (command[i], "--follow") == 0 || strcmp (command[i], "--one-file-system") == 0))
        i++;
      paths = n - i == 2 ? 1 : 0;
    }
  else if (strcmp (op, "put") == 0)
    {
      paths = n == 4 ? 1 : 0;
      if (paths)
        {
          parse_number (command[2], 0xfffffffeUL, "put UID");
          parse_number (command[3], 0xfffffffeUL, "put GID");
        }
    }
  else
    die ("--archive: unknown operation \"%s\" (%s, %s or %s)", op, OPS[0], OPS[1], OPS[2]);
  if (!paths)
    die ("--archive %s: wrong arguments (see native/README.md)", op);
}

/* tar_clean_name, or one line naming the entry when it leads out of the destination. */
static char *
clean_relative (const char *name, const char *what)
{
  char *clean = tar_clean_name (name);
  if (clean == NULL)
    die ("%s \"%s\" leads out of the destination", what, name);
  return clean;
}

static char *
join_path (const char *dir, const char *name)
{
  if (!*dir)
    return xstrdup (name);
  if (!*name)
    return xstrdup (dir);
  return xasprintf ("%s%s%s", dir, dir[strlen (dir) - 1] == '/' ? "" : "/", name);
}

/* stat */

static void
print_stat (const struct stat *st, const char *link)
{
  printf ("%o %lld %lld ", (unsigned) st->st_mode, (long long) st->st_size, (long long) st->st_mtim.tv_sec);
  if (!link)
    fputs ("-", stdout);
  for (const unsigned char *p = (const unsigned char *) link; p && *p; p++)
    printf ("%02x", *p);
  putchar ('\n');
}

static char *
read_link_at (int dirfd, const char *name, size_t size_hint)
{
  size_t cap = size_hint + 1 > 256 ? size_hint + 1 : 256;
  for (;;)
    {
      char *buf = xcalloc (cap + 1, 1);
      ssize_t n = readlinkat (dirfd, name, buf, cap);
      if (n < 0)
        die_with_error ("readlink %s", name);
      if ((size_t) n < cap)
        return buf;
      free (buf);
      cap *= 2;
    }
}

static int
op_stat (const char *path)
{
  cleanup_fd int fd = open_in_root (path, O_PATH | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstatat (fd, "", &st, AT_EMPTY_PATH) < 0)
    {
      if (errno != ENOENT && errno != ENOTDIR)
        die_with_error ("stat %s", path);
      puts ("missing");
      return 0;
    }
  cleanup_free char *link = S_ISLNK (st.st_mode) ? read_link_at (fd, "", (size_t) st.st_size) : NULL;
  print_stat (&st, link);
  if (!link)
    return 0;
  cleanup_fd int target = open_in_root (path, O_PATH);
  if (target < 0 || fstatat (target, "", &st, AT_EMPTY_PATH) < 0)
    puts ("missing");
  else
    print_stat (&st, NULL);
  return 0;
}

/* get */

typedef struct
{
  dev_t dev;
  ino_t ino;
  char *name;
} LinkSeen;

typedef struct
{
  bool one_fs;
  dev_t top_dev;
  unsigned long long top_mount;
  LinkSeen *links;
  size_t n_links;
} Walk;

/* The mount an entry is on; 0 when the kernel cannot say (before 5.8). */
static unsigned long long
mount_id (int dirfd, const char *name)
{
  struct statx stx;
  if (statx (dirfd, name, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH), STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
    return 0;
  return stx.stx_mnt_id;
}

/* With --one-file-system, another mount (/proc, a volume, a bind) shows as its mount point only. */
static bool
crosses_mount (const Walk *w, int dirfd, const char *name, const struct stat *st)
{
  if (!w->one_fs)
    return false;
  unsigned long long id = mount_id (dirfd, name);
  return id ? id != w->top_mount : st->st_dev != w->top_dev;
}

/* procfs, sysfs and the like in a running container: their files are the kernel's, not the container's. */
static bool
is_kernel_file_system (int fd)
{
  static const long kinds[] = { PROC_SUPER_MAGIC, SYSFS_MAGIC, DEVPTS_SUPER_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
                                0x19800202 /* mqueue */, SECURITYFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC, BPF_FS_MAGIC };
  struct statfs sfs;
  if (fstatfs (fd, &sfs) < 0)
    return false;
  for (size_t i = 0; i < N_ELEMENTS (kinds); i++)
    if ((long) sfs.f_type == kinds[i])
      return true;
  return false;
}

static TarEntry
entry_for (const struct stat *st, const char *arcname, char type)
{
  return (TarEntry){
    .name = (char *) arcname,
    .type = type,
    .mode = st->st_mode & 07777,
    .uid = st->st_uid,
    .gid = st->st_gid,
    .mtime = st->st_mtim.tv_sec,
    .devmajor = major (st->st_rdev),
    .devminor = minor (st->st_rdev),
  };
}

/* A name opened by fd must still be what fstatat saw: the container may swap it meanwhile. */
static int
open_same (int dirfd, const char *name, int flags, const struct stat *seen)
{
  int fd = openat (dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat now;
  if (fd < 0)
    return -1;
  if (fstat (fd, &now) < 0 || now.st_dev != seen->st_dev || now.st_ino != seen->st_ino || (now.st_mode & S_IFMT) != (seen->st_mode & S_IFMT))
    {
      close (fd);
      errno = ESTALE;
      return -1;
    }
  return fd;
}

static void emit_directory (Walk *w, int dirfd, const struct stat *st, const char *arcname);

static void
emit_file (Walk *w, int fd, const struct stat *st, const char *arcname)
{
  if (st->st_nlink > 1)
    {
      for (size_t i = 0; i < w->n_links; i++)
        if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
          {
            TarEntry e = entry_for (st, arcname, TAR_HARDLINK);
            e.linkname = w->links[i].name;
            tar_write_header (STDOUT_FILENO, &e);
            return;
          }
      w->links = xrealloc (w->links, w->n_links + 1, sizeof *w->links);
      w->links[w->n_links++] = (LinkSeen){ st->st_dev, st->st_ino, xstrdup (arcname) };
    }
  TarEntry e = entry_for (st, arcname, TAR_REGULAR);
  e.size = fd < 0 ? 0 : (unsigned long long) st->st_size;
  tar_write_header (STDOUT_FILENO, &e);
  tar_write_data (STDOUT_FILENO, fd, e.size, arcname);
}

/* One entry of a directory being archived, by name: whatever it is now, never followed. */
static void
emit_child (Walk *w, int dirfd, const char *name, const char *arcname)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return; /* removed while the directory was read: a running container's files change */
      die_with_error ("stat %s", arcname);
    }
  bool has_content = S_ISDIR (st.st_mode) || S_ISREG (st.st_mode);
  bool mount_point = has_content && crosses_mount (w, dirfd, name, &st);
  cleanup_fd int fd = -1;
  if (has_content && !mount_point)
    fd = open_same (dirfd, name, S_ISDIR (st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK, &st);
  if (has_content && !mount_point && fd < 0)
    {
      if (errno == ENOENT || errno == ESTALE || errno == ELOOP)
        {
          warn_msg ("%s changed while it was copied: left out", arcname);
          return;
        }
      die_with_error ("open %s", arcname);
    }
  if (S_ISDIR (st.st_mode))
    {
      if (mount_point || is_kernel_file_system (fd))
        {
          cleanup_free char *dirname = xasprintf ("%s/", arcname);
          TarEntry e = entry_for (&st, dirname, TAR_DIRECTORY);
          tar_write_header (STDOUT_FILENO, &e);
        }
      else
        emit_directory (w, fd, &st, arcname);
    }
  else if (S_ISREG (st.st_mode))
    emit_file (w, fd, &st, arcname);
  else if (S_ISLNK (st.st_mode))
    {
      cleanup_free char *link = read_link_at (dirfd, name, (size_t) st.st_size);
      TarEntry e = entry_for (&st, arcname, TAR_SYMLINK);
      e.linkname = link;
      tar_write_header (STDOUT_FILENO, &e);
    }
  else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) || S_ISFIFO (st.st_mode))
    {
      TarEntry e = entry_for (&st, arcname, S_ISCHR (st.st_mode) ? TAR_CHAR : S_ISBLK (st.st_mode) ? TAR_BLOCK : TAR_FIFO);
      tar_write_header (STDOUT_FILENO, &e);
    }
  /* sockets are left out, as by Docker */
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* A directory (already open) and everything below it, in name order; "" as arcname: only its children. */
static void
emit_directory (Walk *w, int dirfd, const struct stat *st, const char *arcname)
{
  if (*arcname)
    {
      cleanup_free char *name = xasprintf ("%s/", arcname);
      TarEntry e = entry_for (st, name, TAR_DIRECTORY);
      tar_write_header (STDOUT_FILENO, &e);
    }
  int listed = dup (dirfd);
  DIR *dir = listed < 0 ? NULL : fdopendir (listed);
  if (dir == NULL)
    die_with_error ("read directory %s", *arcname ? arcname : "/");
  char **names = NULL;
  size_t n = 0;
  struct dirent *d;
  while ((errno = 0, d = readdir (dir)) != NULL)
    {
      if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
        continue;
      names = xrealloc (names, n + 1, sizeof *names);
      names[n++] = xstrdup (d->d_name);
    }
  if (errno)
    die_with_error ("read directory %s", *arcname ? arcname : "/");
  closedir (dir);
  qsort (names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *child = join_path (arcname, names[i]);
      emit_child (w, dirfd, names[i], child);
      free (names[i]);
    }
  free (names);
}

static int
op_get (char **args)
{
  Walk w = { 0 };
  bool follow = false;
  for (; args[0][0] == '-' && args[0][1] == '-'; args++)
    {
      follow = follow || strcmp (args[0], "--follow") == 0;
      w.one_fs = w.one_fs || strcmp (args[0], "--one-file-system") == 0;
    }
  const char *path = args[0];
  const char *arcname = args[1];
  cleanup_fd int top = open_in_root (path, O_PATH | (follow ? 0 : O_NOFOLLOW));
  struct stat st;
  if (top < 0 || fstatat (top, "", &st, AT_EMPTY_PATH) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        {
          fprintf (stderr, "devbox-helper: %s: no such file or directory\n", path);
          return EXIT_NOT_FOUND;
        }
      die_with_error ("open %s", path);
    }
  w.top_dev = st.st_dev;
  w.top_mount = mount_id (top, "");
  if (S_ISDIR (st.st_mode))
    {
      cleanup_fd int dir = openat (top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0)
        die_with_error ("open %s", path);
      emit_directory (&w, dir, &st, arcname);
    }
  else if (!*arcname)
    die ("%s is not a directory", path);
  else if (S_ISREG (st.st_mode))
    {
      /* O_PATH cannot be read: the same path again, readable, and it must be the same file. */
      cleanup_fd int fd = open_in_root (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
      struct stat now;
      if (fd < 0 || fstat (fd, &now) < 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
        die ("%s changed while it was copied", path);
      emit_file (&w, fd, &st, arcname);
    }
  else if (S_ISLNK (st.st_mode))
    {
      cleanup_free char *link = read_link_at (top, "", (size_t) st.st_size);
      TarEntry e = entry_for (&st, arcname, TAR_SYMLINK);
      e.linkname = link;
      tar_write_header (STDOUT_FILENO, &e);
    }
  else if (!S_ISSOCK (st.st_mode))
    {
      TarEntry e = entry_for (&st, arcname, S_ISCHR (st.st_mode) ? TAR_CHAR : S_ISBLK (st.st_mode) ? TAR_BLOCK : TAR_FIFO);
      tar_write_header (STDOUT_FILENO, &e);
    }
  tar_write_end (STDOUT_FILENO);
  for (size_t i = 0; i < w.n_links; i++)
    free (w.links[i].name);
  free (w.links);
  return 0;
}

/* put */

typedef struct
{
  char *path;
  long long mtime;
} DirTime;

static void
set_owner_mode_times (int fd, const TarEntry *e, uid_t uid, gid_t gid, bool times)
{
  if (fchown (fd, uid, gid) < 0)
    die_with_error ("chown %s", e->name);
  /* After chown, which clears setuid and setgid. */
  if (fchmod (fd, e->mode) < 0)
    die_with_error ("chmod %s", e->name);
  struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };
  if (times && futimens (fd, ts) < 0)
    die_with_error ("set the times of %s", e->name);
}

/* Makes room for the entry `base` in `parent`: Docker's rules, never replacing a directory by a file or back. */
static bool
clear_place (int parent, const char *base, const TarEntry *e)
{
  struct stat st;
  if (fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return false;
      die_with_error ("stat %s", e->name);
    }
  bool is_dir = S_ISDIR (st.st_mode);
  if (is_dir && e->type != TAR_DIRECTORY)
    die ("cannot overwrite directory \"%s\" with non-directory", e->name);
  if (!is_dir && e->type == TAR_DIRECTORY)
    die ("cannot overwrite non-directory \"%s\" with directory", e->name);
  if (!is_dir && unlinkat (parent, base, 0) < 0)
    die_with_error ("remove %s", e->name);
  return is_dir;
}

static void
extract_entry (const char *dest, const TarEntry *e, uid_t uid, gid_t gid, DirTime **dirs, size_t *n_dirs)
{
  cleanup_free char *rel = clean_relative (e->name, "tar entry");
  if (!*rel)
    {
      tar_read_data (STDIN_FILENO, -1, e->data_size, e->name); /* "./": the destination itself, kept as it is */
      return;
    }
  char *slash = strrchr (rel, '/');
  const char *base = slash ? slash + 1 : rel;
  if (slash)
    *slash = '\0'; /* rel is now the parent's relative path */
  cleanup_free char *parent_path = slash ? join_path (dest, rel) : xstrdup (dest);
  /* Missing parents are made (owned by the container's root, as Docker makes them); links on the way are followed inside the root. */
  cleanup_fd int parent = open_or_create_in_root (parent_path, true);
  if (parent < 0)
    die_with_error ("open %s in the container", parent_path);
  cleanup_fd int fd = -1;
  switch (e->type)
    {
    case TAR_DIRECTORY:
      if (!clear_place (parent, base, e) && mkdirat (parent, base, 0700) < 0)
        die_with_error ("mkdir %s", e->name);
      fd = openat (parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        die_with_error ("open %s", e->name);
      set_owner_mode_times (fd, e, uid, gid, false);
      /* Times last: what is extracted into it changes them. */
      *dirs = xrealloc (*dirs, *n_dirs + 1, sizeof **dirs);
      (*dirs)[(*n_dirs)++] = (DirTime){ join_path (parent_path, base), e->mtime };
      break;
    case TAR_REGULAR:
      clear_place (parent, base, e);
      fd = openat (parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        die_with_error ("create %s", e->name);
      tar_read_data (STDIN_FILENO, fd, e->data_size, e->name);
      set_owner_mode_times (fd, e, uid, gid, true);
      return;
    case TAR_SYMLINK:
    case TAR_FIFO:
      {
        clear_place (parent, base, e);
        if (e->type == TAR_SYMLINK ? symlinkat (e->linkname, parent, base) : mknodat (parent, base, S_IFIFO | e->mode, 0))
          die_with_error ("create %s", e->name);
        if (fchownat (parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          die_with_error ("chown %s", e->name);
        struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };
        if (utimensat (parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
          die_with_error ("set the times of %s", e->name);
        break;
      }
    case TAR_HARDLINK:
      {
        cleanup_free char *target = clean_relative (e->linkname, "hard link target");
        if (!*target)
          die ("hard link \"%s\" points at the destination itself", e->name);
        char *tslash = strrchr (target, '/');
        const char *tbase = tslash ? tslash + 1 : target;
        if (tslash)
          *tslash = '\0';
        cleanup_free char *tparent_path = tslash ? join_path (dest, target) : xstrdup (dest);
        cleanup_fd int tparent = open_in_root (tparent_path, O_PATH | O_DIRECTORY);
        clear_place (parent, base, e);
        if (tparent < 0 || linkat (tparent, tbase, parent, base, 0) < 0)
          die_with_error ("hard link %s to %s", e->name, e->linkname);
        break;
      }
    case TAR_CHAR:
    case TAR_BLOCK:
      /* mknod of a device is not allowed in a user namespace; rootless Docker and podman skip them too. */
      warn_msg ("%s: a device node, left out (a user namespace cannot create one)", e->name);
      break;
    default:
      warn_msg ("%s: tar entry type '%c' is not supported, left out", e->name, e->type);
      break;
    }
  tar_read_data (STDIN_FILENO, -1, e->data_size, e->name);
}

static int
op_put (char **args)
{
  const char *dest = args[0];
  uid_t uid = (uid_t) parse_number (args[1], 0xfffffffeUL, "put UID");
  gid_t gid = (gid_t) parse_number (args[2], 0xfffffffeUL, "put GID");
  cleanup_fd int dir = open_in_root (dest, O_PATH);
  struct stat st;
  if (dir < 0 || fstatat (dir, "", &st, AT_EMPTY_PATH) < 0)
    die_with_error ("%s", dest);
  if (!S_ISDIR (st.st_mode))
    die ("%s: extraction point is not a directory", dest);
  umask (0);
  DirTime *dirs = NULL;
  size_t n_dirs = 0;
  TarEntry e = { 0 };
  while (tar_read_header (STDIN_FILENO, &e))
    extract_entry (dest, &e, uid, gid, &dirs, &n_dirs);
  tar_entry_clear (&e);
  for (size_t i = n_dirs; i-- > 0;)
    {
      cleanup_fd int fd = open_in_root (dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      struct timespec ts[2] = { { .tv_sec = dirs[i].mtime }, { .tv_sec = dirs[i].mtime } };
      if (fd >= 0)
        (void) futimens (fd, ts); /* gone or replaced since: nothing to date */
      free (dirs[i].path);
    }
  free (dirs);
  /* Whatever follows the end-of-archive marker (a writer's padding) is read, so the writer never sees EPIPE. */
  char sink[4096];
  while (TEMP_FAILURE_RETRY (read (STDIN_FILENO, sink, sizeof sink)) > 0)
    ;
  return 0;
}

int
run_archive (const Options *opts)
{
  set_die_status (1);
  /* Docker's cp runs as root with every file capability: reading any file of the container, extracting with its
     owners and modes. Those, whatever --caps says; nothing of the container runs with them. */
  Options own = *opts;
  own.caps = (UINT64_C (1) << CAP_CHOWN) | (UINT64_C (1) << CAP_DAC_OVERRIDE) | (UINT64_C (1) << CAP_DAC_READ_SEARCH) | (UINT64_C (1) << CAP_FOWNER)
             | (UINT64_C (1) << CAP_FSETID);
  prepare_process (&own, -1);
  use_current_root ();
  char **command = opts->command;
  int status;
  if (strcmp (command[0], "stat") == 0)
    status = op_stat (command[1]);
  else if (strcmp (command[0], "get") == 0)
    status = op_get (command + 1);
  else
    status = op_put (command + 1);
  if (fflush (stdout) != 0)
    die_with_error ("write the output");
  return status;
}
