/*
 * --no-pivot --confine DIR: a cell for the layer unpacker, so that a bug in the extractor cannot write outside
 * the layer it is writing (containers/storage's chrootarchive does the same for Go). The worker is a Node.js
 * program, which cannot chroot itself and cannot start before its root has node, its libraries and its
 * modules; so it starts on the host's file system, loads everything, and then asks to be confined:
 *
 *   the worker  --"confine"-->  this process: pivot_root into DIR, which moves the root and working
 *                               directory of every process of the mount namespace that had the old ones (the
 *                               worker's cwd is made "/" for this), then detaches the old root
 *   the worker  --"fsops ..."-> this process: the helper's fsops (whiteouts, FIFOs, xattrs, which Node.js
 *                               cannot make), run in a child, on paths inside DIR
 *
 * Requests and replies go over a socket that is the worker's fd 3, each as a 4-byte little-endian length
 * and that many bytes: a request is NUL-terminated words; a reply is '0' (done) or '1' (failed) and then
 * the operation's output or its one-line error. The worker keeps only the capabilities extraction needs (no
 * CAP_SYS_ADMIN: it cannot mount its way back out). A worker that ends without having been confined is a
 * failure, so a worker that forgot to ask cannot pass for a confined one.
 */
#include "helper.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONTROL_FD 3
/* A request carries a batch of fsops arguments: generous, but bounded. */
#define MAX_REQUEST (64u << 20)

/* What extraction needs: ownership, modes with setuid/setgid, writing into directories of other owners. */
static const uint64_t WORKER_CAPS = (UINT64_C (1) << CAP_CHOWN) | (UINT64_C (1) << CAP_DAC_OVERRIDE) | (UINT64_C (1) << CAP_DAC_READ_SEARCH)
                                    | (UINT64_C (1) << CAP_FOWNER) | (UINT64_C (1) << CAP_FSETID);

static int
read_exactly (int fd, void *buf, size_t len)
{
  char *p = buf;
  while (len > 0)
    {
      ssize_t n = TEMP_FAILURE_RETRY (read (fd, p, len));
      if (n <= 0)
        return n == 0 && p == buf ? 0 : -1;
      p += n;
      len -= (size_t) n;
    }
  return 1;
}

static void
reply (int sock, bool ok, const char *text, size_t len)
{
  uint32_t size = (uint32_t) len + 1;
  char status = ok ? '0' : '1';
  if (write_all (sock, &size, sizeof size) < 0 || write_all (sock, &status, 1) < 0 || write_all (sock, text, len) < 0)
    die_with_error ("reply to the confined worker");
}

static void
enter_cell (int dir_fd, const char *dir)
{
  if (fchdir (dir_fd) < 0)
    die_with_error ("chdir %s", dir);
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    die_with_error ("pivot_root %s", dir);
  if (umount2 (".", MNT_DETACH) < 0)
    die_with_error ("detach the host's root");
  if (chdir ("/") < 0)
    die_with_error ("chdir /");
}

/* The contents of a memfd, its trailing newline dropped. */
static char *
memfd_text (int fd, size_t *len)
{
  off_t size = lseek (fd, 0, SEEK_END);
  char *text = xcalloc ((size_t) (size > 0 ? size : 0) + 1, 1);
  ssize_t n = size > 0 ? pread (fd, text, (size_t) size, 0) : 0;
  *len = n > 0 ? (size_t) n : 0;
  while (*len > 0 && text[*len - 1] == '\n')
    text[--*len] = '\0';
  return text;
}

/* fsops in a child: its errors die() there, and come back as the reply's text. */
static void
run_fsops (int sock, char **argv, int argc)
{
  cleanup_fd int out = memfd_create ("fsops-out", MFD_CLOEXEC);
  cleanup_fd int err = memfd_create ("fsops-err", MFD_CLOEXEC);
  if (out < 0 || err < 0)
    die_with_error ("memfd_create");
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork fsops");
  if (pid == 0)
    {
      if (dup2 (out, STDOUT_FILENO) < 0 || dup2 (err, STDERR_FILENO) < 0)
        _exit (1);
      _exit (fsops_main (argc, argv));
    }
  int status = wait_exit_status (pid);
  size_t len;
  cleanup_free char *text = memfd_text (status == 0 ? out : err, &len);
  reply (sock, status == 0, text, len);
}

/* Serves the worker until it closes its end; returns whether it was confined. */
static bool
serve (int sock, int dir_fd, const char *dir)
{
  bool confined = false;
  for (;;)
    {
      uint32_t size;
      int r = read_exactly (sock, &size, sizeof size);
      if (r == 0)
        return confined;
      if (r < 0 || size == 0 || size > MAX_REQUEST)
        die ("--confine: a malformed request from the worker");
      cleanup_free char *request = xcalloc (size + 1, 1);
      if (read_exactly (sock, request, size) != 1 || request[size - 1] != '\0')
        die ("--confine: a malformed request from the worker");
      size_t argc = 0;
      for (size_t i = 0; i < size; i++)
        argc += request[i] == '\0';
      cleanup_free char **argv = xcalloc (argc + 1, sizeof (char *));
      for (size_t i = 0, word = 0; word < argc; i += strlen (request + i) + 1)
        argv[word++] = request + i;
      if (strcmp (argv[0], "confine") == 0 && argc == 1 && !confined)
        {
          enter_cell (dir_fd, dir);
          confined = true;
          reply (sock, true, "", 0);
        }
      else if (strcmp (argv[0], "fsops") == 0 && confined)
        run_fsops (sock, argv + 1, (int) argc - 1);
      else
        {
          static const char refused[] = "devbox-helper: --confine: only one \"confine\", then \"fsops\" requests";
          reply (sock, false, refused, sizeof refused - 1);
        }
    }
}

static void __attribute__ ((noreturn))
exec_worker (const Options *opts, int sock)
{
  /* dup2 onto itself would keep close-on-exec. */
  if (sock == CONTROL_FD ? fcntl (sock, F_SETFD, 0) < 0 : dup2 (sock, CONTROL_FD) < 0)
    die_with_error ("hand the control socket to the worker");
  /* pivot_root moves only a root and a working directory that are the old root itself. */
  if (chdir ("/") < 0)
    die_with_error ("chdir /");
  drop_bounding_set (WORKER_CAPS); /* root's capabilities after exec are the bounding set */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_with_error ("prctl(PR_SET_PDEATHSIG)");
  reset_signals ();
  execvp (opts->command[0], opts->command);
  exec_failed (opts->command[0]);
}

int
run_confined (const Options *opts)
{
  const char *dir = opts->confine_dir;
  /* As runc: nothing mounted here reaches the host. pivot_root needs DIR to be a mount point. */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    die_with_error ("make / a slave mount");
  if (mount (dir, dir, NULL, MS_BIND, NULL) < 0)
    die_with_error ("bind %s onto itself", dir);
  cleanup_fd int dir_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    die_with_error ("open %s", dir);
  if (opts->archive) /* the helper's own extractor (layer.c): confined before it reads a byte */
    {
      enter_cell (dir_fd, dir);
      return extract_layer (opts);
    }
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    die_with_error ("socketpair");
  pid_t worker = fork ();
  if (worker < 0)
    die_with_error ("fork the worker");
  if (worker == 0)
    {
      close (sv[0]);
      exec_worker (opts, sv[1]);
    }
  close (sv[1]);
  bool confined = serve (sv[0], dir_fd, dir);
  int status = wait_exit_status (worker);
  if (status == 0 && !confined)
    die ("--confine: %s ended without asking to be confined", opts->command[0]);
  return status;
}
