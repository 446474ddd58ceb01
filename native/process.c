/*
 * Inside the sandbox: pid 1 (forwards signals to the command, reaps every child, ends whatever the command
 * left running and exits with its status) and the command (terminal, identity, capabilities, exec).
 */
#include "helper.h"

#include <sys/resource.h>
#include "kernel.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Everything outside `caps` (--caps, decided by devbox: Docker's default set unless told otherwise) leaves the
   bounding set, so no exec can bring it back. */
void
drop_bounding_set (uint64_t caps)
{
  for (int cap = 0; cap < 64; cap++)
    if (!(caps & (UINT64_C (1) << cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      {
        if (errno == EINVAL) /* past the kernel's last capability */
          break;
        die_with_error ("drop capability %d from the bounding set", cap);
      }
}

/* Root keeps exactly `caps` (those the kernel knows); the inheritable set stays empty (CVE-2022-24769). */
static void
limit_root_caps (uint64_t caps)
{
  struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  if (syscall (SYS_capget, &header, data) < 0)
    die_with_error ("capget");
  uint64_t have = data[0].permitted | (uint64_t) data[1].permitted << 32;
  uint64_t mask = caps & have;
  data[0] = (struct __user_cap_data_struct){ .effective = (uint32_t) mask, .permitted = (uint32_t) mask, .inheritable = 0 };
  data[1] = (struct __user_cap_data_struct){ .effective = (uint32_t) (mask >> 32), .permitted = (uint32_t) (mask >> 32), .inheritable = 0 };
  if (syscall (SYS_capset, &header, data) < 0)
    die_with_error ("capset");
}

void
reset_signals (void)
{
  sigset_t none;
  sigemptyset (&none);
  if (sigprocmask (SIG_SETMASK, &none, NULL) < 0)
    die_with_error ("sigprocmask");
  /* Ignored signals survive exec; the command starts with every disposition at its default. */
  for (int sig = 1; sig < NSIG; sig++)
    (void) signal (sig, SIG_DFL); /* EINVAL for SIGKILL, SIGSTOP and libc's internal signals */
}

/* Without --tty: no controlling terminal, so TIOCSTI cannot push input into the caller's (CVE-2017-5226). */
static void
attach_terminal (int pty_slave)
{
  if (setsid () < 0)
    die_with_error ("setsid");
  if (pty_slave < 0)
    return;
  if (ioctl (pty_slave, TIOCSCTTY, 0) < 0)
    die_with_error ("make the pseudo-terminal the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (pty_slave, fd) < 0)
      die_with_error ("dup2 the pseudo-terminal");
}

/* Docker creates a missing working directory (as root, before switching user). */
static void
enter_workdir (const char *cwd)
{
  if (chdir (cwd) == 0)
    return;
  cleanup_free char *path = xstrdup (cwd);
  for (char *p = path + 1;; p++)
    if (*p == '/' || *p == '\0')
      {
        char c = *p;
        *p = '\0';
        if (mkdir (path, 0755) < 0 && errno != EEXIST)
          die_with_error ("create working directory %s", path);
        if ((*p = c) == '\0')
          break;
      }
  if (chdir (cwd) < 0)
    die_with_error ("chdir %s", cwd);
}

static void
switch_user (const Options *opts)
{
  /* EPERM with an empty list: setgroups is denied (single-id map) and there is nothing to set. */
  if (setgroups (opts->n_groups, opts->groups) < 0 && !(errno == EPERM && opts->n_groups == 0))
    die_with_error ("setgroups");
  if (setresgid (opts->gid, opts->gid, opts->gid) < 0)
    die_with_error ("setgid %u", (unsigned) opts->gid);
  if (setresuid (opts->uid, opts->uid, opts->uid) < 0) /* a non-root uid loses every capability here */
    die_with_error ("setuid %u", (unsigned) opts->uid);
  /* As Docker: a non-root user has the bounding set but no capabilities, and none ambient. */
  if (opts->uid == 0)
    limit_root_caps (opts->caps);
}

void
exec_failed (const char *cmd)
{
  int saved = errno;
  if (saved == ENOENT)
    fprintf (stderr, "devbox-helper: %s: %s\n", cmd, strchr (cmd, '/') ? "no such file or directory" : "executable file not found in $PATH");
  else
    fprintf (stderr, "devbox-helper: %s: %s\n", cmd, strerror (saved));
  _exit (saved == ENOENT ? 127 : 126);
}

/*
 * execvp, but a PATH entry that cannot be searched (a symlink loop, not a directory, no permission) is passed
 * over, as runc's lookup does: glibc's execvp gives up at the first ELOOP, so an image with one broken /usr/local
 * link could not run `sh`. Errno on return: EACCES if a candidate existed but could not be run, else ENOENT.
 */
static void
exec_in_path (char **argv, char **env)
{
  const char *name = argv[0];
  if (strchr (name, '/'))
    {
      execve (name, argv, env);
      return;
    }
  const char *path = NULL;
  for (char **e = env; *e; e++)
    if (strncmp (*e, "PATH=", 5) == 0)
      path = *e + 5;
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; /* Docker's default */
  bool denied = false;
  for (const char *dir = path;; dir++)
    {
      const char *end = strchrnul (dir, ':');
      char candidate[PATH_MAX];
      int len = snprintf (candidate, sizeof candidate, "%.*s/%s", (int) (end - dir), end == dir ? "." : dir, name);
      if (len > 0 && (size_t) len < sizeof candidate)
        {
          execve (candidate, argv, env);
          if (errno == EACCES)
            denied = true;
          else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != ENAMETOOLONG)
            return; /* it exists and cannot run (ENOEXEC, ETXTBSY, E2BIG …): that is the answer */
        }
      if (*end == '\0')
        break;
      dir = end;
    }
  errno = denied ? EACCES : ENOENT;
}

void
exec_command (const Options *opts, int pty_slave)
{
  set_fatal_hook (NULL); /* pid 1 cleans up, not the command */
  reset_signals ();
  attach_terminal (pty_slave);
  enter_workdir (opts->cwd);
  /* Before the user switch: raising a hard limit needs the namespace root's CAP_SYS_RESOURCE (within the caller's own). */
  for (size_t i = 0; i < opts->n_rlimits; i++)
    if (setrlimit (opts->rlimits[i].resource, &opts->rlimits[i].limit) < 0)
      die_with_error ("setrlimit %s", opts->rlimits[i].name);
  drop_bounding_set (opts->caps);
  switch_user (opts);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die_with_error ("prctl(PR_SET_NO_NEW_PRIVS)");
  /* No fd of ours may reach the command: one to a host directory is a way out (CVE-2024-21626). */
  if (syscall (SYS_close_range, 3U, ~0U, 0U) < 0)
    die_with_error ("close_range");
  load_seccomp (&opts->seccomp);
  exec_in_path (opts->command, opts->env); /* the container's PATH */
  exec_failed (opts->command[0]);
}

/* The signals the outer process and pid 1 pass on, plus SIGCHLD; blocked and read from a signalfd. */
void
handled_signals (sigset_t *set)
{
  static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH, SIGALRM };
  sigemptyset (set);
  sigaddset (set, SIGCHLD);
  for (size_t i = 0; i < N_ELEMENTS (forwarded); i++)
    sigaddset (set, forwarded[i]);
}

bool
pass_signal_or_reap (int sfd, pid_t command, int *status)
{
  struct signalfd_siginfo info;
  if (TEMP_FAILURE_RETRY (read (sfd, &info, sizeof info)) != sizeof info)
    die_with_error ("read signalfd");
  if (info.ssi_signo != SIGCHLD)
    {
      (void) kill (command, (int) info.ssi_signo); /* ESRCH: it is exiting, SIGCHLD follows */
      return false;
    }
  int wstatus;
  pid_t pid;
  while ((pid = waitpid (-1, &wstatus, WNOHANG)) > 0)
    if (pid == command)
      {
        *status = exit_status_of (wstatus);
        return true;
      }
  return false;
}

/* Forwards signals to the command and reaps every child (orphans re-parent to us) until the command exits. */
static int
wait_for_command (int sfd, pid_t command)
{
  int status;
  while (!pass_signal_or_reap (sfd, command, &status))
    ;
  return status;
}

/*
 * Entering a process's namespaces needs ptrace access to it, which a non-dumpable pid 1 refuses. Before
 * becoming dumpable it lets go of everything a process in the sandbox could reach through it: its stdio
 * (host files) becomes the sandbox's /dev/null, and it keeps only the capabilities the sandbox's root has.
 */
void
allow_joins (const Options *opts)
{
  cleanup_fd int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    die_with_error ("open /dev/null in the sandbox");
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (null, fd) < 0)
      die_with_error ("dup2 /dev/null");
  drop_bounding_set (opts->caps);
  limit_root_caps (opts->caps);
  if (prctl (PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
    die_with_error ("prctl(PR_SET_DUMPABLE)");
}

static char *title_start, *title_end;

void
remember_command_line (int argc, char **argv)
{
  title_start = argv[0];
  title_end = argv[argc - 1] + strlen (argv[argc - 1]) + 1;
}

/*
 * pid 1's command line names host paths (layers, the store, binds) that `ps` inside would show. Once argv is
 * no longer needed (opts points into it), its memory is overwritten: /proc/1/cmdline reads "devbox-init".
 */
void
hide_command_line (void)
{
  static const char title[] = "devbox-init";
  if (title_start == NULL || (size_t) (title_end - title_start) < sizeof title)
    return;
  memset (title_start, 0, (size_t) (title_end - title_start));
  memcpy (title_start, title, sizeof title);
}

/*
 * pid 1 needs nothing of the environment it was started with (the command gets exactly --setenv, and
 * fuse-overlayfs none), and that memory is what /proc/1/environ shows: it is zeroed, not only forgotten.
 */
void
wipe_environment (void)
{
  extern char **environ;
  static char *empty[] = { NULL };
  for (char **entry = environ; *entry; entry++)
    memset (*entry, 0, strlen (*entry));
  environ = empty;
}

/* --keep-alive: reap whatever joined processes leave behind until told to stop (devbox stop sends SIGTERM). */
static void
keep_alive (int sfd)
{
  for (;;)
    {
      struct signalfd_siginfo info;
      if (TEMP_FAILURE_RETRY (read (sfd, &info, sizeof info)) != sizeof info)
        die_with_error ("read signalfd");
      switch (info.ssi_signo)
        {
        case SIGCHLD:
          while (waitpid (-1, NULL, WNOHANG) > 0)
            ;
          break;
        case SIGTERM:
        case SIGINT:
        case SIGHUP:
        case SIGQUIT:
          return;
        default:
          break; /* nothing to forward them to */
        }
    }
}

/* End what the command left behind (daemons, fuse-overlayfs) and reap it all. */
void
end_all_processes (void)
{
  (void) kill (-1, SIGKILL); /* ESRCH: nothing left */
  while (waitpid (-1, NULL, 0) > 0 || errno == EINTR)
    ;
}

int
init_signalfd (void)
{
  sigset_t set;
  handled_signals (&set);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    die_with_error ("sigprocmask");
  int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    die_with_error ("signalfd");
  return sfd;
}

int
run_init (const Options *opts, Sandbox *sb)
{
  if (opts->container.dir)
    return run_container_init (opts, sb);
  cleanup_fd int sfd = init_signalfd ();
  if (opts->keep_alive)
    {
      /* Joinable before the pid is announced: a join right after it must not find pid 1 undumpable. */
      allow_joins (opts);
      /* Before the announcement too, so no joined `ps` ever sees host paths; a memset, no system call. */
      hide_command_line ();
      if (write_byte (sb->ready_fd, 'r') < 0)
        die_with_error ("tell the outer process the sandbox is up");
      close (sb->ready_fd);
      keep_alive (sfd);
      end_all_processes ();
      return 0;
    }
  pid_t command = fork ();
  if (command < 0)
    die_with_error ("fork the command");
  if (command == 0)
    exec_command (opts, sb->pty_slave);
  if (sb->pty_slave >= 0)
    close (sb->pty_slave); /* the command's alone: when it and its children close it, the relay sees EOF */
  if (write_byte (sb->ready_fd, 'r') < 0)
    die_with_error ("tell the outer process the sandbox is up");
  close (sb->ready_fd);
  hide_command_line (); /* once the command runs (it has its own copy of opts): off the setup path */
  int status = wait_for_command (sfd, command);
  end_all_processes ();
  if (sb->remove_parent >= 0)
    remove_tree_at (sb->remove_parent, sb->remove_name);
  return status;
}
