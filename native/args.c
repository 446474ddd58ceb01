/*
 * The command line: parsed completely and validated before anything is created, so a bad option never
 * leaves a half-made namespace or container behind (bubblewrap's strictness).
 */
#include "helper.h"
#include "util.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* name, number of arguments, repeatable */
#define OPTION_TABLE(X)                         \
  X (UID_MAP, "--uid-map", 1, false)            \
  X (GID_MAP, "--gid-map", 1, false)            \
  X (UNSHARE_NET, "--unshare-net", 0, false)    \
  X (USERNS_OF, "--userns-of", 1, false)        \
  X (NETNS_OF, "--netns-of", 1, false)          \
  X (NO_PIVOT, "--no-pivot", 0, false)          \
  X (OVERLAY, "--overlay", 3, false)            \
  X (FUSE_OVERLAY, "--fuse-overlay", 4, false)  \
  X (ROOTFS, "--rootfs", 1, false)              \
  X (MOUNTPOINT, "--mountpoint", 1, false)      \
  X (BIND, "--bind", 2, true)                   \
  X (RO_BIND, "--ro-bind", 2, true)             \
  X (TMPFS, "--tmpfs", 2, true)                 \
  X (PROPAGATION, "--propagation", 2, true)     \
  X (IMAGE_TMP, "--image-tmp", 0, false)        \
  X (HOSTNAME, "--hostname", 1, false)          \
  X (CHDIR, "--chdir", 1, false)                \
  X (SETENV, "--setenv", 2, true)               \
  X (UID, "--uid", 1, false)                    \
  X (GID, "--gid", 1, false)                    \
  X (GROUPS, "--groups", 1, false)              \
  X (TTY, "--tty", 0, false)                    \
  X (REMOVE_AFTER, "--remove-after", 1, false)  \
  X (SYNC_FD, "--sync-fd", 1, false)            \
  X (SETUP_DURING_SYNC, "--setup-during-sync", 0, false) \
  X (KEEP_ALIVE, "--keep-alive", 0, false)      \
  X (JOIN, "--join", 1, false)                              \
  X (ARCHIVE, "--archive", 0, false)                        \
  X (CAPS, "--caps", 1, false)                              \
  X (SECCOMP, "--seccomp", 1, false)                        \
  X (SECCOMP_CACHE, "--seccomp-cache", 1, false)            \
  X (MASKED_PATH, "--masked-path", 1, true)                 \
  X (READONLY_PATH, "--readonly-path", 1, true)             \
  X (CONFINE, "--confine", 1, false)                        \
  X (RLIMIT, "--rlimit", 3, true)                           \
  X (CGROUP, "--cgroup", 1, false)                          \
  X (CONTAINER, "--container", 1, false)                    \
  X (DETACH, "--detach", 0, false)                          \
  X (NOTIFY_FD, "--notify-fd", 1, false)                    \
  X (INTERACTIVE, "--interactive", 0, false)                \
  X (LOG, "--log", 1, false)                                \
  X (LOG_MAX_SIZE, "--log-max-size", 1, false)              \
  X (LOG_MAX_FILES, "--log-max-files", 1, false)            \
  X (EVENTS, "--events", 1, false)                          \
  X (RESTART, "--restart", 1, false)                        \
  X (STOP_SIGNAL, "--stop-signal", 1, false)                \
  X (DETACH_KEYS, "--detach-keys", 1, false)                \
  X (HEALTH_CMD, "--health-cmd", 1, true)                   \
  X (HEALTH_INTERVAL, "--health-interval", 1, false)        \
  X (HEALTH_TIMEOUT, "--health-timeout", 1, false)          \
  X (HEALTH_START_PERIOD, "--health-start-period", 1, false) \
  X (HEALTH_START_INTERVAL, "--health-start-interval", 1, false) \
  X (HEALTH_RETRIES, "--health-retries", 1, false)          \
  X (SLIRP4NETNS, "--slirp4netns", 1, true)                 \
  X (SLIRP4NETNS_LOG, "--slirp4netns-log", 1, false)        \
  X (EXIT_COMMAND, "--exit-command", 1, true)

