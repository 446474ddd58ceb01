/* The container supervisor's state, shared by monitor.c, attach.c and health.c. */
#ifndef DEVBOX_MONITOR_H
#define DEVBOX_MONITOR_H

#include "container.h"
#include "helper.h"

#include <poll.h>
#include <stdbool.h>
#include <termios.h>

/* The descriptors main.c hands over once pid 1 exists; -1 for those that do not apply. */
typedef struct
{
  int ctl;     /* SOCK_SEQPACKET to pid 1 */
  int console; /* --tty: the console socket the terminal's master comes through */
  int out, err, in;
  int userns;  /* the container's user namespace, for removing DIR as its root */
  pid_t outbound; /* slirp4netns, started by the helper (outbound.c); 0: none */
} MonitorFds;

#define HEALTH_LOG 5

typedef struct
{
  char start[48], end[48];
  int exit_code;
  char *output;
} HealthResult;

typedef struct
{
  const char *status; /* NULL without a health check */
  unsigned long failing_streak;
  HealthResult log[HEALTH_LOG];
  size_t n_log;
  int timer;           /* the next probe, or the running probe's timeout */
  pid_t probe;         /* 0: none running */
  int out;             /* the probe's output */
  char output[4097];
  size_t output_len;
  char probe_start[48];
  bool timed_out;
  struct timespec container_started;
} Health;

typedef struct
{
  const Options *opts;
  const ContainerOpts *c;
  const char *id;
  char *state_path;
  pid_t pid1;
  int pid1_status; /* -1 until it is reaped */
  char pid1_start[32], self_start[32];
  int ctl, sfd;
  int out_fd, err_fd, in_fd, master;
  Relay relay;
  bool raw;
  struct termios saved_termios;
  bool foreground, caller_input;
  bool detached; /* the detach keys were typed: the caller is gone, its notify socket closed */
  char pending[8192];
  size_t pending_len, pending_off;
  bool close_input; /* end of input asked for: in_fd closes once what is pending is written */
  size_t key_match;
  int listen_fd;
  Client clients[MAX_CLIENTS];
  LogFile log;
  const char *status;
  bool command_running, stopping, was_up;
  int exit_code;
  unsigned long restart_count;
  long restart_delay_ms;
  char started_at[48], finished_at[48], error[256];
  struct timespec started_mono;
  int restart_timer;
  Health health;
  int userns_fd;
  pid_t outbound; /* slirp4netns while it is not reaped; 0: none or gone */
} Monitor;

int monitor_container (const Options *opts, pid_t pid1, const MonitorFds *fds);
void write_state (Monitor *m);
void event (Monitor *m, const char *action, const char *attribute, const char *value);
void queue_input (Monitor *m, const char *buf, size_t len);
void end_input (Monitor *m);
int request_signal (Monitor *m, int sig, bool stop);

/* attach.c */
void clients_listen (Monitor *m);
nfds_t clients_poll_fds (Monitor *m, struct pollfd *fds, bool input_pending);
void clients_handle (Monitor *m, const struct pollfd *fds);
void clients_output (Monitor *m, char kind, const char *buf, size_t len);
void clients_exit (Monitor *m, int status);

/* health.c */
void health_init (Monitor *m);
void health_reset (Monitor *m);
void health_stop (Monitor *m);
void health_timer (Monitor *m);
void health_output (Monitor *m);
void health_reaped (Monitor *m, pid_t pid, int status);
char *health_json (const Health *h);

#endif
