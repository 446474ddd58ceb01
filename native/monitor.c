/*
 * The container's supervisor (--container DIR): the outer process once pid 1 exists. It holds the command's
 * stdio (pipes, or the terminal's master), writes it to the log, to attach clients and, in the foreground, to
 * the caller; records state.json at every change; carries out stop and kill requests and the restart policy;
 * runs the health checks (health.c); and once pid 1 is gone, removes DIR for --remove-after. One process per
 * container, idle in poll(2) while nothing happens.
 */
#include "container.h"
#include "helper.h"
#include "monitor.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
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
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void
now_stamp (char *buf, size_t len)
{
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  format_timestamp (&now, buf, len);
}

void
write_state (Monitor *m)
{
  cleanup_free char *health = health_json (&m->health);
  cleanup_free char *error = json_string (m->error, strlen (m->error));
  cleanup_free char *text = xasprintf ("{\n  \"status\": \"%s\",\n  \"pid\": %d,\n  \"pidStart\": \"%s\",\n  \"supervisorPid\": %d,\n"
                                       "  \"supervisorStart\": \"%s\",\n  \"startedAt\": \"%s\",\n  \"finishedAt\": \"%s\",\n"
                                       "  \"exitCode\": %d,\n  \"restartCount\": %lu%s%s%s%s\n}\n",
                                       m->status, m->command_running || m->status[0] == 'r' ? (int) m->pid1 : 0, m->pid1_start, (int) getpid (),
                                       m->self_start, m->started_at, m->finished_at, m->exit_code, m->restart_count, m->error[0] ? ",\n  \"error\": " : "",
                                       m->error[0] ? error : "", health ? ",\n  \"health\": " : "", health ? health : "");
  write_record (m->state_path, text);
}

void
event (Monitor *m, const char *action, const char *attribute, const char *value)
{
  append_event (m->c->events_path, m->id, action, attribute, value);
}

/* --- output: the log, attach clients and (in the foreground) the caller --- */

static void
distribute (Monitor *m, int stream, const char *buf, size_t len)
{
  log_write (&m->log, stream == 2 ? "stderr" : "stdout", buf, len);
  if (m->foreground && write_all (stream, buf, len) < 0 && errno == EPIPE)
    m->foreground = false; /* the caller's output is gone; the container goes on */
  clients_output (m, stream == 2 ? FRAME_STDERR : FRAME_STDOUT, buf, len);
}

/* Reads what fd has; false at its end. Non-blocking: `drain` reads until nothing is left. */
static bool
pump_output (Monitor *m, int fd, int stream)
{
  char buf[16384];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n > 0)
        {
          distribute (m, stream, buf, (size_t) n);
          if ((size_t) n < sizeof buf)
            return true;
          continue;
        }
      return n < 0 && (errno == EAGAIN || errno == EINTR); /* EIO from a master without a slave: its end */
    }
}

/* Everything the command wrote before it exited is in the pipes (or the terminal): take it before going on. */
static void
drain_output (Monitor *m)
{
  if (m->master >= 0)
    pump_output (m, m->master, 1);
  if (m->out_fd >= 0)
    pump_output (m, m->out_fd, 1);
  if (m->err_fd >= 0)
    pump_output (m, m->err_fd, 2);
}

/* --- input: the caller's keys (with the detach keys) and attach clients go to the command --- */

void
queue_input (Monitor *m, const char *buf, size_t len)
{
  int target = m->master >= 0 ? m->master : m->in_fd;
  if (target < 0)
    return;
  if (m->pending_len - m->pending_off == 0)
    m->pending_len = m->pending_off = 0;
  if (len > sizeof m->pending - m->pending_len)
    len = sizeof m->pending - m->pending_len; /* the command is not reading: drop what does not fit */
  memcpy (m->pending + m->pending_len, buf, len);
  m->pending_len += len;
}