#define OPTION_ID(id, name, n_args, repeatable) OPT_##id,
#define OPTION_ENTRY(id, name, n_args, repeatable) { name, n_args, repeatable },
typedef enum { OPTION_TABLE (OPTION_ID) N_OPTIONS } OptionId;
static const struct
{
  const char *name;
  int n_args;
  bool repeatable;
} option_table[N_OPTIONS] = { OPTION_TABLE (OPTION_ENTRY) };

static bool seen[N_OPTIONS];

static OptionId
lookup_option (const char *arg)
{
  for (int id = 0; id < N_OPTIONS; id++)
    if (strcmp (arg, option_table[id].name) == 0)
      return (OptionId) id;
  die ("unknown option \"%s\" (a command goes after --)", arg);
}

static MountOp *
add_mount (Options *opts, MountKind kind, const char *source, const char *dest)
{
  opts->mounts = xrealloc (opts->mounts, opts->n_mounts + 1, sizeof (MountOp));
  opts->mounts[opts->n_mounts] = (MountOp){ .kind = kind, .source = source, .dest = dest };
  return &opts->mounts[opts->n_mounts++];
}

/* --tmpfs DST OPTIONS: mount(8)-style options, the flags among them taken out of the data string tmpfs gets. */
static void
parse_tmpfs_options (const char *text, MountOp *m)
{
  static const struct
  {
    const char *name;
    unsigned long set, clear;
  } flags[] = {
    { "ro", MS_RDONLY, 0 },      { "rw", 0, MS_RDONLY },          { "nosuid", MS_NOSUID, 0 },
    { "suid", 0, MS_NOSUID },    { "nodev", MS_NODEV, 0 },        { "dev", 0, MS_NODEV },
    { "noexec", MS_NOEXEC, 0 },  { "exec", 0, MS_NOEXEC },        { "noatime", MS_NOATIME, 0 },
    { "atime", 0, MS_NOATIME },  { "relatime", MS_RELATIME, 0 },  { "norelatime", 0, MS_RELATIME },
    { "strictatime", MS_STRICTATIME, 0 },
  };
  static const char *const keys[] = { "size=", "mode=", "uid=", "gid=", "nr_inodes=", "nr_blocks=" };
  cleanup_free char *copy = xstrdup (text);
  char *data = xstrdup ("");
  char *save = NULL;
  for (char *opt = strtok_r (copy, ",", &save); opt; opt = strtok_r (NULL, ",", &save))
    {
      bool known = false;
      for (size_t i = 0; i < N_ELEMENTS (flags) && !known; i++)
        if (strcmp (opt, flags[i].name) == 0)
          {
            m->flags = (m->flags | flags[i].set) & ~flags[i].clear;
            known = true;
          }
      for (size_t i = 0; i < N_ELEMENTS (keys) && !known; i++)
        if (strncmp (opt, keys[i], strlen (keys[i])) == 0)
          {
            const char *value = opt + strlen (keys[i]);
            if (!*value || strspn (value, "0123456789kKmMgG%") != strlen (value))
              die ("--tmpfs %s: invalid option \"%s\"", m->dest, opt);
            char *joined = xasprintf ("%s%s%s", data, *data ? "," : "", opt);
            free (data);
            data = joined;
            known = true;
          }
      if (!known)
        die ("--tmpfs %s: unknown option \"%s\"", m->dest, opt);
    }
  m->data = data;
}

