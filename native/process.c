/*
 * Inside the sandbox: pid 1 (reaps every child, forwards signals to the command, exits with its status) and
 * the command itself (identity, capabilities, no_new_privs, clean fds, exec).
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals pid 1 passes on to the command. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM };

static sigset_t
init_signal_set (void)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaddset (&set, forwarded[i]);
  return set;
}

void
make_child_fatal_on_parent_death (void)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_with_error ("prctl(PR_SET_PDEATHSIG)");
}

/* Docker's default capability set for root; everything else leaves the bounding set. */
static const int default_caps[] = {
  CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
  CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

static bool
is_default_cap (int cap)
{
  for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
    if (default_caps[i] == cap)
      return true;
  return false;
}

static void
drop_bounding_caps (void)
{
  for (int cap = 0; cap <= 63; cap++)
    {
      if (is_default_cap (cap))
        continue;
      if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        {
          if (errno == EINVAL) /* past the kernel's last capability */
            break;
          die_with_error ("drop capability %d", cap);
        }
    }
}

static void
limit_root_caps (void)
{
  struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };
  for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
    {
      int cap = default_caps[i];
      data[cap / 32].effective |= 1U << (cap % 32);
      data[cap / 32].permitted |= 1U << (cap % 32);
      data[cap / 32].inheritable |= 1U << (cap % 32);
    }
  if (syscall (SYS_capset, &header, data) < 0)
    die_with_error ("capset");
}

static void
attach_terminal (const char *pty_slave)
{
  if (setsid () < 0)
    die_with_error ("setsid");
  if (pty_slave == NULL)
    return; /* no controlling terminal: TIOCSTI cannot reach the caller's terminal (CVE-2017-5226) */
  int fd = open (pty_slave, O_RDWR | O_NOCTTY);
  if (fd < 0)
    die_with_error ("open %s", pty_slave);
  if (ioctl (fd, TIOCSCTTY, 0) < 0)
    die_with_error ("TIOCSCTTY %s", pty_slave);
  for (int target = 0; target < 3; target++)
    if (dup2 (fd, target) < 0)
      die_with_error ("dup2 terminal");
  if (fd > 2)
    close (fd);
}

/* Docker creates a missing working directory (as root, before switching user). */
static void
enter_workdir (const char *cwd)
{
  if (chdir (cwd) == 0)
    return;
  cleanup_free char *path = xstrdup (cwd);
  for (char *p = path + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (path, 0755) < 0 && errno != EEXIST)
          die_with_error ("create working directory %s", path);
        *p = '/';
      }
  if (mkdir (path, 0755) < 0 && errno != EEXIST)
    die_with_error ("create working directory %s", path);
  if (chdir (cwd) < 0)
    die_with_error ("chdir %s", cwd);
}

static void
switch_user (const Options *opts)
{
  if (setgroups (opts->n_groups, opts->groups) < 0 && !(errno == EPERM && opts->n_groups == 0))
    die_with_error ("setgroups");
  if (setresgid (opts->gid, opts->gid, opts->gid) < 0)
    die_with_error ("setgid %u", (unsigned) opts->gid);
  if (setresuid (opts->uid, opts->uid, opts->uid) < 0)
    die_with_error ("setuid %u", (unsigned) opts->uid);
  if (opts->uid == 0)
    limit_root_caps ();
}

void
exec_command (const Options *opts, const char *pty_slave)
{
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  attach_terminal (pty_slave);
  enter_workdir (opts->cwd);
  drop_bounding_caps ();
  switch_user (opts);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die_with_error ("prctl(PR_SET_NO_NEW_PRIVS)");
  /* Nothing of ours may leak into the command. */
  if (syscall (SYS_close_range, 3U, ~0U, 0U) < 0)
    die_with_error ("close_range");
  extern char **environ;
  environ = opts->env; /* execvp searches the container's PATH */
  execvp (opts->command[0], opts->command);
  int saved = errno;
  const char *cmd = opts->command[0];
  if (saved == ENOENT)
    fprintf (stderr, "devbox-helper: %s: %s\n", cmd, strchr (cmd, '/') ? "no such file or directory in the image" : "executable file not found in $PATH");
  else
    fprintf (stderr, "devbox-helper: exec %s: %s\n", cmd, strerror (saved));
  _exit (saved == ENOENT ? 127 : 126);
}

/* Opens a terminal in the sandbox's own devpts and hands the master to the outer process. */
static char *
open_console (int console_socket)
{
  int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    die_with_error ("open /dev/ptmx");
  int unlock = 0;
  unsigned int number;
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0 || ioctl (master, TIOCGPTN, &number) < 0)
    die_with_error ("set up the pseudo-terminal");
  char byte = 'm';
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control = { 0 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &master, sizeof (int));
  if (sendmsg (console_socket, &msg, 0) < 0)
    die_with_error ("send the terminal");
  /* Wait until the outer process has set the window size, so the command sees it from its first moment. */
  ssize_t n;
  do
    n = read (console_socket, &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    die ("the outer process went away");
  close (master);
  close (console_socket);
  return xasprintf ("/dev/pts/%u", number);
}

static int
status_of (int wstatus)
{
  return WIFEXITED (wstatus) ? WEXITSTATUS (wstatus) : 128 + WTERMSIG (wstatus);
}

int
run_init (const Options *opts, int console_socket, int remove_parent, const char *remove_name)
{
  cleanup_free char *pty_slave = opts->tty ? open_console (console_socket) : NULL;

  sigset_t set = init_signal_set ();
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    die_with_error ("sigprocmask");
  int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    die_with_error ("signalfd");
  pid_t command = fork ();
  if (command < 0)
    die_with_error ("fork");
  if (command == 0)
    {
      set_fatal_hook (NULL);
      exec_command (opts, pty_slave);
    }

  int status = -1;
  while (status < 0)
    {
      struct signalfd_siginfo info;
      ssize_t n = read (sfd, &info, sizeof info);
      if (n < 0 && errno == EINTR)
        continue;
      if (n != sizeof info)
        die_with_error ("read signalfd");
      if (info.ssi_signo != SIGCHLD)
        {
          kill (command, (int) info.ssi_signo);
          continue;
        }
      int ws;
      pid_t pid;
      while ((pid = waitpid (-1, &ws, WNOHANG)) > 0)
        if (pid == command)
          status = status_of (ws);
    }
  /* The command is done: end whatever it left running (daemons, fuse-overlayfs), then reap them. */
  kill (-1, SIGKILL);
  while (waitpid (-1, NULL, 0) > 0 || errno == EINTR)
    ;
  if (remove_parent >= 0)
    remove_tree_at (remove_parent, remove_name);
  return status;
}
