/* The sandbox described by argv, and the steps that act on it. */
#ifndef DEVBOX_HELPER_H
#define DEVBOX_HELPER_H

#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <termios.h>

#include "container.h"

typedef enum { ROOTFS_NONE, ROOTFS_OVERLAY, ROOTFS_FUSE, ROOTFS_DIRECTORY } RootfsKind;
/* MASK and READONLY are runc's masked and read-only paths: applied in order with the others, after them. */
typedef enum { MOUNT_BIND, MOUNT_RO_BIND, MOUNT_TMPFS, MOUNT_PROPAGATION, MOUNT_MASK, MOUNT_READONLY } MountKind;

typedef struct
{
  MountKind kind;
  const char *source;  /* on the host; NULL for the others */
  const char *dest;    /* inside the sandbox */
  unsigned long flags; /* tmpfs: MS_* mount flags; propagation: MS_PRIVATE or MS_SLAVE, maybe with MS_REC */
  char *data;          /* tmpfs: the file system's options (size=, mode=, …) */
} MountOp;

typedef struct { unsigned long inside, outside, count; } IdRange;

typedef struct
{
  IdRange *ranges;
  size_t n;
  char *tool; /* newuidmap/newgidmap to write it with; NULL when the helper writes it itself */
} IdMap;

/* --rlimit: a resource limit the command gets (docker's --ulimit). */
typedef struct
{
  int resource;
  const char *name;
  struct rlimit limit;
} RlimitOp;

typedef struct
{
  IdMap uid_map, gid_map;
  bool unshare_net, no_pivot, tty;
  bool image_tmp; /* keep the root file system's /tmp (a build step's /tmp is part of the image) */
  bool keep_alive; /* no command: pid 1 keeps the sandbox up for later --join until it is told to stop */
  bool archive;    /* the command is one of the helper's own file operations (archive.c), not a program */
  pid_t join_pid;  /* --join: run the command in the live sandbox whose pid 1 this is */
  pid_t userns_of; /* --userns-of: our user namespace is made inside this process's (a devbox network's) */
  pid_t netns_of;  /* --netns-of: share this process's network namespace (--network container:NAME) */
  RootfsKind rootfs;
  const char *lowerdirs, *upperdir, *workdir, *rootfs_dir, *mountpoint;
  char *fuse_program;
  MountOp *mounts;
  size_t n_mounts;
  const char *hostname, *cwd, *remove_after;
  char **env; /* KEY=VALUE, NULL-terminated */
  size_t n_env;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  char **command; /* NULL-terminated; NULL when none was given */
  int sync_fd;    /* --sync-fd; -1 when not given */
  bool setup_during_sync; /* --setup-during-sync: pid 1 sets up while the caller attaches, and waits before the command */
  uint64_t caps;  /* --caps: the bounding set, and root's permitted and effective sets; none by default */
  const char *seccomp_program;
  const char *seccomp_cache; /* --seccomp-cache DIR, or NULL */
  struct sock_fprog seccomp; /* --seccomp compiled; .filter NULL: no filter */
  const char *confine_dir;   /* --no-pivot --confine: the one directory the command may see */
  RlimitOp *rlimits;
  size_t n_rlimits;
  const char *cgroup; /* --cgroup DIR: pid 1 (with --join: the joining process) joins this cgroup v2 directory first, or NULL */
  ContainerOpts container;
} Options;

/* What the sandbox's pid 1 carries through setup: channels to the outer process, fds opened before pivot_root. */
typedef struct
{
  int ready_fd;       /* one byte to the outer process once the command has started */
  int go_fd;          /* --setup-during-sync: the outer process's go byte comes on it; -1 otherwise */
  int console_socket; /* --tty: the terminal master goes out through it (runc's console socket) */
  int pty_slave;      /* --tty: the command's terminal */
  int remove_parent;  /* --remove-after: the directory's parent, O_PATH */
  char *remove_name;
  int stdio[3];       /* --container without --tty: the command's stdin, stdout, stderr (pipes to the supervisor) */
} Sandbox;

