/*
 * watch-ports mode: auto-forward for a sandbox on the slirp4netns network. While the sandbox runs, each TCP
 * port a process inside listens on (on an address slirp4netns can deliver to) is forwarded from the same port
 * of the host's 127.0.0.1 — the next free one when that is taken — through slirp4netns's API socket, and the
 * forward is removed when the listener goes away. The forwards in place are written to DIR/auto-ports.json
 * for `devbox ports`.
 *
 * It is a process of its own beside the sandbox (it outlives the devbox command that started a project's
 * sandbox), so it must cost next to nothing while the sandbox idles. The kernel has no notification for a new
 * listening socket, so it is asked, every SCAN_MS (IDLE_SCAN_MS once nothing changed for a while), in two steps: the namespace's count of TCP sockets in use
 * (/proc/PID/net/sockstat and sockstat6: per-namespace counters, a few microseconds to read), and only when
 * that changed — or every FULL_SCAN_LOOKS, for a listener replaced by another between two looks — the socket
 * tables /proc/PID/net/tcp and tcp6, which cost more (the kernel walks the host's whole connection hash tables
 * for them: ~1 ms here). (A sock_diag dump of listeners would be cheaper than the tables, but its socket must
 * be made inside the sandbox's network namespace, and entering that needs ptrace access to the sandbox's pid
 * 1, which a running `devbox run` sandbox's pid 1 does not give.) The files are kept open.
 *
 *   devbox-helper watch-ports DIR PID [PORT|FROM-TO...]
 *
 * DIR holds slirp4netns.sock; PID is a process in the sandbox's network namespace (its pid 1); PORTs (and
 * ranges of them) are never forwarded: container ports already published with -p, and those a project says
 * not to (devcontainer.json's onAutoForward: ignore). Descriptor 3 is the sandbox's lifetime
 * socket: it hangs up when the sandbox's pid 1 exits, and then so does this. A sandbox found gone any other way
 * (its /proc entry, its API socket) ends it quietly too; any other failure is one line on stderr and status 1
 * (the sandbox stays up without auto-forward).
 */
#include "helper.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Every SCAN_MS while sockets come and go; after IDLE_AFTER_LOOKS looks without a change, every IDLE_SCAN_MS (an
   idle sandbox's watcher then wakes once a second: a server started after a long quiet is forwarded within it).
   The socket tables are read at least every FULL_SCAN_LOOKS looks (10 s, or 50 s once idle: reading them costs
   more than all the looks between). */
#define SCAN_MS 200
#define IDLE_SCAN_MS 1000
#define IDLE_AFTER_LOOKS 50
#define FULL_SCAN_LOOKS 50
#define LIFETIME_FD 3
#define TCP_LISTEN 0x0a
/* Host ports tried for one listener before giving up on it (until it goes away and comes back). */
#define MAX_ATTEMPTS 64
#define MAX_PORT 65535
#define API_SOCKET "slirp4netns.sock"
#define FORWARDS_FILE "auto-ports.json"
/* The sandbox's own address on slirp4netns's network, where forwarded connections arrive. */
#define GUEST_ADDRESS "10.0.2.100"

typedef struct
{
  unsigned char bits[(MAX_PORT + 1) / 8];
} PortSet;

static bool
port_in (const PortSet *set, unsigned port)
{
  return set->bits[port / 8] & (1u << (port % 8));
}

static void
port_add (PortSet *set, unsigned port)
{
  set->bits[port / 8] |= (unsigned char) (1u << (port % 8));
}

typedef struct
{
  unsigned container_port;
  unsigned host_port;
  long id; /* slirp4netns's id of the forward */
} Forward;

typedef struct
{
  int dir_fd;
  const char *dir;
  int tables[2];   /* /proc/PID/net/tcp and tcp6 (-1 without IPv6) */
  int sockstat[2]; /* /proc/PID/net/sockstat and sockstat6 (-1 without IPv6) */
  long in_use;     /* TCP sockets in use at the last dump */
  PortSet published;
  PortSet unforwardable; /* listening, but no host port could be had */
  Forward *forwards;
  size_t n_forwards;
  unsigned first_host_port; /* the lowest port this user may bind */
  char *buffer;
  size_t buffer_size;
  unsigned *listening; /* the last scan's ports, once each */
  size_t n_listening;
} Watcher;

