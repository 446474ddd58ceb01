/* The sandbox description parsed from argv, and the steps that act on it. */
#ifndef DEVBOX_HELPER_H
#define DEVBOX_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum
{
  ROOTFS_NONE,
  ROOTFS_OVERLAY,
  ROOTFS_FUSE,
  ROOTFS_DIRECTORY,
} RootfsKind;

typedef enum
{
  MOUNT_BIND,
  MOUNT_RO_BIND,
  MOUNT_TMPFS,
} MountKind;

typedef struct
{
  MountKind kind;
  const char *source;
  const char *dest; /* inside the sandbox */
} MountOp;

typedef struct
{
  unsigned long inside, outside, count;
} IdRange;

typedef struct
{
  IdRange *ranges;
  size_t n;
} IdMap;

typedef struct
{
  IdMap uid_map, gid_map;
  bool unshare_net;
  bool no_pivot;
  bool tty;
  RootfsKind rootfs;
  const char *lowerdirs, *upperdir, *workdir, *fuse_program, *rootfs_dir, *mountpoint;
  MountOp *mounts;
  size_t n_mounts;
  const char *hostname;
  const char *cwd;
  char **env; /* KEY=VALUE, NULL-terminated */
  size_t n_env;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  const char *remove_after;
  char **command; /* NULL-terminated; NULL when none was given */
} Options;

/* userns.c */
void parse_id_map (const char *text, IdMap *map, const char *option);
bool id_map_contains (const IdMap *map, unsigned long inside);
void write_id_maps (pid_t child, const Options *opts);
void become_namespace_root (const Options *opts);

/* mounts.c */
void mount_rootfs (const Options *opts);
void mount_sandbox_filesystems (const Options *opts);
void enter_rootfs (const Options *opts);
int open_remove_target (const char *path, char **name_out);
void remove_tree_at (int parent_fd, const char *name);

/* process.c */
void make_child_fatal_on_parent_death (void);
int run_init (const Options *opts, int console_socket, int remove_parent, const char *remove_name);
void exec_command (const Options *opts, const char *pty_slave) __attribute__ ((noreturn));

/* relay.c */
int supervise (pid_t child, int console_socket);

/* fsops.c */
int fsops_main (int argc, char **argv);

#endif
