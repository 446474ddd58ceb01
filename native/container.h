/*
 * --container DIR: the outer process is the container's supervisor (podman's conmon). It keeps the records in
 * DIR that devbox reads (state.json, the log, the attach socket), carries out the restart policy and runs the
 * health checks; pid 1 runs the command again when told to. See README.md, "Containers".
 */
#ifndef DEVBOX_CONTAINER_H
#define DEVBOX_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef enum { RESTART_NO, RESTART_ALWAYS, RESTART_UNLESS_STOPPED, RESTART_ON_FAILURE } RestartPolicy;

/* The argument of --slirp4netns that stands for pid 1's pid. */
#define SLIRP4NETNS_PID "{pid}"

typedef struct
{
  const char *dir;       /* NULL: not a container */
  bool detach;           /* outlive the caller; the command's stdio goes to the log and attach clients */
  bool interactive;      /* the command's stdin is relayed (from the caller, or attach clients) */
  int notify_fd;         /* "up PID\n" once the command runs, "detached\n" on the detach keys; -1: none */
  const char *log_path;  /* the command's output, k8s-file */
  long log_max_size;     /* bytes; 0: no rotation */
  int log_max_files;
  const char *events_path;
  RestartPolicy restart;
  unsigned long restart_max; /* on-failure:N; 0: unlimited */
  int stop_signal;
  unsigned char detach_keys[8];
  size_t n_detach_keys;
  char **health_cmd; /* NULL-terminated; NULL: no health check */
  size_t n_health_cmd;
  long health_interval_ms, health_timeout_ms, health_start_period_ms, health_start_interval_ms;
  unsigned long health_retries;
  char **slirp4netns;  /* NULL-terminated: its command line, SLIRP4NETNS_PID standing for pid 1's (outbound.c); NULL: none */
  size_t n_slirp4netns;
  const char *slirp4netns_log;
  char **exit_command; /* NULL-terminated; run once the container is done for good (podman's --exit-command) */
  size_t n_exit_command;
} ContainerOpts;

/* Messages between the supervisor and pid 1 (a SOCK_SEQPACKET pair): a kind byte, then an int32 for some. */
enum
{
  PID1_UP = 'r',        /* the command runs and pid 1 is joinable */
  PID1_STARTED = 's',   /* the command runs again */
  PID1_EXITED = 'x',    /* + status: the command exited; everything it left is gone */
  PID1_SIGNAL = 'k',    /* + signal: send it to the command */
  PID1_RESTART = 'R',   /* run the command again */
  PID1_QUIT = 'q',      /* end everything and exit */
};

int send_message (int fd, char kind, int32_t value);
/* 1 with a message, 0 at end of file, -1 on error. */
int receive_message (int fd, char *kind, int32_t *value);

/* record.c: time stamps and the records in DIR */
void format_timestamp (const struct timespec *ts, char *buf, size_t len);
char *json_string (const char *text, size_t len);
void write_record (const char *path, const char *text);
void append_event (const char *events_path, const char *id, const char *action, const char *attribute, const char *value);

/* logfile.c: the command's output in podman's k8s-file format, rotated by size */
typedef struct
{
  const char *path;
  int fd;
  long size, max_size;
  int max_files;
} LogFile;

void log_open (LogFile *log, const char *path, long max_size, int max_files);
void log_write (LogFile *log, const char *stream, const char *buf, size_t len);


/* The supervisor's view of one attach client (attach.c). Frames both ways: a kind byte, a big-endian u32 length, data. */
#define MAX_CLIENTS 16

typedef struct
{
  int fd;          /* -1: a free slot */
  bool output;     /* sent the command's output */
  bool input;      /* its 'i' frames go to the command's stdin */
  char in[8192];   /* a frame being read */
  size_t in_len;
  char *out;       /* frames not yet written */
  size_t out_len;
} Client;

enum
{
  FRAME_ATTACH = 'a',  /* client: u8 flags (1: stdin, 2: output) */
  FRAME_STDIN = 'i',   /* client: input for the command */
  FRAME_STDIN_END = 'e',
  FRAME_RESIZE = 'w',  /* client: u16 rows, u16 columns */
  FRAME_STOP = 's',    /* client: u32 signal; the restart policy is suspended */
  FRAME_KILL = 'k',    /* client: u32 signal */
  FRAME_ACK = 'A',     /* supervisor: u32, 0 or an errno */
  FRAME_STDOUT = 'o',
  FRAME_STDERR = 'E',
  FRAME_EXIT = 'x',    /* supervisor: u32 exit status, then it hangs up */
};

#endif
