/*
 * devbox-helper: runs one command in a rootless sandbox described entirely by argv (bubblewrap-style).
 * Parse everything, validate, then act; see README.md for the interface and the order of the steps.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
take (int argc, char **argv, int *i, const char *option)
{
  if (*i + 1 >= argc)
    die ("%s takes an argument", option);
  return argv[++*i];
}

static void
add_mount (Options *opts, MountKind kind, const char *source, const char *dest)
{
  if (dest[0] != '/')
    die ("mount destination must be an absolute path: \"%s\"", dest);
  MountOp *grown = realloc (opts->mounts, (opts->n_mounts + 1) * sizeof *grown);
  if (grown == NULL)
    die ("out of memory");
  opts->mounts = grown;
  opts->mounts[opts->n_mounts++] = (MountOp){ kind, source, dest };
}

static void
set_rootfs (Options *opts, RootfsKind kind, const char *option)
{
  if (opts->rootfs != ROOTFS_NONE)
    die ("%s: only one of --overlay, --fuse-overlay, --rootfs may be given", option);
  opts->rootfs = kind;
}

static void
parse_groups (const char *text, Options *opts)
{
  cleanup_free char *copy = xstrdup (text);
  size_t n = 1;
  for (const char *p = text; *p; p++)
    n += *p == ',';
  opts->groups = xcalloc (n, sizeof (gid_t));
  char *save = NULL;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    opts->groups[opts->n_groups++] = (gid_t) parse_number (tok, 0xfffffffeUL, "--groups");
}

static void
parse_args (int argc, char **argv, Options *opts)
{
  opts->env = xcalloc ((size_t) argc + 1, sizeof (char *));
  opts->cwd = "/";
  int i;
  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      else if (strcmp (a, "--uid-map") == 0)
        parse_id_map (take (argc, argv, &i, a), &opts->uid_map, a);
      else if (strcmp (a, "--gid-map") == 0)
        parse_id_map (take (argc, argv, &i, a), &opts->gid_map, a);
      else if (strcmp (a, "--unshare-net") == 0)
        opts->unshare_net = true;
      else if (strcmp (a, "--no-pivot") == 0)
        opts->no_pivot = true;
      else if (strcmp (a, "--tty") == 0)
        opts->tty = true;
      else if (strcmp (a, "--overlay") == 0 || strcmp (a, "--fuse-overlay") == 0)
        {
          bool fuse = a[2] == 'f';
          set_rootfs (opts, fuse ? ROOTFS_FUSE : ROOTFS_OVERLAY, a);
          if (fuse)
            opts->fuse_program = take (argc, argv, &i, a);
          opts->lowerdirs = take (argc, argv, &i, a);
          opts->upperdir = take (argc, argv, &i, a);
          opts->workdir = take (argc, argv, &i, a);
        }
      else if (strcmp (a, "--rootfs") == 0)
        {
          set_rootfs (opts, ROOTFS_DIRECTORY, a);
          opts->rootfs_dir = take (argc, argv, &i, a);
        }
      else if (strcmp (a, "--mountpoint") == 0)
        opts->mountpoint = take (argc, argv, &i, a);
      else if (strcmp (a, "--bind") == 0 || strcmp (a, "--ro-bind") == 0)
        {
          const char *src = take (argc, argv, &i, a);
          add_mount (opts, a[2] == 'r' ? MOUNT_RO_BIND : MOUNT_BIND, src, take (argc, argv, &i, a));
        }
      else if (strcmp (a, "--tmpfs") == 0)
        add_mount (opts, MOUNT_TMPFS, NULL, take (argc, argv, &i, a));
      else if (strcmp (a, "--hostname") == 0)
        opts->hostname = take (argc, argv, &i, a);
      else if (strcmp (a, "--chdir") == 0)
        opts->cwd = take (argc, argv, &i, a);
      else if (strcmp (a, "--setenv") == 0)
        {
          const char *key = take (argc, argv, &i, a);
          const char *value = take (argc, argv, &i, a);
          if (key[0] == '\0' || strchr (key, '='))
            die ("--setenv: invalid variable name \"%s\"", key);
          opts->env[opts->n_env++] = xasprintf ("%s=%s", key, value);
        }
      else if (strcmp (a, "--uid") == 0)
        opts->uid = (uid_t) parse_number (take (argc, argv, &i, a), 0xfffffffeUL, a);
      else if (strcmp (a, "--gid") == 0)
        opts->gid = (gid_t) parse_number (take (argc, argv, &i, a), 0xfffffffeUL, a);
      else if (strcmp (a, "--groups") == 0)
        parse_groups (take (argc, argv, &i, a), opts);
      else if (strcmp (a, "--remove-after") == 0)
        opts->remove_after = take (argc, argv, &i, a);
      else
        die ("unknown option \"%s\"", a);
    }
  opts->command = i < argc ? &argv[i] : NULL;
}

static void
validate (const Options *opts)
{
  if (opts->uid_map.n == 0 || opts->gid_map.n == 0)
    die ("--uid-map and --gid-map are required");
  if ((opts->rootfs == ROOTFS_OVERLAY || opts->rootfs == ROOTFS_FUSE) && opts->mountpoint == NULL)
    die ("--overlay and --fuse-overlay need --mountpoint");
  if (opts->no_pivot)
    {
      if (opts->rootfs == ROOTFS_FUSE || opts->rootfs == ROOTFS_DIRECTORY || opts->n_mounts || opts->tty || opts->remove_after)
        die ("--no-pivot takes only the id maps and --overlay");
      return;
    }
  if (opts->rootfs == ROOTFS_NONE)
    die ("a root file system is required: --overlay, --fuse-overlay or --rootfs");
  if (opts->command == NULL)
    die ("no command given after --");
  if (opts->cwd[0] != '/')
    die ("--chdir must be an absolute path: \"%s\"", opts->cwd);
  if (!id_map_contains (&opts->uid_map, opts->uid) || !id_map_contains (&opts->gid_map, opts->gid))
    die ("user %u:%u is not mapped in the user namespace", (unsigned) opts->uid, (unsigned) opts->gid);
}

/* fork() into new namespaces: a raw clone with no new stack behaves like fork on every architecture. */
static pid_t
clone_into_namespaces (int flags)
{
  return (pid_t) syscall (SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static int
wait_status (pid_t pid)
{
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      die_with_error ("waitpid");
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* In the child: wait until the parent has written the id maps (EOF means the parent died). */
static void
await_id_maps (int sync_fd)
{
  char byte;
  ssize_t n;
  do
    n = read (sync_fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit (EXIT_SETUP_FAILED);
  close (sync_fd);
}

/* --remove-after also applies when setting the sandbox up fails: nothing half-made stays in the store. */
static int removal_parent = -1;
static const char *removal_name;

static const char *removal_mountpoint;

static void
remove_on_failure (void)
{
  if (removal_mountpoint)
    umount2 (removal_mountpoint, MNT_DETACH);
  remove_tree_at (removal_parent, removal_name);
}

static int
run_child (const Options *opts, int sync_fd, int console_socket)
{
  make_child_fatal_on_parent_death ();
  await_id_maps (sync_fd);
  become_namespace_root (opts);
  if (opts->no_pivot)
    {
      if (opts->rootfs == ROOTFS_OVERLAY)
        mount_rootfs (opts);
      if (opts->command == NULL)
        return 0;
      execvp (opts->command[0], opts->command);
      die_with_error ("exec %s", opts->command[0]);
    }
  /* Out of the caller's session and process group: terminal signals reach the sandbox only through the
     outer process, once, instead of twice. */
  if (setsid () < 0)
    die_with_error ("setsid");
  cleanup_free char *remove_name = NULL;
  int remove_parent = -1;
  if (opts->remove_after)
    {
      remove_parent = open_remove_target (opts->remove_after, &remove_name);
      removal_parent = remove_parent;
      removal_name = remove_name;
      removal_mountpoint = opts->rootfs == ROOTFS_DIRECTORY ? opts->rootfs_dir : opts->mountpoint;
      set_fatal_hook (remove_on_failure);
    }
  mount_rootfs (opts);
  mount_sandbox_filesystems (opts);
  enter_rootfs (opts);
  return run_init (opts, console_socket, remove_parent, remove_name);
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "fsops") == 0)
    return fsops_main (argc - 2, argv + 2);

  Options opts = { 0 };
  parse_args (argc, argv, &opts);
  validate (&opts);

  /* devbox may be killed with SIGKILL: the sandbox must not outlive it. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_with_error ("prctl(PR_SET_PDEATHSIG)");

  int sync_pipe[2];
  if (pipe2 (sync_pipe, O_CLOEXEC) < 0)
    die_with_error ("pipe2");
  int console[2] = { -1, -1 };
  if (opts.tty && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
    die_with_error ("socketpair");

  int flags = CLONE_NEWUSER | CLONE_NEWNS;
  if (!opts.no_pivot)
    flags |= CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (opts.unshare_net ? CLONE_NEWNET : 0);
  pid_t child = clone_into_namespaces (flags);
  if (child < 0)
    die_with_error ("clone (new user namespace)");
  if (child == 0)
    {
      close (sync_pipe[1]);
      if (console[0] >= 0)
        close (console[0]);
      _exit (run_child (&opts, sync_pipe[0], console[1]));
    }
  close (sync_pipe[0]);
  if (console[1] >= 0)
    close (console[1]);
  write_id_maps (child, &opts);
  if (write_all (sync_pipe[1], "1", 1) < 0)
    die_with_error ("signal the sandbox to start");
  close (sync_pipe[1]);
  if (opts.no_pivot)
    return wait_status (child);
  return supervise (child, console[0]);
}