static void
flush_input (Monitor *m)
{
  int target = m->master >= 0 ? m->master : m->in_fd;
  if (target < 0)
    return;
  if (m->pending_off < m->pending_len)
    {
      ssize_t n = write (target, m->pending + m->pending_off, m->pending_len - m->pending_off);
      if (n > 0)
        m->pending_off += (size_t) n;
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        m->pending_off = m->pending_len; /* the command closed its input */
    }
  if (m->close_input && m->pending_off == m->pending_len && m->master < 0)
    {
      close (m->in_fd);
      m->in_fd = -1;
      m->close_input = false;
    }
}

/* End of input: the pipe closes; a terminal gets its end-of-file character, as script(1) sends. */
void
end_input (Monitor *m)
{
  struct termios t;
  if (m->master >= 0 && tcgetattr (m->master, &t) == 0)
    queue_input (m, (const char *) &t.c_cc[VEOF], 1);
  else if (m->in_fd >= 0)
    {
      /* Input that came before the end goes first: closing now would drop it. */
      m->close_input = true;
      flush_input (m);
    }
}


/* Leaves the caller: the container goes on, supervised, without a terminal or a caller to die with. */
static void
detach_caller (Monitor *m)
{
  m->foreground = false;
  m->caller_input = false;
  m->detached = true;
  if (m->raw)
    (void) tcsetattr (STDIN_FILENO, TCSAFLUSH, &m->saved_termios);
  m->raw = false;
  if (m->c->notify_fd >= 0)
    {
      (void) write_all (m->c->notify_fd, "detached\n", 9);
      close (m->c->notify_fd);
    }
  (void) prctl (PR_SET_PDEATHSIG, 0);
  (void) setsid (); /* out of the terminal's process group: its hang-up is not a stop */
  cleanup_fd int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  cleanup_free char *messages = xasprintf ("%s/supervisor.log", m->c->dir);
  cleanup_fd int err = open (messages, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (null >= 0)
    {
      dup2 (null, STDIN_FILENO);
      dup2 (null, STDOUT_FILENO);
      dup2 (err >= 0 ? err : null, STDERR_FILENO);
    }
}

/* The caller's keys; the detach sequence (held back while it is being typed) detaches instead of reaching the command. */
static void
read_caller_input (Monitor *m)
{
  char buf[4096];
  ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
    {
      m->caller_input = false;
      end_input (m);
      return;
    }
  if (n < 0)
    return;
  const ContainerOpts *c = m->c;
  size_t start = 0;
  for (size_t i = 0; i < (size_t) n && c->n_detach_keys && m->master >= 0; i++)
    {
      if ((unsigned char) buf[i] == c->detach_keys[m->key_match])
        {
          if (m->key_match == 0)
            queue_input (m, buf + start, i - start);
          start = i + 1;
          if (++m->key_match == c->n_detach_keys)
            {
              detach_caller (m);
              return;
            }
        }
      else if (m->key_match > 0)
        {
          queue_input (m, (const char *) c->detach_keys, m->key_match); /* not the sequence after all */
          m->key_match = 0;
          start = i;
          i--;
        }
    }
  if (m->key_match == 0)
    queue_input (m, buf + start, (size_t) n - start);
}

/* --- the command's life: up, exits, restarts, stop and kill requests --- */

static bool
policy_restarts (const Monitor *m, int status)
{
  switch (m->c->restart)
    {
    case RESTART_ALWAYS:
    case RESTART_UNLESS_STOPPED:
      return true;
    case RESTART_ON_FAILURE:
      return status != 0 && (m->c->restart_max == 0 || m->restart_count < m->c->restart_max);
    case RESTART_NO:
    default:
      return false;
    }
}

static void
arm_timer (int timer, long ms)
{
  struct itimerspec when = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L } };
  if (ms <= 0)
    when.it_value.tv_nsec = 1; /* 0 would disarm it */
  if (timerfd_settime (timer, 0, &when, NULL) < 0)
    die_with_error ("timerfd_settime");
}

static void
disarm_timer (int timer)
{
  struct itimerspec never = { 0 };
  (void) timerfd_settime (timer, 0, &never, NULL);
}

