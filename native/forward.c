/*
 * forward-ports mode: published TCP ports, forwarded from the host into a sandbox's network namespace by a
 * process on each side, as rootlesskit's "builtin" port driver does. This process listens on the host; a
 * child joins the sandbox's user and network namespaces and, for each connection accepted here, connects to
 * the port on the sandbox's 127.0.0.1 and hands the connected socket back over a socket pair (SCM_RIGHTS).
 * From then on the bytes go socket to socket through a pipe with splice(2): no copy through user space and
 * no TCP stack of our own in between, which is what makes it several times faster than slirp4netns's
 * forwarding (docs/benchmarks.md).
 *
 *   devbox-helper forward-ports PID EXIT_FD HOST_IP:HOST_PORT:PORT...
 *
 * PID is a process in the sandbox (its pid 1). Every listening socket is made before anything else, so a port
 * in use is one line and status 1 with nothing started; "ready" on stdout says all are listening. The process
 * ends when EXIT_FD reports end of file or hang-up (the sandbox's sync socket, as slirp4netns's --exit-fd).
 */
#include "helper.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Each direction's pipe is made this big (an unprivileged process may go up to fs.pipe-max-size, 1 MiB by
   default): fewer, larger splices. Where the kernel refuses, the default 64 KiB pipe works, only slower. */
#define PIPE_SIZE (1 << 20)

enum endpoint_kind { LISTENER, CONNECTION, EXIT_WATCH };

struct endpoint
{
  enum endpoint_kind kind;
};

struct listener
{
  struct endpoint base;
  int fd;
  uint16_t port; /* inside the sandbox */
};

/* One direction of a connection: bytes read from `from` wait in the pipe until `to` takes them. */
struct direction
{
  int pipe_r, pipe_w;
  size_t queued;
  bool eof;  /* `from` has no more */
  bool done; /* eof seen, the pipe drained, `to` shut for writing */
};

struct connection
{
  struct endpoint base;
  int fd[2];               /* [0] the host's client, [1] the sandbox's server */
  struct direction dir[2]; /* [0] client → server, [1] server → client */
  bool closed;             /* freed after the batch of events that may still name it */
  struct connection *next_closed;
};

static struct connection *closed_connections;

/* The child in the sandbox's namespaces: connects to 127.0.0.1:PORT for each request, sends the socket back. */
static void __attribute__ ((noreturn))
connector (int channel, int userns, int netns)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_with_error ("forward-ports: prctl");
  if (setns (userns, CLONE_NEWUSER) < 0)
    die_with_error ("forward-ports: entering the sandbox's user namespace");
  if (setns (netns, CLONE_NEWNET) < 0)
    die_with_error ("forward-ports: entering the sandbox's network namespace");
  close (userns);
  close (netns);
  for (;;)
    {
      uint16_t port;
      ssize_t n = recv (channel, &port, sizeof port, 0);
      if (n == 0)
        _exit (0);
      if (n != sizeof port)
        {
          if (n < 0 && errno == EINTR)
            continue;
          _exit (n < 0 ? 1 : 0);
        }
      int32_t error = 0;
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
      if (fd < 0 || connect (fd, (struct sockaddr *) &to, sizeof to) < 0)
        error = errno;
      char control[CMSG_SPACE (sizeof (int))] = { 0 };
      struct iovec iov = { .iov_base = &error, .iov_len = sizeof error };
      struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
      if (!error)
        {
          msg.msg_control = control;
          msg.msg_controllen = sizeof control;
          struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
          c->cmsg_level = SOL_SOCKET;
          c->cmsg_type = SCM_RIGHTS;
          c->cmsg_len = CMSG_LEN (sizeof (int));
          memcpy (CMSG_DATA (c), &fd, sizeof fd);
        }
      if (sendmsg (channel, &msg, MSG_NOSIGNAL) < 0)
        _exit (1);
      if (fd >= 0)
        close (fd);
    }
}