static void
parse_propagation (const char *mode, MountOp *m)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } modes[] = { { "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC }, { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC } };
  for (size_t i = 0; i < N_ELEMENTS (modes); i++)
    if (strcmp (mode, modes[i].name) == 0)
      {
        m->flags = modes[i].flags;
        return;
      }
  die ("--propagation %s: \"%s\" is not private, rprivate, slave or rslave", m->dest, mode);
}

/* Resource names as docker's --ulimit spells them (setrlimit(2)'s RLIMIT_*, lowercased, without the prefix). */
static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "core", RLIMIT_CORE },       { "cpu", RLIMIT_CPU },         { "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },     { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },   { "nproc", RLIMIT_NPROC },     { "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },   { "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

static rlim_t
parse_rlim (const char *text)
{
  return strcmp (text, "unlimited") == 0 ? RLIM_INFINITY : (rlim_t) parse_number (text, ULONG_MAX - 1, "--rlimit");
}

/* --rlimit NAME SOFT HARD: set before the command runs, for it and whatever it starts. */
static void
add_rlimit (Options *opts, char **a)
{
  size_t i = 0;
  while (i < N_ELEMENTS (rlimit_names) && strcmp (a[0], rlimit_names[i].name) != 0)
    i++;
  if (i == N_ELEMENTS (rlimit_names))
    die ("--rlimit: unknown resource \"%s\"", a[0]);
  struct rlimit limit = { parse_rlim (a[1]), parse_rlim (a[2]) };
  if (limit.rlim_cur > limit.rlim_max)
    die ("--rlimit %s: the soft limit is above the hard one", a[0]);
  opts->rlimits = xrealloc (opts->rlimits, opts->n_rlimits + 1, sizeof (RlimitOp));
  /* The table's name, not argv's: pid 1 overwrites its command line (hide_command_line). */
  opts->rlimits[opts->n_rlimits++] = (RlimitOp){ rlimit_names[i].resource, rlimit_names[i].name, limit };
}

static void
parse_groups (const char *text, Options *opts)
{
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      opts->groups = xrealloc (opts->groups, opts->n_groups + 1, sizeof (gid_t));
      opts->groups[opts->n_groups++] = (gid_t) parse_number (tok, 0xfffffffeUL, "--groups");
    }
}

/* Capability numbers, comma-separated; empty for none. */
static void
parse_caps (const char *text, Options *opts)
{
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;
  opts->caps = 0;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    opts->caps |= UINT64_C (1) << parse_number (tok, 63, "--caps");
}

static void
parse_restart (const char *text, ContainerOpts *c)
{
  if (strcmp (text, "no") == 0)
    c->restart = RESTART_NO;
  else if (strcmp (text, "always") == 0)
    c->restart = RESTART_ALWAYS;
  else if (strcmp (text, "unless-stopped") == 0)
    c->restart = RESTART_UNLESS_STOPPED;
  else if (strcmp (text, "on-failure") == 0)
    c->restart = RESTART_ON_FAILURE;
  else if (strncmp (text, "on-failure:", 11) == 0)
    {
      c->restart = RESTART_ON_FAILURE;
      c->restart_max = parse_number (text + 11, 1000000, "--restart on-failure:N");
    }
  else
    die ("--restart: expected no, always, unless-stopped or on-failure[:N], not \"%s\"", text);
}

/* Byte values, comma-separated: "16,17" is ctrl-p,ctrl-q. */
static void
parse_detach_keys (const char *text, ContainerOpts *c)
{
  cleanup_free char *copy = xstrdup (text);
  char *save = NULL;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      if (c->n_detach_keys == N_ELEMENTS (c->detach_keys))
        die ("--detach-keys: at most %zu keys", N_ELEMENTS (c->detach_keys));
      c->detach_keys[c->n_detach_keys++] = (unsigned char) parse_number (tok, 255, "--detach-keys");
    }
}