/* The outer process's side of --tty. */
typedef struct
{
  int master;
  bool hung_up; /* no slave open any more: stop polling the master until the end */
  bool input_open;
  bool stdin_is_tty;
  bool raw;
  struct termios saved;
  char pending[4096]; /* read from stdin, not yet taken by the terminal */
  size_t pending_len, pending_off;
} Relay;

/* args.c */
void parse_args (int argc, char **argv, Options *opts);
void validate_options (Options *opts);

/* userns.c */
void parse_id_map (const char *text, IdMap *map, const char *option);
bool id_map_contains (const IdMap *map, unsigned long inside);
bool writes_map_itself (const IdMap *map, unsigned long own_id);
void write_id_maps (pid_t child, const Options *opts);
void become_namespace_root (void);
void enter_cgroup (const char *dir, pid_t child);

/* root.c */
void open_sandbox_root (const char *path);
void use_current_root (void);
int sandbox_root (void);
void close_sandbox_root (void);
int open_in_root (const char *path, int flags);
int open_or_create_in_root (const char *path, bool directory);
void bind_fd (int source_fd, int dest_fd, const char *dest);

/* mounts.c */
void mount_rootfs (const Options *opts);
void mount_sandbox_filesystems (const Options *opts);
void enter_rootfs (const Options *opts);

/* process.c */
int run_init (const Options *opts, Sandbox *sb);
void handled_signals (sigset_t *set);
/* pid 1's step: one signal from the signalfd passed on to the command, or on SIGCHLD every exited child
   reaped (orphans re-parent to pid 1). True, with the command's status, once the command has exited. */
bool pass_signal_or_reap (int sfd, pid_t command, int *status);
/* pid 1's signals (handled_signals) blocked and read from the returned signalfd instead. */
int init_signalfd (void);
void reset_signals (void);
void remember_command_line (int argc, char **argv);
void wipe_environment (void);
void exec_failed (const char *cmd) __attribute__ ((noreturn));
void prepare_process (const Options *opts, int pty_slave);
void exec_command (const Options *opts, int pty_slave) __attribute__ ((noreturn));
void drop_bounding_set (uint64_t caps);
void end_all_processes (void);
void allow_joins (const Options *opts);
void hide_command_line (void);

/* confine.c */
int run_confined (const Options *opts);

/* layer.c: --confine DIR --archive -- layer …, an image layer's tar extracted into DIR, run in the cell */
void validate_layer_command (char **command);
int extract_layer (const Options *opts);

/* seccomp.c */
void compile_seccomp (const char *program, const char *cache_dir, struct sock_fprog *out);
void load_seccomp (const struct sock_fprog *filter);

/* container-init.c */
int run_container_init (const Options *opts, Sandbox *sb);

/* supervise.c */
int supervise (pid_t child, int ready_fd, int console_socket);

/* join.c */
int join_sandbox (const Options *opts);
void enter_outer_namespaces (const Options *opts);

/* pty.c */
int open_console (int console_socket, bool bind_console);
bool relay_start (Relay *relay, int console_socket);
int relay_poll_fds (const Relay *relay, struct pollfd *fds);
void relay_handle (Relay *relay, const struct pollfd *fds);
void relay_resize (const Relay *relay);
void relay_finish (Relay *relay);

/* sync.c */
void validate_sync_fd (int fd);
bool sync_with_caller (int fd, pid_t child, pid_t outbound, int child_fd);

/* outbound.c */
pid_t start_outbound (const ContainerOpts *c, pid_t sandbox, int lifetime, int *ready_fd);
bool outbound_ready (pid_t pid, int ready_fd);
void end_outbound (pid_t pid);
void await_outbound_end (pid_t pid);

/* archive.c */
void validate_archive_command (char **command);
int run_archive (const Options *opts);

/* ports.c */
int watch_ports_main (int argc, char **argv);

/* keeper.c: keep-namespace mode, the store's user namespace owner. */
int keep_namespace_main (int argc, char **argv);

/* fsops.c */
int fsops_main (int argc, char **argv);
/* forward.c: forward-ports mode, published TCP ports from the host into a sandbox's network namespace. */
int forward_ports_main (int argc, char **argv);
int remove_tree_at (int parent_fd, const char *name);
int remove_path (const char *path);

#endif
