/*
 * DIR/attach: the supervisor's socket, for `devbox attach`, `start -a`, `stop` and `kill`. A client sends
 * frames (container.h): "attach" with what it wants, its input, window sizes, stop and kill requests; it gets
 * the command's output and, when the command exits, its status. The socket is bound through /proc/self/fd so a
 * long store path does not meet sun_path's 108 bytes; DIR is 0700, so only the user reaches it.
 */
#include "container.h"
#include "monitor.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A client that does not read its output is dropped once this much waits for it. */
#define CLIENT_BACKLOG (1 << 20)

void
clients_listen (Monitor *m)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    m->clients[i].fd = -1;
  cleanup_fd int dir = open (m->c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    die_with_error ("open %s", m->c->dir);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach", dir);
  (void) unlink (addr.sun_path); /* left by a supervisor that was killed */
  m->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (m->listen_fd < 0)
    die_with_error ("socket");
  if (bind (m->listen_fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (m->listen_fd, 8) < 0)
    die_with_error ("listen on %s/attach", m->c->dir);
}

static void
drop (Client *client)
{
  close (client->fd);
  free (client->out);
  *client = (Client){ .fd = -1 };
}

static void
send_frame (Client *client, char kind, const void *data, size_t len)
{
  if (client->fd < 0)
    return;
  if (client->out_len + len + 5 > CLIENT_BACKLOG)
    {
      drop (client);
      return;
    }
  client->out = xrealloc (client->out, client->out_len + len + 5, 1);
  uint32_t be = htonl ((uint32_t) len);
  client->out[client->out_len] = kind;
  memcpy (client->out + client->out_len + 1, &be, 4);
  memcpy (client->out + client->out_len + 5, data, len);
  client->out_len += len + 5;
}

static void
send_u32 (Client *client, char kind, uint32_t value)
{
  uint32_t be = htonl (value);
  send_frame (client, kind, &be, sizeof be);
}

static uint32_t
u32_at (const char *p)
{
  uint32_t be;
  memcpy (&be, p, sizeof be);
  return ntohl (be);
}

static void
handle_frame (Monitor *m, Client *client, char kind, const char *data, uint32_t len)
{
  switch (kind)
    {
    case FRAME_ATTACH:
      client->input = len >= 1 && (data[0] & 1);
      client->output = len >= 1 && (data[0] & 2);
      event (m, "attach", NULL, NULL);
      break;
    case FRAME_STDIN:
      if (client->input)
        queue_input (m, data, len);
      break;
    case FRAME_STDIN_END:
      if (client->input)
        end_input (m);
      break;
    case FRAME_RESIZE:
      if (len >= 4 && m->master >= 0)
        {
          struct winsize ws = { .ws_row = (unsigned short) (((unsigned char) data[0] << 8) | (unsigned char) data[1]),
                                .ws_col = (unsigned short) (((unsigned char) data[2] << 8) | (unsigned char) data[3]) };
          (void) ioctl (m->master, TIOCSWINSZ, &ws);
        }
      break;
    case FRAME_STOP:
    case FRAME_KILL:
      if (len >= 4)
        send_u32 (client, FRAME_ACK, (uint32_t) request_signal (m, (int) u32_at (data), kind == FRAME_STOP));
      break;
    default:
      break;
    }
}

static void
read_client (Monitor *m, Client *client)
{
  ssize_t n = read (client->fd, client->in + client->in_len, sizeof client->in - client->in_len);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    {
      drop (client);
      return;
    }
  if (n < 0)
    return;
  client->in_len += (size_t) n;
  size_t off = 0;
  while (client->in_len - off >= 5)
    {
      uint32_t len = u32_at (client->in + off + 1);
      if (len > sizeof client->in - 5)
        {
          drop (client); /* not our protocol */
          return;
        }
      if (client->in_len - off < 5 + len)
        break;
      handle_frame (m, client, client->in[off], client->in + off + 5, len);
      if (client->fd < 0)
        return;
      off += 5 + len;
    }
  memmove (client->in, client->in + off, client->in_len - off);
  client->in_len -= off;
}

static void
write_client (Client *client)
{
  ssize_t n = write (client->fd, client->out, client->out_len);
  if (n < 0 && errno != EAGAIN && errno != EINTR)
    {
      drop (client);
      return;
    }
  if (n > 0)
    {
      memmove (client->out, client->out + n, client->out_len - (size_t) n);
      client->out_len -= (size_t) n;
    }
}

/* The listening socket, then one entry per slot; a client's input waits while the command's input is backed up. */
nfds_t
clients_poll_fds (Monitor *m, struct pollfd *fds, bool input_pending)
{
  fds[0] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
  for (int i = 0; i < MAX_CLIENTS; i++)
    {
      Client *c = &m->clients[i];
      fds[i + 1] = (struct pollfd){ .fd = c->fd, .events = (short) ((input_pending ? 0 : POLLIN) | (c->out_len ? POLLOUT : 0)) };
    }
  return MAX_CLIENTS + 1;
}

void
clients_handle (Monitor *m, const struct pollfd *fds)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    {
      Client *c = &m->clients[i];
      if (c->fd < 0 || !fds[i + 1].revents)
        continue;
      if (fds[i + 1].revents & POLLOUT)
        write_client (c);
      if (c->fd >= 0 && (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
        read_client (m, c);
    }
  if (!(fds[0].revents & POLLIN))
    return;
  int fd = accept4 (m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd < 0)
      {
        m->clients[i] = (Client){ .fd = fd };
        return;
      }
  close (fd); /* too many at once */
}

void
clients_output (Monitor *m, char kind, const char *buf, size_t len)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0 && m->clients[i].output)
      send_frame (&m->clients[i], kind, buf, len);
}

/*
 * Half-closes and waits (a second at most) for the client to hang up, as it does once it has the status. Input
 * it wrote meanwhile (its stdin's end, sent just after the rest) must not meet a closed socket: its EPIPE would
 * end the client before it read the output and the status waiting for it.
 */
static void
await_hang_up (Client *client)
{
  (void) shutdown (client->fd, SHUT_WR);
  struct timespec now, deadline;
  clock_gettime (CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += 1;
  for (;;)
    {
      clock_gettime (CLOCK_MONOTONIC, &now);
      long left = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
      struct pollfd p = { .fd = client->fd, .events = POLLIN };
      if (left <= 0 || poll (&p, 1, (int) left) <= 0)
        return;
      char sink[4096];
      ssize_t n = read (client->fd, sink, sizeof sink);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return;
    }
}

/* The command exited: attached clients get its status and are let go (docker attach ends with the container). */
void
clients_exit (Monitor *m, int status)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    {
      Client *c = &m->clients[i];
      if (c->fd < 0 || !c->output)
        continue;
      send_u32 (c, FRAME_EXIT, (uint32_t) status);
      /* What the socket takes now, then the end: a client that stopped reading must not hold the container up. */
      while (c->fd >= 0 && c->out_len)
        {
          struct pollfd p = { .fd = c->fd, .events = POLLOUT };
          if (poll (&p, 1, 1000) <= 0)
            break;
          write_client (c);
        }
      if (c->fd >= 0)
        await_hang_up (c);
      if (c->fd >= 0)
        drop (c);
    }
}