static void
apply_container_option (ContainerOpts *c, OptionId id, char **a)
{
  switch (id)
    {
    case OPT_CONTAINER: c->dir = a[0]; break;
    case OPT_DETACH: c->detach = true; break;
    case OPT_NOTIFY_FD: c->notify_fd = (int) parse_number (a[0], INT_MAX, "--notify-fd"); break;
    case OPT_INTERACTIVE: c->interactive = true; break;
    case OPT_LOG: c->log_path = a[0]; break;
    case OPT_LOG_MAX_SIZE: c->log_max_size = (long) parse_number (a[0], LONG_MAX, "--log-max-size"); break;
    case OPT_LOG_MAX_FILES: c->log_max_files = (int) parse_number (a[0], 100, "--log-max-files"); break;
    case OPT_EVENTS: c->events_path = a[0]; break;
    case OPT_RESTART: parse_restart (a[0], c); break;
    case OPT_STOP_SIGNAL: c->stop_signal = (int) parse_number (a[0], 64, "--stop-signal"); break;
    case OPT_DETACH_KEYS: parse_detach_keys (a[0], c); break;
    case OPT_HEALTH_CMD:
      c->health_cmd = xrealloc (c->health_cmd, c->n_health_cmd + 2, sizeof (char *));
      c->health_cmd[c->n_health_cmd++] = a[0];
      c->health_cmd[c->n_health_cmd] = NULL;
      break;
    case OPT_HEALTH_INTERVAL: c->health_interval_ms = (long) parse_number (a[0], LONG_MAX, "--health-interval"); break;
    case OPT_HEALTH_TIMEOUT: c->health_timeout_ms = (long) parse_number (a[0], LONG_MAX, "--health-timeout"); break;
    case OPT_HEALTH_START_PERIOD: c->health_start_period_ms = (long) parse_number (a[0], LONG_MAX, "--health-start-period"); break;
    case OPT_HEALTH_START_INTERVAL: c->health_start_interval_ms = (long) parse_number (a[0], LONG_MAX, "--health-start-interval"); break;
    case OPT_HEALTH_RETRIES: c->health_retries = parse_number (a[0], 1000000, "--health-retries"); break;
    case OPT_SLIRP4NETNS:
      c->slirp4netns = xrealloc (c->slirp4netns, c->n_slirp4netns + 2, sizeof (char *));
      c->slirp4netns[c->n_slirp4netns++] = a[0];
      c->slirp4netns[c->n_slirp4netns] = NULL;
      break;
    case OPT_SLIRP4NETNS_LOG: c->slirp4netns_log = a[0]; break;
    case OPT_EXIT_COMMAND:
      c->exit_command = xrealloc (c->exit_command, c->n_exit_command + 2, sizeof (char *));
      c->exit_command[c->n_exit_command++] = a[0];
      c->exit_command[c->n_exit_command] = NULL;
      break;
    default:
      die ("unhandled option %d", (int) id);
    }
}