static long
elapsed_ms (const struct timespec *since)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void
command_started (Monitor *m)
{
  m->command_running = true;
  m->status = "running";
  clock_gettime (CLOCK_MONOTONIC, &m->started_mono);
  now_stamp (m->started_at, sizeof m->started_at);
  m->finished_at[0] = '\0';
  health_reset (m);
  write_state (m);
  event (m, "start", NULL, NULL);
}

static void
command_exited (Monitor *m, int status)
{
  drain_output (m);
  m->command_running = false;
  m->exit_code = status;
  now_stamp (m->finished_at, sizeof m->finished_at);
  health_stop (m);
  char code[16];
  snprintf (code, sizeof code, "%d", status);
  event (m, "die", "exitCode", code);
  clients_exit (m, status);
  if (m->stopping || !policy_restarts (m, status))
    {
      m->status = "exited";
      (void) send_message (m->ctl, PID1_QUIT, 0);
      return;
    }
  /* Docker's back-off: 100 ms, doubled at each restart, at most a minute; back to 100 ms after 10 s of running. */
  m->restart_delay_ms = elapsed_ms (&m->started_mono) >= 10000 || m->restart_delay_ms == 0 ? 100 : m->restart_delay_ms * 2;
  if (m->restart_delay_ms > 60000)
    m->restart_delay_ms = 60000;
  m->restart_count++;
  m->status = "restarting";
  write_state (m);
  arm_timer (m->restart_timer, m->restart_delay_ms);
}

/* stop: the restart policy is set aside and the command gets the signal; kill: the same for fatal signals. */
int
request_signal (Monitor *m, int sig, bool stop)
{
  if (stop || sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == m->c->stop_signal)
    m->stopping = true;
  if (m->command_running)
    return send_message (m->ctl, PID1_SIGNAL, sig) < 0 ? EPIPE : 0;
  if (strcmp (m->status, "restarting") == 0 && m->stopping)
    {
      disarm_timer (m->restart_timer);
      m->status = "exited";
      (void) send_message (m->ctl, PID1_QUIT, 0);
      return 0;
    }
  return ESRCH;
}

static void
handle_pid1_message (Monitor *m)
{
  char kind;
  int32_t value;
  int r = receive_message (m->ctl, &kind, &value);
  if (r <= 0)
    {
      close (m->ctl);
      m->ctl = -1; /* pid 1 is exiting: SIGCHLD follows */
      return;
    }
  switch (kind)
    {
    case PID1_UP:
      m->was_up = true;
      process_start_time (m->pid1, m->pid1_start, sizeof m->pid1_start);
      command_started (m);
      if (m->c->notify_fd >= 0)
        {
          char line[32];
          int len = snprintf (line, sizeof line, "up %d\n", (int) m->pid1);
          (void) write_all (m->c->notify_fd, line, (size_t) len);
          if (m->c->detach)
            close (m->c->notify_fd);
        }
      break;
    case PID1_STARTED:
      command_started (m);
      break;
    case PID1_EXITED:
      command_exited (m, value);
      break;
    default:
      break;
    }
}

/* SIGCHLD: pid 1 (the end) or a health probe; the stop signals are a stop; SIGWINCH resizes; the rest go to the command. */
static void
handle_signal (Monitor *m)
{
  struct signalfd_siginfo info;
  if (TEMP_FAILURE_RETRY (read (m->sfd, &info, sizeof info)) != sizeof info)
    die_with_error ("read signalfd");
  int sig = (int) info.ssi_signo;
  if (sig == SIGCHLD)
    {
      int wstatus;
      pid_t pid;
      while ((pid = waitpid (-1, &wstatus, WNOHANG)) > 0)
        if (pid == m->pid1)
          m->pid1_status = exit_status_of (wstatus);
        else if (pid == m->outbound)
          m->outbound = 0;
        else
          health_reaped (m, pid, exit_status_of (wstatus));
    }
  else if (sig == SIGWINCH)
    {
      if (m->foreground && m->master >= 0)
        relay_resize (&m->relay);
    }
  else
    (void) request_signal (m, sig, sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT);
}

