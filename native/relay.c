/*
 * The outer process while the sandbox runs: forwards signals to the sandbox's pid 1, relays the terminal
 * for --tty (raw mode, window size, output drained before exit) and exits with the sandbox's status.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGALRM };

static struct termios saved_termios;
static bool termios_saved;

static void
restore_terminal (void)
{
  if (termios_saved)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
}

static void
make_terminal_raw (void)
{
  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved_termios) < 0)
    return;
  termios_saved = true;
  atexit (restore_terminal);
  struct termios raw = saved_termios;
  cfmakeraw (&raw);
  if (tcsetattr (STDIN_FILENO, TCSANOW, &raw) < 0)
    die_with_error ("make the terminal raw");
}

static void
copy_window_size (int master)
{
  struct winsize ws;
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

/* Receives the terminal master from the sandbox; -1 when the sandbox ended before sending it. */
static int
receive_master (int console_socket)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
  ssize_t n;
  do
    n = recvmsg (console_socket, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  struct cmsghdr *cmsg = n > 0 ? CMSG_FIRSTHDR (&msg) : NULL;
  if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  return fd;
}

/* Copies what is readable on from to to; false at end of input or on an error (EIO: the slave closed). */
static bool
pump (int from, int to)
{
  char buf[16384];
  ssize_t n = read (from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  return write_all (to, buf, (size_t) n) == 0;
}

int
supervise (pid_t child, int console_socket)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGWINCH);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
    sigaddset (&set, forwarded[i]);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    die_with_error ("sigprocmask");
  int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    die_with_error ("signalfd");

  int master = -1;
  if (console_socket >= 0)
    {
      master = receive_master (console_socket);
      if (master >= 0)
        {
          copy_window_size (master);
          make_terminal_raw ();
          if (write_all (console_socket, "g", 1) < 0)
            die_with_error ("start the sandbox");
        }
      close (console_socket);
    }

  int status = -1;
  bool input_open = master >= 0;
  while (status < 0 || master >= 0)
    {
      struct pollfd fds[3] = { { sfd, POLLIN, 0 }, { master, POLLIN, 0 }, { input_open ? STDIN_FILENO : -1, POLLIN, 0 } };
      /* Once the sandbox has ended, only drain what the terminal still holds. */
      if (poll (fds, 3, status < 0 ? -1 : 100) < 0)
        {
          if (errno == EINTR)
            continue;
          die_with_error ("poll");
        }
      if (status >= 0 && fds[1].revents == 0)
        break;
      if (fds[1].revents && !pump (master, STDOUT_FILENO))
        {
          close (master);
          master = -1;
        }
      if (fds[2].revents && master >= 0 && !pump (STDIN_FILENO, master))
        input_open = false;
      if (!(fds[0].revents & POLLIN))
        continue;
      struct signalfd_siginfo info;
      if (read (sfd, &info, sizeof info) != sizeof info)
        continue;
      if (info.ssi_signo == SIGCHLD)
        {
          int ws;
          if (waitpid (child, &ws, WNOHANG) == child)
            status = WIFEXITED (ws) ? WEXITSTATUS (ws) : 128 + WTERMSIG (ws);
        }
      else if (info.ssi_signo == SIGWINCH && master >= 0)
        copy_window_size (master);
      else
        kill (child, (int) info.ssi_signo);
    }
  restore_terminal ();
  termios_saved = false;
  return status;
}