static void
apply_option (Options *opts, OptionId id, char **a)
{
  switch (id)
    {
    case OPT_UID_MAP: parse_id_map (a[0], &opts->uid_map, "--uid-map"); break;
    case OPT_GID_MAP: parse_id_map (a[0], &opts->gid_map, "--gid-map"); break;
    case OPT_UNSHARE_NET: opts->unshare_net = true; break;
    case OPT_NO_PIVOT: opts->no_pivot = true; break;
    case OPT_TTY: opts->tty = true; break;
    case OPT_IMAGE_TMP: opts->image_tmp = true; break;
    case OPT_OVERLAY:
    case OPT_FUSE_OVERLAY:
      opts->rootfs = id == OPT_OVERLAY ? ROOTFS_OVERLAY : ROOTFS_FUSE;
      if (id == OPT_FUSE_OVERLAY)
        opts->fuse_program = *a++;
      opts->lowerdirs = a[0];
      opts->upperdir = a[1];
      opts->workdir = a[2];
      break;
    case OPT_ROOTFS:
      opts->rootfs = ROOTFS_DIRECTORY;
      opts->rootfs_dir = a[0];
      break;
    case OPT_MOUNTPOINT: opts->mountpoint = a[0]; break;
    case OPT_BIND: add_mount (opts, MOUNT_BIND, a[0], a[1]); break;
    case OPT_RO_BIND: add_mount (opts, MOUNT_RO_BIND, a[0], a[1]); break;
    case OPT_TMPFS: parse_tmpfs_options (a[1], add_mount (opts, MOUNT_TMPFS, NULL, a[0])); break;
    case OPT_PROPAGATION: parse_propagation (a[1], add_mount (opts, MOUNT_PROPAGATION, NULL, a[0])); break;
    case OPT_HOSTNAME: opts->hostname = a[0]; break;
    case OPT_CHDIR: opts->cwd = a[0]; break;
    case OPT_SETENV:
      if (a[0][0] == '\0' || strchr (a[0], '='))
        die ("--setenv: invalid variable name \"%s\"", a[0]);
      opts->env[opts->n_env++] = xasprintf ("%s=%s", a[0], a[1]);
      break;
    case OPT_UID: opts->uid = (uid_t) parse_number (a[0], 0xfffffffeUL, "--uid"); break;
    case OPT_GID: opts->gid = (gid_t) parse_number (a[0], 0xfffffffeUL, "--gid"); break;
    case OPT_GROUPS: parse_groups (a[0], opts); break;
    case OPT_REMOVE_AFTER: opts->remove_after = a[0]; break;
    case OPT_SYNC_FD: opts->sync_fd = (int) parse_number (a[0], INT_MAX, "--sync-fd"); break;
    case OPT_SETUP_DURING_SYNC: opts->setup_during_sync = true; break;
    case OPT_KEEP_ALIVE: opts->keep_alive = true; break;
    case OPT_JOIN: opts->join_pid = (pid_t) parse_number (a[0], 0x3fffffffUL, "--join"); break;
    case OPT_ARCHIVE: opts->archive = true; break;
    case OPT_USERNS_OF: opts->userns_of = (pid_t) parse_number (a[0], 0x3fffffffUL, "--userns-of"); break;
    case OPT_NETNS_OF: opts->netns_of = (pid_t) parse_number (a[0], 0x3fffffffUL, "--netns-of"); break;
    case OPT_CAPS: parse_caps (a[0], opts); break;
    case OPT_SECCOMP: opts->seccomp_program = a[0]; break;
    case OPT_SECCOMP_CACHE: opts->seccomp_cache = a[0]; break;
    case OPT_MASKED_PATH: add_mount (opts, MOUNT_MASK, NULL, a[0]); break;
    case OPT_READONLY_PATH: add_mount (opts, MOUNT_READONLY, NULL, a[0]); break;
    case OPT_CONFINE: opts->confine_dir = a[0]; break;
    case OPT_RLIMIT: add_rlimit (opts, a); break;
    case OPT_CGROUP: opts->cgroup = a[0]; break;
    case OPT_CONTAINER ... OPT_EXIT_COMMAND: apply_container_option (&opts->container, id, a); break;
    case N_OPTIONS:
    default:
      die ("unhandled option %d", (int) id);
    }
}

void
parse_args (int argc, char **argv, Options *opts)
{
  opts->env = xcalloc ((size_t) argc + 1, sizeof (char *));
  opts->cwd = "/";
  opts->sync_fd = -1;
  opts->container = (ContainerOpts){ .notify_fd = -1, .log_max_files = 1, .stop_signal = 15, .health_interval_ms = 30000,
                                     .health_timeout_ms = 30000, .health_start_interval_ms = 5000, .health_retries = 3 };
  int i = 1;
  while (i < argc && strcmp (argv[i], "--") != 0)
    {
      OptionId id = lookup_option (argv[i]);
      int n = option_table[id].n_args;
      if (argc - i - 1 < n)
        die ("%s takes %d argument%s", argv[i], n, n == 1 ? "" : "s");
      if (seen[id] && !option_table[id].repeatable)
        die ("%s may be given only once", argv[i]);
      seen[id] = true;
      apply_option (opts, id, &argv[i + 1]);
      i += 1 + n;
    }
  if (i < argc)
    i++; /* the "--" */
  opts->command = i < argc ? &argv[i] : NULL;
}

static void
require_absolute (const char *path, const char *what)
{
  if (path[0] != '/')
    die ("%s must be an absolute path: \"%s\"", what, path);
}

/* --no-pivot only mounts an overlay on the host's file system, or confines its command to one directory;
   anything else would be silently ignored. */