/* The sandbox has ended while we were looking: nothing to report. */
static void __attribute__ ((noreturn))
sandbox_gone (void)
{
  exit (0);
}

/* Reads fd to its end into w->buffer (NUL-terminated): a socket's reply, or a /proc table (rewound first). */
static bool
read_all (Watcher *w, int fd)
{
  size_t len = 0;
  for (;;)
    {
      if (len + 4096 > w->buffer_size)
        {
          w->buffer_size = w->buffer_size ? w->buffer_size * 2 : 65536;
          w->buffer = xrealloc (w->buffer, w->buffer_size, 1);
        }
      ssize_t n = read (fd, w->buffer + len, w->buffer_size - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return false;
      if (n == 0)
        break;
      len += (size_t) n;
    }
  w->buffer[len] = '\0';
  return true;
}

/* A listener slirp4netns can deliver to: any address, or the sandbox's own (also as a v4-mapped IPv6 one).
   The kernel prints each 32-bit word of the address as a number in host byte order: the in-memory value of
   the network-order word. */
static bool
reachable (const char *hex)
{
  size_t len = strspn (hex, "0123456789ABCDEFabcdef");
  uint32_t a[4] = { 0 };
  if (len != 8 && len != 32)
    return false;
  for (size_t i = 0; i < len / 8; i++)
    {
      char word[9];
      memcpy (word, hex + 8 * i, 8);
      word[8] = '\0';
      a[i] = (uint32_t) strtoul (word, NULL, 16);
    }
  struct in_addr guest;
  inet_pton (AF_INET, GUEST_ADDRESS, &guest);
  if (len == 8)
    return a[0] == 0 || a[0] == guest.s_addr;
  bool any = !a[0] && !a[1] && !a[2] && !a[3];
  bool mapped_guest = !a[0] && !a[1] && a[2] == htonl (0xffff) && a[3] == guest.s_addr;
  return any || mapped_guest;
}

/* The ports listened on in the sandbox, on reachable addresses, not published: w->listening, once each. */
static void
scan_listeners (Watcher *w, PortSet *listening)
{
  memset (listening, 0, sizeof *listening);
  w->n_listening = 0;
  for (size_t t = 0; t < N_ELEMENTS (w->tables); t++)
    {
      if (w->tables[t] < 0)
        continue;
      if (lseek (w->tables[t], 0, SEEK_SET) < 0 || !read_all (w, w->tables[t]))
        {
          if (errno == ESRCH || errno == ENOENT || errno == EINVAL)
            sandbox_gone ();
          die_with_error ("watch-ports: read the sandbox's TCP sockets");
        }
      /* "  sl  local_address rem_address   st ...": after the header, one socket a line. */
      for (char *line = strchr (w->buffer, '\n'); line != NULL && *++line != '\0'; line = strchr (line, '\n'))
        {
          char address[33];
          unsigned port, state;
          if (sscanf (line, " %*u: %32[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", address, &port, &state) != 3 || state != TCP_LISTEN)
            continue;
          if (port == 0 || port > MAX_PORT || !reachable (address) || port_in (&w->published, port) || port_in (listening, port))
            continue;
          port_add (listening, port);
          w->listening = xrealloc (w->listening, w->n_listening + 1, sizeof *w->listening);
          w->listening[w->n_listening++] = port;
        }
    }
}

/* One request to slirp4netns's API (one JSON object per connection, the write side shut after it); the reply
   in w->buffer. Connected through the directory's fd: a sockaddr_un path holds 107 bytes, a store path may
   be longer. */
static void
api_request (Watcher *w, const char *request)
{
  cleanup_fd int sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    die_with_error ("watch-ports: socket");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", w->dir_fd, API_SOCKET);
  if (connect (sock, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      if (errno == ECONNREFUSED || errno == ENOENT)
        sandbox_gone ();
      die_with_error ("watch-ports: connect to %s/%s", w->dir, API_SOCKET);
    }
  if (write_all (sock, request, strlen (request)) < 0 || shutdown (sock, SHUT_WR) < 0)
    die_with_error ("watch-ports: send to slirp4netns");
  if (!read_all (w, sock))
    die_with_error ("watch-ports: read slirp4netns's reply");
}

/* Forwards a host port to container_port; false when slirp4netns refused every host port tried. */
static bool
add_forward (Watcher *w, unsigned container_port)
{
  unsigned first = container_port > w->first_host_port ? container_port : w->first_host_port;
  for (unsigned host_port = first; host_port <= MAX_PORT && host_port < first + MAX_ATTEMPTS; host_port++)
    {
      char request[256];
      snprintf (request, sizeof request,
                "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":%u,"
                "\"guest_port\":%u}}",
                host_port, container_port);
      api_request (w, request);
      /* {"return":{"id":N}}, or {"error":{"desc":"..."}} when the host port is taken. */
      const char *id = strstr (w->buffer, "\"id\"");
      if (strstr (w->buffer, "\"error\"") != NULL || id == NULL)
        continue;
      id += strlen ("\"id\"");
      id += strspn (id, " \t\n");
      if (*id++ != ':')
        continue;
      w->forwards = xrealloc (w->forwards, w->n_forwards + 1, sizeof *w->forwards);
      w->forwards[w->n_forwards++] = (Forward) { container_port, host_port, strtol (id, NULL, 10) };
      return true;
    }
  return false;
}

static void
remove_forward (Watcher *w, size_t i)
{
  char request[128];
  snprintf (request, sizeof request, "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":%ld}}", w->forwards[i].id);
  api_request (w, request);
  w->forwards[i] = w->forwards[--w->n_forwards];
}

/* DIR/auto-ports.json, replaced whole (written beside it, then renamed over it). */
static void
write_forwards (Watcher *w)
{
  cleanup_fd int fd = openat (w->dir_fd, FORWARDS_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    die_with_error ("watch-ports: write %s/%s", w->dir, FORWARDS_FILE);
  FILE *out = fdopen (steal_fd (&fd), "w");
  if (out == NULL)
    die_with_error ("watch-ports: fdopen");
  fputc ('[', out);
  for (size_t i = 0; i < w->n_forwards; i++)
    fprintf (out, "%s{\"hostIp\":\"127.0.0.1\",\"hostPort\":%u,\"containerPort\":%u,\"protocol\":\"tcp\",\"origin\":\"auto\"}",
             i ? "," : "", w->forwards[i].host_port, w->forwards[i].container_port);
  fputs ("]\n", out);
  if (fclose (out) != 0 || renameat (w->dir_fd, FORWARDS_FILE ".tmp", w->dir_fd, FORWARDS_FILE) < 0)
    die_with_error ("watch-ports: write %s/%s", w->dir, FORWARDS_FILE);
}

/* The namespace's TCP sockets in use, IPv4 and IPv6 ("TCP: inuse N", "TCP6: inuse N"). */
static long
tcp_in_use (Watcher *w)
{
  long total = 0;
  for (size_t i = 0; i < N_ELEMENTS (w->sockstat); i++)
    {
      char text[1024];
      if (w->sockstat[i] < 0)
        continue;
      ssize_t n = TEMP_FAILURE_RETRY (pread (w->sockstat[i], text, sizeof text - 1, 0));
      if (n < 0 && (errno == ESRCH || errno == ENOENT || errno == EINVAL))
        sandbox_gone ();
      if (n < 0)
        die_with_error ("watch-ports: read the sandbox's socket counts");
      text[n] = '\0';
      const char *line = strstr (text, i == 0 ? "TCP: inuse " : "TCP6: inuse ");
      if (line != NULL)
        total += strtol (strchr (line, ':') + strlen (": inuse "), NULL, 10);
    }
  return total;
}

/* One pass: forward new listeners, remove the forwards of listeners that went away. */
static void
scan (Watcher *w)
{
  PortSet listening;
  scan_listeners (w, &listening);
  bool changed = false;
  for (size_t i = 0; i < w->n_forwards;)
    if (port_in (&listening, w->forwards[i].container_port))
      i++;
    else
      {
        remove_forward (w, i);
        changed = true;
      }
  /* A port that could not be forwarded is tried again once it has gone and come back. */
  for (size_t b = 0; b < sizeof w->unforwardable.bits; b++)
    w->unforwardable.bits[b] &= listening.bits[b];
  for (size_t i = 0; i < w->n_listening; i++)
    {
      unsigned port = w->listening[i];
      bool forwarded = false;
      for (size_t f = 0; f < w->n_forwards && !forwarded; f++)
        forwarded = w->forwards[f].container_port == port;
      if (forwarded || port_in (&w->unforwardable, port))
        continue;
      if (add_forward (w, port))
        changed = true;
      else
        port_add (&w->unforwardable, port);
    }
  if (changed)
    write_forwards (w);
}

/* The first port a process without CAP_NET_BIND_SERVICE may bind (root of the host binds any). */
static unsigned
first_host_port (void)
{
  if (getuid () == 0)
    return 1;
  FILE *f = fopen ("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
  unsigned start = 1024; /* the kernel's default */
  if (f != NULL)
    {
      if (fscanf (f, "%u", &start) != 1)
        start = 1024;
      fclose (f);
    }
  return start;
}

static int
open_proc_net (pid_t pid, const char *name, bool optional)
{
  cleanup_free char *path = xasprintf ("/proc/%d/net/%s", (int) pid, name);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && optional) /* no IPv6 */
    return -1;
  if (fd < 0 && (errno == ENOENT || errno == ESRCH))
    sandbox_gone ();
  if (fd < 0)
    die_with_error ("watch-ports: open %s", path);
  return fd;
}

/* PORT or FROM-TO, into the set of ports not forwarded. */
static void
add_ports (PortSet *set, const char *text)
{
  const char *dash = strchr (text, '-');
  cleanup_free char *from_text = dash ? strndup (text, (size_t) (dash - text)) : xstrdup (text);
  if (from_text == NULL)
    die_with_error ("strndup");
  unsigned from = (unsigned) parse_number (from_text, MAX_PORT, "watch-ports PORT");
  unsigned to = dash ? (unsigned) parse_number (dash + 1, MAX_PORT, "watch-ports PORT range's end") : from;
  if (to < from)
    die ("watch-ports: the range \"%s\" ends before it starts", text);
  for (unsigned port = from; port <= to; port++)
    port_add (set, port);
}

int
watch_ports_main (int argc, char **argv)
{
  set_die_status (1);
  if (argc < 2)
    die ("watch-ports takes DIR PID [PORT...]");
  static Watcher w;
  w.dir = argv[0];
  if (w.dir[0] != '/')
    die ("watch-ports: DIR must be absolute: \"%s\"", w.dir);
  pid_t pid = (pid_t) parse_number (argv[1], 4194304, "watch-ports PID");
  for (int i = 2; i < argc; i++)
    add_ports (&w.published, argv[i]);
  if (fcntl (LIFETIME_FD, F_GETFD) < 0)
    die ("watch-ports: descriptor %d (the sandbox's lifetime socket) is not open", LIFETIME_FD);
  w.dir_fd = open (w.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* Started once the command runs (devbox run): a --rm container may be over, and its directory gone, already. */
  if (w.dir_fd < 0 && errno == ENOENT)
    sandbox_gone ();
  if (w.dir_fd < 0)
    die_with_error ("watch-ports: open %s", w.dir);
  w.tables[0] = open_proc_net (pid, "tcp", false);
  w.tables[1] = open_proc_net (pid, "tcp6", true);
  w.sockstat[0] = open_proc_net (pid, "sockstat", false);
  w.sockstat[1] = open_proc_net (pid, "sockstat6", true);
  w.first_host_port = first_host_port ();

  struct pollfd lifetime = { .fd = LIFETIME_FD, .events = POLLIN };
  unsigned quiet = 0;
  for (unsigned look = 0;; look++)
    {
      long in_use = tcp_in_use (&w);
      bool changed = in_use != w.in_use;
      quiet = changed ? 0 : quiet + 1;
      if (changed || look % FULL_SCAN_LOOKS == 0)
        {
          w.in_use = in_use;
          scan (&w);
        }
      int n = poll (&lifetime, 1, quiet < IDLE_AFTER_LOOKS ? SCAN_MS : IDLE_SCAN_MS);
      if (n < 0 && errno != EINTR)
        die_with_error ("watch-ports: poll");
      if (n > 0)
        {
          char byte;
          /* Nothing is ever sent: readable means end of file (or an error), the sandbox has ended. */
          if (lifetime.revents & (POLLHUP | POLLERR) || read (LIFETIME_FD, &byte, 1) <= 0)
            return 0;
        }
    }
}
