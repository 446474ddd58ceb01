/*
 * pid 1 of a container (--container): runs the command, and when it exits ends everything it left (but not
 * fuse-overlayfs, which serves the root) and tells the supervisor, which answers "run it again" (the restart
 * policy) or "quit". pid 1 is joinable (exec) from the start of the command on, so it holds nothing of the host:
 * its stdio is the sandbox's /dev/null, the command's stdio are pipes or the terminal from the supervisor.
 */
#include "container.h"
#include "helper.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
send_message (int fd, char kind, int32_t value)
{
  char msg[5] = { kind };
  memcpy (msg + 1, &value, sizeof value);
  return TEMP_FAILURE_RETRY (send (fd, msg, sizeof msg, MSG_NOSIGNAL)) == (ssize_t) sizeof msg ? 0 : -1;
}

int
receive_message (int fd, char *kind, int32_t *value)
{
  char msg[5] = { 0 };
  ssize_t n = TEMP_FAILURE_RETRY (recv (fd, msg, sizeof msg, 0));
  if (n <= 0)
    return n == 0 ? 0 : -1;
  *kind = msg[0];
  memcpy (value, msg + 1, sizeof *value);
  return 1;
}

typedef struct
{
  pid_t *pids;
  size_t n;
} PidList;

static bool
listed (const PidList *list, pid_t pid)
{
  for (size_t i = 0; i < list->n; i++)
    if (list->pids[i] == pid)
      return true;
  return false;
}

/* Every process of the sandbox but pid 1 (its procfs shows only its pid namespace); with `kill`, SIGKILLs them. */
static size_t
scan_processes (PidList *into, const PidList *spare, int kill_signal)
{
  DIR *proc = opendir ("/proc");
  if (proc == NULL)
    die_with_error ("open /proc");
  size_t found = 0;
  struct dirent *entry;
  while ((entry = readdir (proc)) != NULL)
    {
      char *end;
      long pid = strtol (entry->d_name, &end, 10);
      if (*end != '\0' || pid <= 1 || (spare && listed (spare, (pid_t) pid)))
        continue;
      found++;
      if (kill_signal)
        (void) kill ((pid_t) pid, kill_signal); /* ESRCH: gone meanwhile */
      if (into)
        {
          into->pids = xrealloc (into->pids, into->n + 1, sizeof (pid_t));
          into->pids[into->n++] = (pid_t) pid;
        }
    }
  closedir (proc);
  return found;
}

/* After the command exited: everything else ends too, except the processes serving the root (fuse-overlayfs). */
static void
end_processes_except (const PidList *spare)
{
  struct timespec pause = { .tv_nsec = 1000 * 1000 };
  while (scan_processes (NULL, spare, SIGKILL) > 0)
    {
      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
      nanosleep (&pause, NULL);
    }
}

/* Signals go to the command; the supervisor's requests are read from ctl. The command's status, or -1 for "quit". */
static int
wait_for_command (int sfd, int ctl, pid_t command)
{
  for (;;)
    {
      struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          die_with_error ("poll");
        }
      if (fds[1].revents)
        {
          char kind;
          int32_t value;
          if (receive_message (ctl, &kind, &value) <= 0 || kind == PID1_QUIT)
            return -1;
          if (kind == PID1_SIGNAL)
            (void) kill (command, value);
        }
      if (!(fds[0].revents & POLLIN))
        continue;
      struct signalfd_siginfo info;
      if (TEMP_FAILURE_RETRY (read (sfd, &info, sizeof info)) != sizeof info)
        die_with_error ("read signalfd");
      if (info.ssi_signo != SIGCHLD)
        {
          (void) kill (command, (int) info.ssi_signo);
          continue;
        }
      int wstatus;
      pid_t pid;
      while ((pid = waitpid (-1, &wstatus, WNOHANG)) > 0)
        if (pid == command)
          return exit_status_of (wstatus);
    }
}

/* After an exit has been reported: "run it again" (true) or "quit" (false). */
static bool
await_restart (int ctl)
{
  for (;;)
    {
      char kind;
      int32_t value;
      if (receive_message (ctl, &kind, &value) <= 0 || kind == PID1_QUIT)
        return false;
      if (kind == PID1_RESTART)
        return true;
    }
}

static pid_t
start_command (const Options *opts, const Sandbox *sb)
{
  pid_t command = fork ();
  if (command < 0)
    die_with_error ("fork the command");
  if (command == 0)
    {
      if (sb->pty_slave < 0)
        for (int fd = 0; fd < 3; fd++)
          if (dup2 (sb->stdio[fd], fd) < 0)
            die_with_error ("dup2 the command's stdio");
      exec_command (opts, sb->pty_slave);
    }
  return command;
}

int
run_container_init (const Options *opts, Sandbox *sb)
{
  sigset_t set;
  handled_signals (&set);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    die_with_error ("sigprocmask");
  cleanup_fd int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    die_with_error ("signalfd");
  PidList spare = { 0 };
  scan_processes (&spare, NULL, 0); /* fuse-overlayfs, when it serves the root */
  /* The command line's memory is overwritten below (hide_command_line); restarts need the command and its directory. */
  Options own = *opts;
  own.cwd = xstrdup (opts->cwd);
  size_t n_args = 0;
  while (opts->command[n_args])
    n_args++;
  own.command = xcalloc (n_args + 1, sizeof (char *));
  for (size_t i = 0; i < n_args; i++)
    own.command[i] = xstrdup (opts->command[i]);
  opts = &own;
  int ctl = sb->ready_fd;
  if (sb->pty_slave < 0 && sb->stdio[0] < 0 && (sb->stdio[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    die_with_error ("open /dev/null in the sandbox"); /* no -i: the command reads nothing */
  pid_t command = start_command (opts, sb);
  allow_joins (opts);
  hide_command_line ();
  if (send_message (ctl, PID1_UP, 0) < 0)
    die_with_error ("tell the supervisor the container is up");
  for (;;)
    {
      int status = wait_for_command (sfd, ctl, command);
      if (status < 0)
        break;
      end_processes_except (&spare);
      if (send_message (ctl, PID1_EXITED, status) < 0 || !await_restart (ctl))
        break;
      command = start_command (opts, sb);
      if (send_message (ctl, PID1_STARTED, 0) < 0)
        break;
    }
  end_all_processes ();
  free (spare.pids);
  return 0;
}