static void
validate_no_pivot (const Options *opts)
{
  for (int id = 0; id < N_OPTIONS; id++)
    if (seen[id] && id != OPT_UID_MAP && id != OPT_GID_MAP && id != OPT_NO_PIVOT && id != OPT_OVERLAY && id != OPT_MOUNTPOINT && id != OPT_CONFINE
        && id != OPT_UNSHARE_NET && id != OPT_SYNC_FD && id != OPT_USERNS_OF && !(id == OPT_ARCHIVE && opts->confine_dir))
      die ("--no-pivot cannot be combined with %s", option_table[id].name);
  /* Entered, not nested in: the namespace's own maps apply (a devbox network's holder joins the networks' owner). */
  if (opts->userns_of && (seen[OPT_UID_MAP] || seen[OPT_GID_MAP] || !opts->unshare_net || seen[OPT_OVERLAY] || opts->confine_dir))
    die ("--no-pivot --userns-of PID takes --unshare-net and no id maps, --overlay or --confine: it enters PID's user namespace");
  if (opts->confine_dir && (seen[OPT_OVERLAY] || !opts->archive || opts->command == NULL))
    die ("--confine takes --archive, a command (layer …) and no --overlay: it is the layer extractor's cell");
  if (opts->confine_dir)
    require_absolute (opts->confine_dir, "--confine");
}