/* A socket connected to `port` in the sandbox, or -1 (the connection is refused: nothing listens there). */
static int
connect_inside (int channel, uint16_t port)
{
  if (send (channel, &port, sizeof port, MSG_NOSIGNAL) != sizeof port)
    die_with_error ("forward-ports: the connector in the sandbox is gone");
  int32_t error = 0;
  char control[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { .iov_base = &error, .iov_len = sizeof error };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  ssize_t n;
  do
    n = recvmsg (channel, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != sizeof error)
    die ("forward-ports: the connector in the sandbox is gone");
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (error || c == NULL || c->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
}

/* Closing its sockets takes them out of the epoll set; the memory goes after the current batch of events. */
static void
close_connection (struct connection *conn)
{
  for (int i = 0; i < 2; i++)
    {
      close (conn->fd[i]);
      close (conn->dir[i].pipe_r);
      close (conn->dir[i].pipe_w);
    }
  conn->closed = true;
  conn->next_closed = closed_connections;
  closed_connections = conn;
}

static void
free_closed_connections (void)
{
  while (closed_connections)
    {
      struct connection *next = closed_connections->next_closed;
      free (closed_connections);
      closed_connections = next;
    }
}

/* The exit fd: data is drained, end of file or an error means the sandbox is gone. */
static bool
sandbox_gone (int exit_fd)
{
  char buf[64];
  ssize_t n = read (exit_fd, buf, sizeof buf);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* Moves what it can from one side to the other; false when the connection failed (a reset, a closed peer). */
static bool
pump (struct connection *conn, int d)
{
  struct direction *dir = &conn->dir[d];
  int from = conn->fd[d], to = conn->fd[1 - d];
  while (!dir->done)
    {
      if (dir->queued > 0)
        {
          ssize_t n = splice (dir->pipe_r, NULL, to, NULL, dir->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n < 0)
            return errno == EAGAIN || errno == EINTR;
          dir->queued -= (size_t) n;
          continue;
        }
      if (dir->eof)
        {
          shutdown (to, SHUT_WR);
          dir->done = true;
          break;
        }
      ssize_t n = splice (from, NULL, dir->pipe_w, NULL, PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n == 0)
        dir->eof = true;
      else if (n < 0)
        return errno == EAGAIN || errno == EINTR;
      else
        dir->queued += (size_t) n;
    }
  return true;
}

static void
accept_connection (int epoll_fd, int channel, struct listener *l)
{
  for (;;)
    {
      int client = accept4 (l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0)
        return; /* EAGAIN: all taken; other errors concern that one client */
      int server = connect_inside (channel, l->port);
      if (server < 0 || fcntl (server, F_SETFL, O_NONBLOCK) < 0)
        {
          /* Nothing listens inside: the client sees its connection closed, as with a refused one. */
          close (client);
          if (server >= 0)
            close (server);
          continue;
        }
      struct connection *conn = xcalloc (1, sizeof *conn);
      conn->base.kind = CONNECTION;
      conn->fd[0] = client;
      conn->fd[1] = server;
      for (int i = 0; i < 2; i++)
        {
          int p[2];
          if (pipe2 (p, O_NONBLOCK | O_CLOEXEC) < 0)
            die_with_error ("forward-ports: pipe");
          conn->dir[i].pipe_r = p[0];
          conn->dir[i].pipe_w = p[1];
          (void) fcntl (p[1], F_SETPIPE_SZ, PIPE_SIZE);
        }
      /* Edge-triggered, both sides, both ways: every event pumps both directions until they would block. */
      for (int i = 0; i < 2; i++)
        {
          struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = conn };
          if (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, conn->fd[i], &ev) < 0)
            die_with_error ("forward-ports: epoll_ctl");
        }
      if (!pump (conn, 0) || !pump (conn, 1) || (conn->dir[0].done && conn->dir[1].done))
        close_connection (conn);
    }
}

/* HOST_IP:HOST_PORT:PORT → a listening socket on the host; HOST_IP is IPv4 or IPv6 (no brackets: the last two
   colons end it). An IPv6 one listens on IPv6 only, as Docker's -p [::1]:8080:80. */
static struct listener *
listen_on (const char *spec)
{
  cleanup_free char *copy = xstrdup (spec);
  char *last = strrchr (copy, ':');
  if (last == NULL || last == copy)
    die ("forward-ports: not HOST_IP:HOST_PORT:PORT: \"%s\"", spec);
  *last = '\0';
  char *middle = strrchr (copy, ':');
  if (middle == NULL)
    die ("forward-ports: not HOST_IP:HOST_PORT:PORT: \"%s\"", spec);
  *middle = '\0';
  uint16_t host_port = (uint16_t) parse_number (middle + 1, 65535, "host port");
  struct sockaddr_storage addr = { 0 };
  socklen_t addr_len;
  struct sockaddr_in *v4 = (struct sockaddr_in *) &addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &addr;
  if (inet_pton (AF_INET, copy, &v4->sin_addr) == 1)
    {
      v4->sin_family = AF_INET;
      v4->sin_port = htons (host_port);
      addr_len = sizeof *v4;
    }
  else if (inet_pton (AF_INET6, copy, &v6->sin6_addr) == 1)
    {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons (host_port);
      addr_len = sizeof *v6;
    }
  else
    die ("forward-ports: not an IP address: \"%s\"", copy);
  struct listener *l = xcalloc (1, sizeof *l);
  l->base.kind = LISTENER;
  l->port = (uint16_t) parse_number (last + 1, 65535, "port");
  l->fd = socket (addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (l->fd < 0 || setsockopt (l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    die_with_error ("forward-ports: socket");
  if (addr.ss_family == AF_INET6 && setsockopt (l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
    die_with_error ("forward-ports: IPV6_V6ONLY");
  if (bind (l->fd, (struct sockaddr *) &addr, addr_len) < 0 || listen (l->fd, SOMAXCONN) < 0)
    die_with_error ("cannot listen on %s:%s", copy, middle + 1);
  return l;
}

int
forward_ports_main (int argc, char **argv)
{
  set_die_status (1);
  if (argc < 3)
    die ("usage: devbox-helper forward-ports PID EXIT_FD HOST_IP:HOST_PORT:PORT...");
  pid_t pid = (pid_t) parse_number (argv[0], 4194304, "forward-ports: pid");
  int exit_fd = (int) parse_number (argv[1], 65535, "forward-ports: exit fd");
  if (fcntl (exit_fd, F_SETFL, O_NONBLOCK) < 0)
    die_with_error ("forward-ports: exit fd %d", exit_fd);
  signal (SIGPIPE, SIG_IGN);

  int epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (epoll_fd < 0)
    die_with_error ("forward-ports: epoll_create1");
  for (int i = 2; i < argc; i++)
    {
      struct listener *l = listen_on (argv[i]);
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
      if (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, l->fd, &ev) < 0)
        die_with_error ("forward-ports: epoll_ctl");
    }

  cleanup_free char *user_path = xasprintf ("/proc/%d/ns/user", (int) pid);
  cleanup_free char *net_path = xasprintf ("/proc/%d/ns/net", (int) pid);
  int userns = open (user_path, O_RDONLY | O_CLOEXEC);
  int netns = open (net_path, O_RDONLY | O_CLOEXEC);
  if (userns < 0 || netns < 0)
    die_with_error ("forward-ports: the sandbox's namespaces (pid %d)", (int) pid);
  int pair[2];
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
    die_with_error ("forward-ports: socketpair");
  pid_t child = fork ();
  if (child < 0)
    die_with_error ("forward-ports: fork");
  if (child == 0)
    {
      close (pair[0]);
      close (epoll_fd);
      connector (pair[1], userns, netns);
    }
  close (pair[1]);
  close (userns);
  close (netns);
  int channel = pair[0];

  static struct endpoint exit_watch = { .kind = EXIT_WATCH };
  struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = &exit_watch };
  if (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, exit_fd, &ev) < 0)
    die_with_error ("forward-ports: epoll_ctl on the exit fd");
  if (write_all (STDOUT_FILENO, "ready\n", 6) < 0)
    die_with_error ("forward-ports: stdout");
  close (STDOUT_FILENO);

  struct epoll_event events[64];
  for (;;)
    {
      int n = epoll_wait (epoll_fd, events, N_ELEMENTS (events), -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die_with_error ("forward-ports: epoll_wait");
      for (int i = 0; i < n; i++)
        {
          struct endpoint *e = events[i].data.ptr;
          if (e->kind == EXIT_WATCH)
            {
              if (!sandbox_gone (exit_fd))
                continue;
              kill (child, SIGKILL);
              wait_exit_status (child);
              return 0;
            }
          if (e->kind == LISTENER)
            {
              accept_connection (epoll_fd, channel, (struct listener *) e);
              continue;
            }
          struct connection *conn = (struct connection *) e;
          /* Both of a connection's sockets may have events in one batch. */
          if (conn->closed)
            continue;
          bool ok = pump (conn, 0) && pump (conn, 1) && !(events[i].events & EPOLLERR);
          if (!ok || (conn->dir[0].done && conn->dir[1].done))
            close_connection (conn);
        }
      free_closed_connections ();
    }
}
