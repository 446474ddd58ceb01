/*
 * Health checks, Docker's way: the check command runs in the container (joined like `devbox exec`, as the
 * container's user, with its environment) every interval; `retries` failures in a row make it unhealthy, one
 * success healthy; failures in the start period do not count, and probes come every start interval then. The
 * last five results are kept in state.json, each with up to 4 KiB of its output.
 */
#include "container.h"
#include "helper.h"
#include "monitor.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

void
health_init (Monitor *m)
{
  Health *h = &m->health;
  h->out = -1;
  h->timer = -1;
  if (m->c->health_cmd == NULL)
    return;
  if ((h->timer = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
    die_with_error ("timerfd_create");
}

static void
arm (Health *h, long ms)
{
  struct itimerspec when = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L + (ms <= 0) } };
  if (timerfd_settime (h->timer, 0, &when, NULL) < 0)
    die_with_error ("timerfd_settime");
}

static bool
in_start_period (const Monitor *m)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  long ms = (now.tv_sec - m->health.container_started.tv_sec) * 1000 + (now.tv_nsec - m->health.container_started.tv_nsec) / 1000000;
  return ms < m->c->health_start_period_ms;
}

static void
schedule (Monitor *m)
{
  bool starting = strcmp (m->health.status, "starting") == 0 && in_start_period (m);
  arm (&m->health, starting ? m->c->health_start_interval_ms : m->c->health_interval_ms);
}

void
health_reset (Monitor *m)
{
  Health *h = &m->health;
  if (h->timer < 0)
    return;
  h->status = "starting";
  h->failing_streak = 0;
  clock_gettime (CLOCK_MONOTONIC, &h->container_started);
  schedule (m);
}

void
health_stop (Monitor *m)
{
  Health *h = &m->health;
  if (h->timer < 0)
    return;
  struct itimerspec never = { 0 };
  (void) timerfd_settime (h->timer, 0, &never, NULL);
  if (h->probe > 0)
    (void) kill (h->probe, SIGKILL);
}

/* The probe: the check command joined into the container, its output into a pipe. */
static void
start_probe (Monitor *m)
{
  Health *h = &m->health;
  int pipefd[2];
  if (pipe2 (pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
    die_with_error ("pipe2");
  pid_t pid = fork ();
  if (pid < 0)
    die_with_error ("fork the health check");
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0 || dup2 (null, STDIN_FILENO) < 0 || dup2 (pipefd[1], STDOUT_FILENO) < 0 || dup2 (pipefd[1], STDERR_FILENO) < 0)
        _exit (EXIT_SETUP_FAILED);
      Options probe = *m->opts;
      probe.join_pid = m->pid1;
      probe.command = m->c->health_cmd;
      probe.tty = false;
      _exit (join_sandbox (&probe));
    }
  close (pipefd[1]);
  h->probe = pid;
  h->out = pipefd[0];
  h->output_len = 0;
  h->timed_out = false;
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  format_timestamp (&now, h->probe_start, sizeof h->probe_start);
  arm (h, m->c->health_timeout_ms);
}

void
health_timer (Monitor *m)
{
  Health *h = &m->health;
  uint64_t expirations;
  if (read (h->timer, &expirations, sizeof expirations) <= 0)
    return;
  if (h->probe > 0)
    {
      h->timed_out = true;
      (void) kill (h->probe, SIGKILL); /* its end is reaped as a failure */
    }
  else if (m->command_running)
    start_probe (m);
}

/* false once nothing more is there to read now */
static bool
read_probe_output (Health *h)
{
  char buf[4096];
  ssize_t n = read (h->out, buf, sizeof buf);
  if (n <= 0)
    {
      if (n == 0 || (errno != EINTR && errno != EAGAIN))
        {
          close (h->out);
          h->out = -1;
        }
      return false;
    }
  size_t room = sizeof h->output - 1 - h->output_len;
  size_t take = (size_t) n < room ? (size_t) n : room;
  memcpy (h->output + h->output_len, buf, take);
  h->output_len += take;
  return true;
}

void
health_output (Monitor *m)
{
  read_probe_output (&m->health);
}

static void
record_result (Health *h, int exit_code)
{
  if (h->n_log == HEALTH_LOG)
    {
      free (h->log[0].output);
      memmove (h->log, h->log + 1, (HEALTH_LOG - 1) * sizeof h->log[0]);
      h->n_log--;
    }
  HealthResult *r = &h->log[h->n_log++];
  snprintf (r->start, sizeof r->start, "%s", h->probe_start);
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  format_timestamp (&now, r->end, sizeof r->end);
  r->exit_code = exit_code;
  r->output = h->timed_out ? xstrdup ("Health check exceeded timeout") : xasprintf ("%.*s", (int) h->output_len, h->output);
}

void
health_reaped (Monitor *m, pid_t pid, int status)
{
  Health *h = &m->health;
  if (pid != h->probe)
    return;
  /* The rest of its output; a process it left inside may still hold the pipe, so no waiting for its end. */
  while (h->out >= 0 && read_probe_output (h))
    ;
  if (h->out >= 0)
    close (h->out);
  h->out = -1;
  h->probe = 0;
  if (!m->command_running)
    return;
  const char *before = h->status;
  int exit_code = h->timed_out ? -1 : status;
  record_result (h, exit_code);
  if (exit_code == 0)
    {
      h->status = "healthy";
      h->failing_streak = 0;
    }
  else if (!(strcmp (h->status, "starting") == 0 && in_start_period (m)) && ++h->failing_streak >= m->c->health_retries)
    h->status = "unhealthy";
  write_state (m);
  if (strcmp (before, h->status) != 0)
    event (m, "health_status", "status", h->status);
  schedule (m);
}

char *
health_json (const Health *h)
{
  if (h->status == NULL)
    return NULL;
  size_t cap = 256;
  for (size_t i = 0; i < h->n_log; i++)
    cap += 200 + strlen (h->log[i].output) * 6;
  char *text = xcalloc (cap, 1);
  size_t len = (size_t) snprintf (text, cap, "{ \"status\": \"%s\", \"failingStreak\": %lu, \"log\": [", h->status, h->failing_streak);
  for (size_t i = 0; i < h->n_log; i++)
    {
      const HealthResult *r = &h->log[i];
      cleanup_free char *output = json_string (r->output, strlen (r->output));
      len += (size_t) snprintf (text + len, cap - len, "%s{ \"start\": \"%s\", \"end\": \"%s\", \"exitCode\": %d, \"output\": %s }", i ? ", " : "", r->start,
                                r->end, r->exit_code, output);
    }
  snprintf (text + len, cap - len, "] }");
  return text;
}
