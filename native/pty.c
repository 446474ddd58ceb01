/*
 * --tty. Inside, pid 1 opens a terminal from the sandbox's own devpts instance and passes the master to the
 * outer process over a socket (runc's console socket), so no host pty is ever visible in the sandbox.
 * Outside, the relay copies stdin to the master and the master to stdout, with the caller's terminal raw.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

typedef union
{
  char buf[CMSG_SPACE (sizeof (int))];
  struct cmsghdr align;
} FdMessage;

static void
send_fd (int sock, int fd)
{
  char byte = 'm';
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  FdMessage control;
  memset (&control, 0, sizeof control);
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
  if (TEMP_FAILURE_RETRY (sendmsg (sock, &msg, MSG_NOSIGNAL)) < 0)
    die_with_error ("send the terminal to the outer process");
}

/* -1 when the sandbox ended before sending one. */
static int
receive_fd (int sock)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  FdMessage control;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
  if (TEMP_FAILURE_RETRY (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC)) <= 0)
    return -1;
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  return fd;
}

/*
 * After devpts is mounted in the sandbox's root: returns the slave, the command's terminal. Pid 1 also binds
 * it on /dev/console; a process joining a live sandbox leaves the sandbox's console as it is.
 */
int
open_console (int console_socket, bool bind_console)
{
  cleanup_fd int master = open_in_root ("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
  if (master < 0)
    die_with_error ("open /dev/pts/ptmx in the sandbox");
  int unlock = 0;
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    die_with_error ("unlock the pseudo-terminal");
  /* The slave by fd, not by its /dev/pts/N path: nothing can put another node in its place. */
  int slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    die_with_error ("open the pseudo-terminal's slave");
  if (bind_console)
    {
      cleanup_fd int console = open_or_create_in_root ("/dev/console", false);
      if (console < 0)
        die_with_error ("create /dev/console in the sandbox");
      bind_fd (slave, console, "/dev/console");
    }
  send_fd (console_socket, master);
  /* Wait until the outer process has set the window size, so the command sees it from its first moment. */
  char go;
  if (read_byte (console_socket, &go) != 1)
    die ("the outer process went away");
  close (console_socket);
  return slave;
}

static Relay *active_relay;

static void
restore_terminal (void)
{
  Relay *relay = active_relay;
  if (relay && relay->raw && tcsetattr (STDIN_FILENO, TCSAFLUSH, &relay->saved) == 0)
    relay->raw = false;
}

void
relay_resize (const Relay *relay)
{
  /* Without a terminal to copy from, 80x24 rather than 0x0, which `stty size` and curses reject. */
  struct winsize ws = { .ws_row = 24, .ws_col = 80 };
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
    (void) ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws);
  (void) ioctl (relay->master, TIOCSWINSZ, &ws); /* the sandbox may already be gone */
}

/* Nothing to relay from a closed stdin or from /dev/null (devbox run without -i). */
static bool
stdin_has_input (void)
{
  struct stat st;
  if (fstat (STDIN_FILENO, &st) < 0)
    return false;
  return !(S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3));
}

static void
make_stdin_raw (Relay *relay)
{
  if (!relay->stdin_is_tty || tcgetattr (STDIN_FILENO, &relay->saved) < 0)
    return;
  struct termios raw = relay->saved;
  cfmakeraw (&raw);
  if (tcsetattr (STDIN_FILENO, TCSANOW, &raw) < 0)
    die_with_error ("make the terminal raw");
  relay->raw = true;
  set_fatal_hook (restore_terminal); /* die() must not leave the caller's terminal raw */
}

/* In the outer process: false when the sandbox failed before it sent a terminal. */
bool
relay_start (Relay *relay, int console_socket)
{
  memset (relay, 0, sizeof *relay);
  relay->master = receive_fd (console_socket);
  if (relay->master < 0)
    return false;
  int flags = fcntl (relay->master, F_GETFL);
  if (flags < 0 || fcntl (relay->master, F_SETFL, flags | O_NONBLOCK) < 0)
    die_with_error ("make the terminal non-blocking");
  active_relay = relay;
  relay->input_open = stdin_has_input ();
  relay->stdin_is_tty = isatty (STDIN_FILENO);
  relay_resize (relay);
  make_stdin_raw (relay);
  if (write_byte (console_socket, 'g') < 0)
    die_with_error ("start the sandbox");
  return true;
}

int
relay_poll_fds (const Relay *relay, struct pollfd *fds)
{
  bool pending = relay->pending_off < relay->pending_len;
  fds[0] = (struct pollfd){ .fd = relay->hung_up ? -1 : relay->master, .events = POLLIN | (pending ? POLLOUT : 0) };
  fds[1] = (struct pollfd){ .fd = relay->input_open && !pending ? STDIN_FILENO : -1, .events = POLLIN };
  return 2;
}

/*
 * End of a piped stdin: the terminal's end-of-file character, as script(1) sends, so `cat` or a shell
 * reading the terminal finishes instead of waiting for input that never comes. A terminal sends its own.
 */
static void
input_ended (Relay *relay)
{
  relay->input_open = false;
  struct termios t;
  if (!relay->stdin_is_tty && tcgetattr (relay->master, &t) == 0)
    {
      relay->pending[0] = (char) t.c_cc[VEOF];
      relay->pending_off = 0;
      relay->pending_len = 1;
    }
}

static void
read_input (Relay *relay)
{
  ssize_t n = read (STDIN_FILENO, relay->pending, sizeof relay->pending);
  if (n > 0)
    {
      relay->pending_off = 0;
      relay->pending_len = (size_t) n;
    }
  else if (n == 0 || (errno != EINTR && errno != EAGAIN))
    input_ended (relay);
}

static void
write_input (Relay *relay)
{
  ssize_t n = write (relay->master, relay->pending + relay->pending_off, relay->pending_len - relay->pending_off);
  if (n > 0)
    relay->pending_off += (size_t) n;
  else if (n < 0 && errno != EINTR && errno != EAGAIN)
    relay->pending_off = relay->pending_len; /* the terminal is gone: drop the input */
}

/* Master to stdout; false once the terminal has hung up (no slave left open) or stdout failed. */
static bool
copy_output (const Relay *relay)
{
  char buf[16384];
  ssize_t n = read (relay->master, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  return n > 0 && write_all (STDOUT_FILENO, buf, (size_t) n) == 0;
}

void
relay_handle (Relay *relay, const struct pollfd *fds)
{
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
    if (!copy_output (relay))
      {
        relay->hung_up = true;
        relay->input_open = false;
      }
  if ((fds[0].revents & POLLOUT) && relay->pending_off < relay->pending_len)
    write_input (relay);
  if (fds[1].revents)
    read_input (relay);
}

/* After the sandbox ended: its processes are all gone, so the master gives what is left, then EIO. */
void
relay_finish (Relay *relay)
{
  struct pollfd pfd = { .fd = relay->master, .events = POLLIN };
  /* The timeout covers a slave fd smuggled out of the sandbox, which would keep the terminal open. */
  while (poll (&pfd, 1, 1000) > 0 && copy_output (relay))
    ;
  restore_terminal ();
  close (relay->master);
  relay->master = -1;
}