/* Removes DIR as root of the container's user namespace (its files belong to the container's ids). */
static void
remove_container_dir (Monitor *m)
{
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork");
  if (pid == 0)
    {
      if (setns (m->userns_fd, CLONE_NEWUSER) < 0)
        die_with_error ("enter the container's user namespace");
      _exit (remove_path (m->c->dir) ? 1 : 0);
    }
  if (wait_exit_status (pid) != 0)
    warn_msg ("could not remove %s", m->c->dir);
}

/*
 * The caller's cleanup once the container is done for good (a --rm container's anonymous volumes): run to its
 * end before the supervisor exits, so a caller waiting for the supervisor finds it done. It is the caller's
 * own program, run on the host as the supervisor is; its output is not the container's.
 */
static void
run_exit_command (Monitor *m)
{
  pid_t pid = fork ();
  if (pid < 0)
    {
      warn_msg ("could not run the exit command: %s", strerror (errno));
      return;
    }
  if (pid == 0)
    {
      reset_signals ();
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null < 0 || dup2 (null, STDIN_FILENO) < 0 || dup2 (null, STDOUT_FILENO) < 0)
        _exit (127);
      if (syscall (SYS_close_range, 3U, ~0U, 0U) < 0 || chdir ("/") < 0) /* the supervisor's folder is gone */
        _exit (127);
      execv (m->c->exit_command[0], m->c->exit_command);
      _exit (127);
    }
  if (wait_exit_status (pid) != 0)
    warn_msg ("the exit command %s failed", m->c->exit_command[0]);
}

/*
 * A caller still waiting in the foreground does the exit command's work itself, sparing the start of a
 * process: it is told `exit-command` on the notify socket and answers one byte once done. A caller that has
 * detached or hangs up instead leaves it to the supervisor.
 */
static bool
caller_runs_exit_command (Monitor *m)
{
  static const char line[] = "exit-command\n";
  if (m->c->detach || m->detached || m->c->notify_fd < 0)
    return false;
  if (TEMP_FAILURE_RETRY (send (m->c->notify_fd, line, sizeof line - 1, MSG_NOSIGNAL)) != (ssize_t) (sizeof line - 1))
    return false;
  /* The descriptor may be non-blocking (it was made for the caller's event loop). */
  struct pollfd pfd = { .fd = m->c->notify_fd, .events = POLLIN };
  while (poll (&pfd, 1, -1) < 0)
    if (errno != EINTR)
      return false;
  char byte;
  return read_byte (m->c->notify_fd, &byte) == 1;
}

static int
finish (Monitor *m)
{
  drain_output (m);
  if (m->command_running)
    {
      /* pid 1 was killed while the command ran: the command died with it. */
      m->command_running = false;
      m->exit_code = m->pid1_status;
      char code[16];
      snprintf (code, sizeof code, "%d", m->exit_code);
      event (m, "die", "exitCode", code);
    }
  if (!m->was_up)
    {
      m->exit_code = EXIT_SETUP_FAILED;
      m->status = "created";
      snprintf (m->error, sizeof m->error, "the container could not be started");
    }
  else
    m->status = "exited";
  if (!m->finished_at[0])
    now_stamp (m->finished_at, sizeof m->finished_at);
  clients_exit (m, m->exit_code);
  if (m->raw)
    (void) tcsetattr (STDIN_FILENO, TCSAFLUSH, &m->saved_termios);
  /* Its socket and log are in the directory, and its host ports are what a caller waiting for us needs free. */
  if (m->outbound)
    await_outbound_end (m->outbound);
  if (m->opts->remove_after)
    remove_container_dir (m);
  else
    write_state (m);
  if (m->c->exit_command && !caller_runs_exit_command (m))
    run_exit_command (m);
  return m->exit_code;
}