static void
validate_paths (const Options *opts)
{
  require_absolute (opts->cwd, "--chdir");
  for (size_t i = 0; i < opts->n_mounts; i++)
    {
      require_absolute (opts->mounts[i].dest, "a mount destination");
      if (opts->mounts[i].dest[strspn (opts->mounts[i].dest, "/")] == '\0')
        die ("a mount destination cannot be /");
      bool bound = false;
      for (size_t j = 0; j < i && opts->mounts[i].kind == MOUNT_PROPAGATION; j++)
        bound = bound || (opts->mounts[j].kind != MOUNT_TMPFS && opts->mounts[j].kind != MOUNT_PROPAGATION && strcmp (opts->mounts[j].dest, opts->mounts[i].dest) == 0);
      if (opts->mounts[i].kind == MOUNT_PROPAGATION && !bound)
        die ("--propagation %s: no --bind to %s comes before it", opts->mounts[i].dest, opts->mounts[i].dest);
    }
  if (opts->remove_after)
    {
      require_absolute (opts->remove_after, "--remove-after");
      const char *name = strrchr (opts->remove_after, '/') + 1;
      if (!*name || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        die ("--remove-after needs a directory path ending in its name: \"%s\"", opts->remove_after);
    }
  if (opts->lowerdirs && opts->lowerdirs[0] == '\0')
    die ("--overlay: no lower directory given");
}

/* The ids the command runs as must exist in the namespace, or setuid/setgroups fail halfway through setup. */
static void
validate_identity (const Options *opts)
{
  if (!id_map_contains (&opts->uid_map, 0) || !id_map_contains (&opts->gid_map, 0))
    die ("the id maps must map root (0) of the namespace");
  if (!id_map_contains (&opts->uid_map, opts->uid))
    die ("--uid %u is not mapped in the user namespace", (unsigned) opts->uid);
  if (!id_map_contains (&opts->gid_map, opts->gid))
    die ("--gid %u is not mapped in the user namespace", (unsigned) opts->gid);
  for (size_t i = 0; i < opts->n_groups; i++)
    if (!id_map_contains (&opts->gid_map, opts->groups[i]))
      die ("--groups: %u is not mapped in the user namespace", (unsigned) opts->groups[i]);
  /* An unprivileged process may map its own gid only after denying setgroups (CVE-2014-8989). */
  if (opts->n_groups && geteuid () != 0 && opts->gid_map.tool == NULL && !opts->userns_of)
    die ("--groups needs a gid map written by newgidmap: with a single-id map setgroups is denied");
  if (opts->hostname && (opts->hostname[0] == '\0' || strlen (opts->hostname) > HOST_NAME_MAX))
    die ("--hostname: expected 1 to %d characters: \"%s\"", HOST_NAME_MAX, opts->hostname);
}

/* Programs are looked up now, so a missing one is reported before any namespace exists. */
static void
find_programs (Options *opts)
{
  static const char *const tools[] = { "newuidmap", "newgidmap" };
  IdMap *maps[] = { &opts->uid_map, &opts->gid_map };
  unsigned long own[] = { getuid (), getgid () };
  /* Nested in a namespace of ours (--userns-of), we have its privileges and write the maps ourselves. */
  for (int i = 0; i < 2 && !opts->userns_of; i++)
    if (!writes_map_itself (maps[i], own[i]) && (maps[i]->tool = find_in_path (tools[i])) == NULL)
      die ("%s not found: install the uidmap package", tools[i]);
  if (opts->fuse_program)
    {
      char *found = find_in_path (opts->fuse_program);
      if (found == NULL)
        die ("--fuse-overlay: %s not found", opts->fuse_program);
      opts->fuse_program = found;
    }
}

/* --archive runs an operation of the helper's own as root of the namespace: there is no process to describe. */
static void
validate_archive (const Options *opts)
{
  static const int process_options[] = { OPT_CHDIR, OPT_SETENV, OPT_UID, OPT_GID, OPT_GROUPS, OPT_TTY, OPT_KEEP_ALIVE, OPT_REMOVE_AFTER, OPT_SYNC_FD, OPT_CONTAINER };
  for (size_t i = 0; i < N_ELEMENTS (process_options); i++)
    if (seen[process_options[i]])
      die ("--archive cannot be combined with %s", option_table[process_options[i]].name);
  if (opts->confine_dir)
    validate_layer_command (opts->command);
  else
    validate_archive_command (opts->command);
}

/* --join takes its namespaces, root and id maps from the live sandbox: only the process is described. */
static void
validate_join (const Options *opts)
{
  static const int process_options[] = { OPT_JOIN, OPT_CHDIR, OPT_SETENV, OPT_UID, OPT_GID, OPT_GROUPS, OPT_TTY, OPT_CAPS, OPT_SECCOMP, OPT_SECCOMP_CACHE, OPT_RLIMIT, OPT_ARCHIVE, OPT_CGROUP };
  for (int id = 0; id < N_OPTIONS; id++)
    {
      bool allowed = false;
      for (size_t i = 0; i < N_ELEMENTS (process_options); i++)
        allowed = allowed || id == process_options[i];
      if (seen[id] && !allowed)
        die ("--join cannot be combined with %s", option_table[id].name);
    }
  if (opts->join_pid < 2)
    die ("--join: expected the host pid of a live sandbox's pid 1");
  if (opts->command == NULL)
    die ("no command given after --");
  require_absolute (opts->cwd, "--chdir");
  if (opts->archive)
    validate_archive (opts);
}

/* The supervisor's options need --container, which runs one command, not a kept-alive or joined sandbox. */
static void
validate_container (const Options *opts)
{
  for (int id = OPT_CONTAINER + 1; id <= OPT_EXIT_COMMAND; id++)
    if (seen[id] && !seen[OPT_CONTAINER])
      die ("%s needs --container", option_table[id].name);
  if (!seen[OPT_CONTAINER])
    return;
  if (opts->keep_alive || opts->no_pivot)
    die ("--container cannot be combined with %s", opts->keep_alive ? "--keep-alive" : "--no-pivot");
  require_absolute (opts->container.dir, "--container");
  if (opts->container.detach && opts->container.notify_fd < 0)
    die ("--detach needs --notify-fd: the caller learns there that the container is up");
  if (opts->container.notify_fd >= 0 && opts->container.notify_fd < 3)
    die ("--notify-fd: %d is a standard stream; give a descriptor of its own", opts->container.notify_fd);
  if (opts->container.n_detach_keys && !opts->tty)
    die ("--detach-keys needs --tty");
  if (opts->container.exit_command)
    require_absolute (opts->container.exit_command[0], "--exit-command's program");
  if (seen[OPT_SLIRP4NETNS] != seen[OPT_SLIRP4NETNS_LOG])
    die ("--slirp4netns and --slirp4netns-log go together: its messages need a file");
  if (opts->container.slirp4netns)
    {
      require_absolute (opts->container.slirp4netns[0], "--slirp4netns's program");
      size_t pids = 0;
      for (size_t i = 1; i < opts->container.n_slirp4netns; i++)
        pids += strcmp (opts->container.slirp4netns[i], SLIRP4NETNS_PID) == 0;
      if (pids != 1)
        die ("--slirp4netns: its command line needs " SLIRP4NETNS_PID " once, where pid 1's pid goes");
      require_absolute (opts->container.slirp4netns_log, "--slirp4netns-log");
      if (!opts->unshare_net || !opts->setup_during_sync)
        die ("--slirp4netns needs --unshare-net and --setup-during-sync: it links the new network namespace while pid 1 sets up");
    }
}

void
validate_options (Options *opts)
{
  if (opts->seccomp_cache && !opts->seccomp_program)
    die ("--seccomp-cache goes with --seccomp: it keeps that program's compiled filter");
  if (seen[OPT_JOIN])
    {
      validate_join (opts);
      if (opts->seccomp_program)
        compile_seccomp (opts->seccomp_program, opts->seccomp_cache, &opts->seccomp);
      return;
    }
  bool enters_userns = seen[OPT_NO_PIVOT] && seen[OPT_USERNS_OF];
  if ((!seen[OPT_UID_MAP] || !seen[OPT_GID_MAP]) && !enters_userns)
    die ("--uid-map and --gid-map are required");
  if (seen[OPT_OVERLAY] + seen[OPT_FUSE_OVERLAY] + seen[OPT_ROOTFS] > 1)
    die ("only one of --overlay, --fuse-overlay and --rootfs may be given");
  bool overlay = seen[OPT_OVERLAY] || seen[OPT_FUSE_OVERLAY];
  if (overlay && !seen[OPT_MOUNTPOINT])
    die ("--overlay and --fuse-overlay need --mountpoint");
  if (!overlay && seen[OPT_MOUNTPOINT])
    die ("--mountpoint is used only with --overlay or --fuse-overlay");
  if (opts->confine_dir && !opts->no_pivot)
    die ("--confine is a --no-pivot option");
  if (opts->no_pivot)
    validate_no_pivot (opts);
  else if (opts->rootfs == ROOTFS_NONE)
    die ("a root file system is required: --overlay, --fuse-overlay or --rootfs");
  else if (opts->keep_alive && (opts->command || opts->tty || opts->remove_after || opts->seccomp_program))
    die ("--keep-alive takes no command, --tty, --remove-after or --seccomp: commands --join the sandbox");
  else if (opts->keep_alive && !seen[OPT_SYNC_FD])
    die ("--keep-alive needs --sync-fd: the caller records the sandbox before it lets it start");
  else if (!opts->keep_alive && opts->command == NULL)
    die ("no command given after --");
  if (opts->archive)
    validate_archive (opts);
  if (opts->netns_of && (opts->netns_of != opts->userns_of || opts->unshare_net))
    die ("--netns-of PID needs --userns-of the same PID, and no --unshare-net");
  validate_container (opts);
  validate_paths (opts);
  if (opts->setup_during_sync && !seen[OPT_SYNC_FD])
    die ("--setup-during-sync needs --sync-fd: the caller's byte is what the command waits for");
  if (opts->sync_fd >= 0)
    validate_sync_fd (opts->sync_fd);
  find_programs (opts);
  if (!enters_userns)
    validate_identity (opts);
  /* Compiled now: a program libseccomp refuses is reported before any namespace exists. */
  if (opts->seccomp_program)
    compile_seccomp (opts->seccomp_program, opts->seccomp_cache, &opts->seccomp);
}