static void
open_output_pipes (Monitor *m)
{
  for (int *fd = &m->out_fd; fd <= &m->err_fd; fd++)
    if (*fd >= 0 && fcntl (*fd, F_SETFL, O_NONBLOCK) < 0)
      die_with_error ("fcntl");
  if (m->in_fd >= 0 && fcntl (m->in_fd, F_SETFL, O_NONBLOCK) < 0)
    die_with_error ("fcntl");
}

int
monitor_container (const Options *opts, pid_t pid1, const MonitorFds *fds)
{
  static Monitor monitor;
  Monitor *m = &monitor;
  const ContainerOpts *c = &opts->container;
  *m = (Monitor){ .opts = opts, .c = c, .pid1 = pid1, .pid1_status = -1, .ctl = fds->ctl, .out_fd = fds->out, .err_fd = fds->err,
                  .in_fd = fds->in, .master = -1, .userns_fd = fds->userns, .status = "running", .listen_fd = -1,
                  .outbound = fds->outbound };
  m->id = strrchr (c->dir, '/') + 1;
  m->state_path = xasprintf ("%s/state.json", c->dir);
  process_start_time (getpid (), m->self_start, sizeof m->self_start);
  m->log.fd = -1;
  if (c->log_path)
    log_open (&m->log, c->log_path, c->log_max_size, c->log_max_files);
  m->foreground = !c->detach;
  m->caller_input = m->foreground && c->interactive;
  health_init (m);
  if ((m->restart_timer = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
    die_with_error ("timerfd_create");
  open_output_pipes (m);
  if (fds->console >= 0)
    {
      if (m->foreground && isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &m->saved_termios) == 0)
        m->raw = true; /* relay_start makes it raw; it is restored whatever way this ends */
      if (relay_start (&m->relay, fds->console))
        m->master = m->relay.master;
      close (fds->console);
    }
  clients_listen (m);
  write_state (m); /* the supervisor is findable before pid 1 is up */
  sigset_t set;
  handled_signals (&set);
  if ((m->sfd = signalfd (-1, &set, SFD_CLOEXEC)) < 0)
    die_with_error ("signalfd");

  while (m->pid1_status < 0)
    {
      struct pollfd p[10 + 1 + MAX_CLIENTS]; /* the supervisor's own ten, the attach socket, one per client slot */
      nfds_t n = 0;
      int target = m->master >= 0 ? m->master : m->in_fd;
      bool pending = m->pending_off < m->pending_len;
      p[n++] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->ctl, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->master, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->out_fd, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->err_fd, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->caller_input && !pending ? STDIN_FILENO : -1, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = pending ? target : -1, .events = POLLOUT };
      p[n++] = (struct pollfd){ .fd = m->restart_timer, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->health.timer, .events = POLLIN };
      p[n++] = (struct pollfd){ .fd = m->health.out, .events = POLLIN };
      nfds_t first_client = n;
      n += clients_poll_fds (m, p + n, pending);
      if (poll (p, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          die_with_error ("poll");
        }
      if (p[2].revents && !pump_output (m, m->master, 1))
        m->master = -1;
      if (p[3].revents && !pump_output (m, m->out_fd, 1))
        m->out_fd = -1;
      if (p[4].revents && !pump_output (m, m->err_fd, 2))
        m->err_fd = -1;
      if (p[1].revents)
        handle_pid1_message (m);
      if (p[5].revents)
        read_caller_input (m);
      if (p[6].revents)
        flush_input (m);
      if (p[7].revents)
        {
          uint64_t expirations;
          if (read (m->restart_timer, &expirations, sizeof expirations) > 0 && strcmp (m->status, "restarting") == 0)
            (void) send_message (m->ctl, PID1_RESTART, 0);
        }
      if (p[8].revents)
        health_timer (m);
      if (p[9].revents)
        health_output (m);
      clients_handle (m, p + first_client);
      if (p[0].revents & POLLIN)
        handle_signal (m);
    }
  return finish (m);
}
