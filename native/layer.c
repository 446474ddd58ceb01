/*
 * --no-pivot --confine DIR --archive -- layer [--squash] [--gunzip] --opaque-xattr NAME [--reserved-xattr PREFIX]...:
 * an image layer's tar, on stdin (gzip-compressed with --gunzip; devbox keeps the blob's digest, this process
 * computes the tar's, layer-input.c), extracted into DIR in
 * the storage layer format (src/storage/layer-format.ts), as root of the user namespace so that tar ownership
 * lands in the mapped range. It runs in confine.c's cell: DIR is "/" before the first entry is read, so
 * whatever a bug here did, nothing outside the layer can be named. The tar is hostile until proven otherwise:
 *
 * - names are cleaned lexically; one whose ".." would leave the layer is refused, not "sanitized";
 * - no entry is written through a symlink: each parent must be a directory this layer made (see Node), or a
 *   real directory found there; whatever is at an entry's path is removed first, never opened; files are
 *   created O_EXCL; a hard link's target must be a non-directory this layer made;
 * - symlink targets are text, written as they are (absolute ones mean the container's root, not ours);
 * - directories' metadata and whiteouts are applied at the end, after everything below them was written;
 *   what a later entry removes is forgotten first, so a directory replaced by a symlink does not pass its
 *   mode to the link's target (containerd's CVE-2021-32760 was that chmod).
 *
 * OCI whiteouts (.wh.NAME) become overlay whiteouts (character devices 0/0, which a user namespace may make
 * since Linux 5.8) and opaque markers (.wh..wh..opq) the opaque xattr on their directory: the one format
 * kernel overlayfs, fuse-overlayfs and the copy backend all read. PAX xattrs are set, except reserved ones
 * (overlay metadata a layer could forge them with). Device nodes are skipped (a user namespace cannot make
 * them) and listed. Per file it costs an open (with its mode), the writes, a futimens and a close; chown only
 * for ids other than the extractor's own, chmod only for setuid, setgid and sticky bits.
 *
 * Output, one line each: "diffid sha256:HEX SIZE" (the uncompressed tar's digest and size, first), then,
 * fields hex-encoded, "opaque PATH", "xattr PATH NAME VALUE", "device PATH", paths relative to the layer. Exit status 0, or 1 with one line on stderr naming the entry.
 */
#include "helper.h"
#include "layer-input.h"
#include "tar.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_WHITEOUT ".wh..wh..opq"
/* A pipe of 1 MiB (the default pipe-max-size) instead of 64 KiB: fewer wake-ups for both ends. */
#define PIPE_SIZE (1 << 20)

/* What the extractor made at a path; NONE: nothing (any more), or a path known only for a flag. */
typedef enum { NODE_NONE, NODE_DIR, NODE_FILE, NODE_SYMLINK, NODE_FIFO } NodeKind;

/* No node: the end of a list of children. */
#define NO_NODE SIZE_MAX

/*
 * Every path the layer named. The layer's directory starts empty and only this process writes it, every
 * removal going through clear(), which forgets what it removed: so what is recorded is what is there, and no
 * entry needs a lookup of its path or its parents (on ext4 a lookup that misses costs as much as a create).
 * Nodes are also a tree (each in its parent's list of children), so that forgetting a directory visits what
 * was below it and nothing else: a layer that replaces many directories must not cost their number times
 * everything the layer made.
 */
typedef struct
{
  char *path; /* relative to the layer, cleaned; "" is the layer itself */
  size_t first_child, next_sibling; /* indexes into Layer.nodes, or NO_NODE */
  bool linked; /* in its parent's list of children (the root always is) */
  NodeKind kind;
  bool whiteout; /* a whiteout is due here at the end */
  bool opaque;   /* a directory whose lower layers' content is hidden */
  bool has_meta; /* a directory entry: its owner, mode and time are applied at the end */
  mode_t made_mode; /* a directory's mode when this layer made it */
  uid_t uid;
  gid_t gid;
  mode_t mode;
  long long mtime;
  TarXattr *xattrs; /* the kept xattrs of the entry made here */
  size_t n_xattrs;
} Node;

typedef struct
{
  Node *nodes;
  size_t n_nodes;
  size_t *slots; /* open addressing: index + 1 into nodes, 0 for an empty slot */
  size_t n_slots;
  bool squash; /* a single-id map: everything belongs to root, ownership is not applied */
  bool gunzip; /* the input is a gzip blob */
  uid_t own_uid;
  gid_t own_gid;
  bool gid_inherited; /* the layer's directory is setgid: what is made below it gets its group */
  const char *opaque_xattr;
  char **reserved;
  size_t n_reserved;
  char **devices;
  size_t n_devices;
} Layer;

/* Paths. */

static size_t
hash_path (const char *path, size_t len)
{
  size_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char) path[i]) * 1099511628211ULL;
  return h;
}

static Node *
find_node (const Layer *l, const char *path, size_t len)
{
  for (size_t i = hash_path (path, len) & (l->n_slots - 1); l->slots[i]; i = (i + 1) & (l->n_slots - 1))
    {
      Node *n = &l->nodes[l->slots[i] - 1];
      if (strncmp (n->path, path, len) == 0 && n->path[len] == '\0')
        return n;
    }
  return NULL;
}

static void
insert_slot (Layer *l, size_t index)
{
  const char *path = l->nodes[index].path;
  size_t i = hash_path (path, strlen (path)) & (l->n_slots - 1);
  while (l->slots[i])
    i = (i + 1) & (l->n_slots - 1);
  l->slots[i] = index + 1;
}

/* The node of path[0, len), made (as NODE_NONE) if there is none; its index. */
static size_t
node_index (Layer *l, const char *path, size_t len)
{
  Node *found = find_node (l, path, len);
  if (found)
    return (size_t) (found - l->nodes);
  if (2 * (l->n_nodes + 1) > l->n_slots)
    {
      free (l->slots);
      l->n_slots *= 2;
      l->slots = xcalloc (l->n_slots, sizeof *l->slots);
      for (size_t i = 0; i < l->n_nodes; i++)
        insert_slot (l, i);
    }
  if ((l->n_nodes & (l->n_nodes - 1)) == 0) /* capacity doubles at each power of two */
    l->nodes = xrealloc (l->nodes, l->n_nodes ? 2 * l->n_nodes : 1, sizeof *l->nodes);
  Node *n = &l->nodes[l->n_nodes];
  *n = (Node){ .path = xcalloc (len + 1, 1), .first_child = NO_NODE, .next_sibling = NO_NODE };
  memcpy (n->path, path, len);
  insert_slot (l, l->n_nodes);
  return l->n_nodes++;
}

/* The node of path[0, len), made if there is none, in the tree with its parents (check_parents puts them
   there first, top down, so the recursion is one level deep). */
static Node *
node_for (Layer *l, const char *path, size_t len)
{
  size_t index = node_index (l, path, len);
  if (!l->nodes[index].linked)
    {
      const char *slash = memrchr (path, '/', len);
      size_t parent = (size_t) (node_for (l, path, slash ? (size_t) (slash - path) : 0) - l->nodes);
      l->nodes[index].next_sibling = l->nodes[parent].first_child;
      l->nodes[parent].first_child = index;
      l->nodes[index].linked = true;
    }
  return &l->nodes[index];
}

static void
drop_xattrs (Node *n)
{
  for (size_t i = 0; i < n->n_xattrs; i++)
    {
      free (n->xattrs[i].name);
      free (n->xattrs[i].value);
    }
  free (n->xattrs);
  n->xattrs = NULL;
  n->n_xattrs = 0;
}

static void
reset_node (Node *n)
{
  drop_xattrs (n);
  n->kind = NODE_NONE;
  n->whiteout = n->opaque = n->has_meta = false;
}

/* What was at rel and below it is gone: nothing due there is done. It visits rel and what was below it, and
   nothing else; what was below leaves the tree (node_for puts it back if the layer names it again). */
static void
forget (Layer *l, const char *rel)
{
  Node *top = find_node (l, rel, strlen (rel));
  if (top == NULL)
    return;
  size_t room = 16, depth = 0;
  cleanup_free size_t *stack = xcalloc (room, sizeof *stack);
  stack[depth++] = (size_t) (top - l->nodes);
  while (depth > 0)
    {
      Node *n = &l->nodes[stack[--depth]];
      reset_node (n);
      for (size_t child = n->first_child; child != NO_NODE; child = l->nodes[child].next_sibling)
        {
          if (depth == room)
            stack = xrealloc (stack, room *= 2, sizeof *stack);
          stack[depth++] = child;
        }
      n->first_child = NO_NODE;
      if (n != top) /* top stays in its parent's list */
        {
          n->linked = false;
          n->next_sibling = NO_NODE;
        }
    }
}

/* Messages name entries as the tar does; a long name is cut at 80 characters, as devbox's messages do. */
static char *
abbreviated (const char *name)
{
  size_t len = strlen (name);
  if (len <= 80)
    return xstrdup (name);
  size_t cut = 79;
  while (cut > 0 && ((unsigned char) name[cut] & 0xc0) == 0x80) /* not inside a UTF-8 character */
    cut--;
  return xasprintf ("%.*s…", (int) cut, name);
}

/* A system call on an entry failed: the entry's name, not a path of the store, and why. */
static void __attribute__ ((noreturn))
entry_failed (const char *name)
{
  int saved = errno;
  cleanup_free char *shown = abbreviated (name);
  if (saved == ENAMETOOLONG)
    die ("entry \"%s\": a name in its path is longer than Linux allows (255 bytes)", shown);
  cleanup_free char *why = xstrdup (strerror (saved));
  if (why[0] >= 'A' && why[0] <= 'Z' && !(why[1] >= 'A' && why[1] <= 'Z'))
    why[0] = (char) (why[0] - 'A' + 'a');
  const char *code = strerrorname_np (saved);
  die ("entry \"%s\": %s (%s)", shown, why, code ? code : "?");
}

/* Something is at rel although the layer made nothing there: only a directory that was not empty can explain
   it. It is removed, never followed, and the caller makes its entry again. */
static void
remove_foreign (const char *rel, const char *name)
{
  if (remove_tree_at (AT_FDCWD, rel) != 0)
    die ("entry \"%s\": could not remove what was in its place", name);
}

/*
 * Every parent of rel is a real directory: missing ones are made (with `create`) or make the result false; a
 * symlink or anything else on the way is refused.
 */
static bool
check_parents (Layer *l, const char *rel, const char *name, bool create)
{
  for (const char *slash = strchr (rel, '/'); slash; slash = strchr (slash + 1, '/'))
    {
      size_t len = (size_t) (slash - rel);
      Node *n = find_node (l, rel, len);
      if (n && n->kind == NODE_DIR)
        continue;
      if (n && n->kind == NODE_SYMLINK)
        die ("entry \"%s\" passes through the symlink \"%.*s\"", name, (int) len, rel);
      if (n && n->kind != NODE_NONE)
        die ("entry \"%s\" passes through \"%.*s\", which is not a directory", name, (int) len, rel);
      if (!create)
        return false;
      n = node_for (l, rel, len);
      if (mkdirat (AT_FDCWD, n->path, 0755) < 0)
        {
          struct stat st;
          if (errno != EEXIST || fstatat (AT_FDCWD, n->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
            entry_failed (name);
          if (S_ISLNK (st.st_mode))
            die ("entry \"%s\" passes through the symlink \"%s\"", name, n->path);
          if (!S_ISDIR (st.st_mode))
            die ("entry \"%s\" passes through \"%s\", which is not a directory", name, n->path);
        }
      n->kind = NODE_DIR;
      n->made_mode = 0755;
      n->whiteout = false; /* a directory made in this layer is no longer deleted by it */
    }
  return true;
}

/* Removes whatever the layer made at rel, unless it is a directory and one is wanted there (true then). */
static bool
clear (Layer *l, const char *rel, const char *name, bool keep_directory)
{
  Node *n = find_node (l, rel, strlen (rel));
  if (n == NULL || n->kind == NODE_NONE)
    return false;
  if (n->kind == NODE_DIR)
    {
      if (keep_directory)
        return true;
      remove_foreign (rel, name);
      forget (l, rel);
      return false;
    }
  if (unlinkat (AT_FDCWD, rel, 0) < 0)
    entry_failed (name);
  forget (l, rel);
  return false;
}

static bool
needs_chown (const Layer *l, uid_t uid, gid_t gid)
{
  return !l->squash && (uid != l->own_uid || gid != l->own_gid || l->gid_inherited);
}

/* The result of a chown: an id outside the user namespace's map gets a message that says so. */
static void
check_chown (int result, const char *rel, const char *name, uid_t uid, gid_t gid)
{
  if (result == 0)
    return;
  if (errno == EINVAL)
    die ("entry \"%s\" is owned by %u:%u, which the user namespace does not map (give your user a larger range in "
         "/etc/subuid and /etc/subgid)",
         rel, (unsigned) uid, (unsigned) gid);
  entry_failed (name);
}

static bool
is_reserved_xattr (const Layer *l, const char *name)
{
  for (size_t i = 0; i < l->n_reserved; i++)
    if (strncmp (name, l->reserved[i], strlen (l->reserved[i])) == 0)
      return true;
  return false;
}

/* The entry's xattrs that are kept become the node's (taken from the entry). */
static void
take_xattrs (Layer *l, Node *n, TarEntry *e)
{
  drop_xattrs (n);
  for (size_t i = 0; i < e->n_xattrs; i++)
    {
      TarXattr *x = &e->xattrs[i];
      if (is_reserved_xattr (l, x->name))
        continue;
      n->xattrs = xrealloc (n->xattrs, n->n_xattrs + 1, sizeof *n->xattrs);
      n->xattrs[n->n_xattrs++] = *x;
      *x = (TarXattr){ 0 };
    }
}

static void
set_xattrs (int fd, const Node *n, const char *name)
{
  for (size_t i = 0; i < n->n_xattrs; i++)
    if (fsetxattr (fd, n->xattrs[i].name, n->xattrs[i].value, n->xattrs[i].len, 0) < 0)
      entry_failed (name);
}

static void
extract_file (Layer *l, Node *n, TarEntry *e)
{
  cleanup_fd int fd = -1;
  for (int attempt = 0; fd < 0; attempt++)
    {
      fd = openat (AT_FDCWD, n->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, e->mode & 0777);
      if (fd < 0 && (errno != EEXIST || attempt > 0))
        entry_failed (e->name);
      if (fd < 0)
        remove_foreign (n->path, e->name);
    }
  n->kind = NODE_FILE;
  if (tar_read_file (STDIN_FILENO, fd, e->data_size, e->name) < 0)
    entry_failed (e->name);
  if (needs_chown (l, e->uid, e->gid))
    check_chown (fchown (fd, e->uid, e->gid), n->path, e->name, e->uid, e->gid);
  if ((e->mode & 07000) && fchmod (fd, e->mode) < 0) /* after chown, which clears setuid and setgid */
    entry_failed (e->name);
  take_xattrs (l, n, e);
  set_xattrs (fd, n, e->name); /* after chown too, which drops security.capability */
  struct timespec times[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };
  if (futimens (fd, times) < 0)
    entry_failed (e->name);
}

/* A symlink or a FIFO: made by name, then dated and owned without following it. */
static void
extract_node (Layer *l, Node *n, const TarEntry *e)
{
  for (int attempt = 0;; attempt++)
    {
      int made = e->type == TAR_SYMLINK ? symlinkat (e->linkname, AT_FDCWD, n->path)
                                        : mknodat (AT_FDCWD, n->path, S_IFIFO | (e->mode & 0777), 0);
      if (made == 0)
        break;
      if (errno != EEXIST || attempt > 0)
        entry_failed (e->name);
      remove_foreign (n->path, e->name);
    }
  n->kind = e->type == TAR_SYMLINK ? NODE_SYMLINK : NODE_FIFO;
  if (needs_chown (l, e->uid, e->gid))
    check_chown (fchownat (AT_FDCWD, n->path, e->uid, e->gid, AT_SYMLINK_NOFOLLOW), n->path, e->name, e->uid, e->gid);
  /* A FIFO this process just made is no link to follow. */
  if (n->kind == NODE_FIFO && (e->mode & 07000) && fchmodat (AT_FDCWD, n->path, e->mode, 0) < 0)
    entry_failed (e->name);
  struct timespec times[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };
  if (utimensat (AT_FDCWD, n->path, times, AT_SYMLINK_NOFOLLOW) < 0)
    entry_failed (e->name);
}

static void
extract_hardlink (Layer *l, const char *rel, const TarEntry *e)
{
  /* Tar link names are relative to the archive's root, not to the link's directory. */
  cleanup_free char *target = tar_clean_name (e->linkname);
  if (target == NULL)
    die ("hard link \"%s\" points at \"%s\", which escapes the layer directory", e->name, e->linkname);
  if (!*target)
    die ("hard link \"%s\" points at the layer root", e->name);
  bool found = check_parents (l, target, e->name, false);
  Node *t = found ? find_node (l, target, strlen (target)) : NULL;
  if (t && t->kind == NODE_DIR)
    die ("hard link \"%s\" points at a directory", e->name);
  if (t == NULL || t->kind == NODE_NONE)
    die ("hard link \"%s\" points at \"%s\", which is not in the layer", e->name, e->linkname);
  if (strcmp (target, rel) == 0)
    return;
  NodeKind kind = t->kind;
  clear (l, rel, e->name, false);
  for (int attempt = 0;; attempt++)
    {
      if (linkat (AT_FDCWD, target, AT_FDCWD, rel, 0) == 0) /* a symlink target is linked, not followed */
        break;
      if (errno != EEXIST || attempt > 0)
        entry_failed (e->name);
      remove_foreign (rel, e->name);
    }
  node_for (l, rel, strlen (rel))->kind = kind;
}

static void
extract_entry (Layer *l, TarEntry *e)
{
  cleanup_free char *rel = tar_clean_name (e->name);
  if (rel == NULL)
    die ("entry \"%s\" escapes the layer directory", e->name);
  if (e->gnu_sparse)
    die ("entry \"%s\" is a GNU sparse file, which devbox cannot extract", e->name);
  if (!strchr ("0125346", e->type) || e->type == '\0')
    die ("entry \"%s\" has a tar entry type devbox cannot extract (type '%c')", e->name, e->type);
  const char *slash = strrchr (rel, '/');
  const char *base = slash ? slash + 1 : rel;
  size_t dir_len = slash ? (size_t) (slash - rel) : 0;
  if (strncmp (base, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0)
    {
      check_parents (l, rel, e->name, true); /* the whited-out name's directory among them */
      if (strcmp (base, OPAQUE_WHITEOUT) == 0)
        node_for (l, rel, dir_len)->opaque = true;
      else
        {
          const char *target = base + strlen (WHITEOUT_PREFIX);
          if (!*target || strcmp (target, ".") == 0 || strcmp (target, "..") == 0)
            die ("whiteout \"%s\" names no file in its directory", rel);
          cleanup_free char *path = slash ? xasprintf ("%.*s/%s", (int) dir_len, rel, target) : xstrdup (target);
          clear (l, path, e->name, false);
          node_for (l, path, strlen (path))->whiteout = true;
        }
    }
  else if (*rel) /* the layer root's own metadata belongs to the layers below */
    {
      check_parents (l, rel, e->name, true);
      Node *n = find_node (l, rel, strlen (rel));
      if (n)
        n->whiteout = false; /* a later entry at a whited-out path in the same layer wins */
      switch (e->type)
        {
        case TAR_DIRECTORY:
          /* With its mode (the file capabilities write into it whatever the mode): most need no chmod at the end. */
          if (!clear (l, rel, e->name, true))
            {
              if (mkdirat (AT_FDCWD, rel, e->mode & 0777) < 0)
                {
                  if (errno != EEXIST)
                    entry_failed (e->name);
                  remove_foreign (rel, e->name);
                  if (mkdirat (AT_FDCWD, rel, e->mode & 0777) < 0)
                    entry_failed (e->name);
                }
              node_for (l, rel, strlen (rel))->made_mode = e->mode & 0777;
            }
          n = node_for (l, rel, strlen (rel));
          n->kind = NODE_DIR;
          n->has_meta = true;
          n->uid = e->uid;
          n->gid = e->gid;
          n->mode = e->mode;
          n->mtime = e->mtime;
          take_xattrs (l, n, e);
          break;
        case TAR_REGULAR:
          clear (l, rel, e->name, false);
          extract_file (l, node_for (l, rel, strlen (rel)), e);
          return; /* its data is read */
        case TAR_SYMLINK:
        case TAR_FIFO:
          clear (l, rel, e->name, false);
          extract_node (l, node_for (l, rel, strlen (rel)), e);
          break;
        case TAR_HARDLINK:
          extract_hardlink (l, rel, e);
          break;
        default: /* devices: a user namespace may not make them (containers/storage skips them too) */
          l->devices = xrealloc (l->devices, l->n_devices + 1, sizeof *l->devices);
          l->devices[l->n_devices++] = xstrdup (rel);
          break;
        }
    }
  tar_read_data (STDIN_FILENO, -1, e->data_size, e->name);
}

static int
deepest_first (const void *a, const void *b)
{
  size_t la = strlen ((*(Node *const *) a)->path), lb = strlen ((*(Node *const *) b)->path);
  return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Whiteouts, then the directories' metadata, deepest first: making entries changed their parents' times. */
static void
finish (Layer *l)
{
  for (size_t i = 0; i < l->n_nodes; i++)
    if (l->nodes[i].whiteout && mknodat (AT_FDCWD, l->nodes[i].path, S_IFCHR, makedev (0, 0)) < 0)
      die_with_error ("whiteout %s", l->nodes[i].path);
  cleanup_free Node **dirs = xcalloc (l->n_nodes + 1, sizeof *dirs);
  size_t n_dirs = 0;
  for (size_t i = 0; i < l->n_nodes; i++)
    if ((l->nodes[i].kind == NODE_DIR && l->nodes[i].has_meta) || l->nodes[i].opaque)
      dirs[n_dirs++] = &l->nodes[i];
  qsort (dirs, n_dirs, sizeof *dirs, deepest_first);
  for (size_t i = 0; i < n_dirs; i++)
    {
      const Node *n = dirs[i];
      const char *name = *n->path ? n->path : ".";
      struct timespec times[2] = { { .tv_sec = n->mtime }, { .tv_sec = n->mtime } };
      bool only_times = n->has_meta && !n->opaque && n->n_xattrs == 0 && !needs_chown (l, n->uid, n->gid) && n->mode == n->made_mode
                        && !l->gid_inherited;
      if (only_times) /* its parents are directories this layer made, and the last name is not followed */
        {
          if (utimensat (AT_FDCWD, name, times, AT_SYMLINK_NOFOLLOW) < 0)
            entry_failed (name);
          continue;
        }
      cleanup_fd int fd = openat (AT_FDCWD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        entry_failed (name);
      if (n->opaque && fsetxattr (fd, l->opaque_xattr, "y", 1, 0) < 0)
        entry_failed (name);
      if (!n->has_meta)
        continue;
      if (needs_chown (l, n->uid, n->gid))
        check_chown (fchown (fd, n->uid, n->gid), n->path, name, n->uid, n->gid);
      if (fchmod (fd, n->mode) < 0)
        entry_failed (name);
      set_xattrs (fd, n, name);
      if (futimens (fd, times) < 0)
        entry_failed (name);
    }
}

static void
print_hex (const void *data, size_t len)
{
  static const char digits[] = "0123456789abcdef";
  for (const unsigned char *p = data; len--; p++)
    {
      putchar (digits[*p >> 4]);
      putchar (digits[*p & 15]);
    }
}

static void
report (const Layer *l)
{
  char diff_id[65];
  unsigned long long size;
  layer_input_digest (diff_id, &size);
  printf ("diffid sha256:%s %llu\n", diff_id, size);
  for (size_t i = 0; i < l->n_nodes; i++)
    {
      const Node *n = &l->nodes[i];
      if (n->opaque)
        {
          fputs ("opaque ", stdout);
          print_hex (n->path, strlen (n->path));
          putchar ('\n');
        }
      for (size_t j = 0; j < n->n_xattrs; j++)
        {
          fputs ("xattr ", stdout);
          print_hex (n->path, strlen (n->path));
          putchar (' ');
          print_hex (n->xattrs[j].name, strlen (n->xattrs[j].name));
          putchar (' ');
          print_hex (n->xattrs[j].value, n->xattrs[j].len);
          putchar ('\n');
        }
    }
  for (size_t i = 0; i < l->n_devices; i++)
    {
      fputs ("device ", stdout);
      print_hex (l->devices[i], strlen (l->devices[i]));
      putchar ('\n');
    }
  if (fflush (stdout) != 0)
    die_with_error ("write the result");
}

static void
parse_layer_command (char **command, Layer *l)
{
  for (size_t i = 1; command[i]; i++)
    {
      if (strcmp (command[i], "--squash") == 0)
        l->squash = true;
      else if (strcmp (command[i], "--gunzip") == 0)
        l->gunzip = true;
      else if (strcmp (command[i], "--opaque-xattr") == 0 && command[i + 1])
        l->opaque_xattr = command[++i];
      else if (strcmp (command[i], "--reserved-xattr") == 0 && command[i + 1] && *command[i + 1])
        {
          l->reserved = xrealloc (l->reserved, l->n_reserved + 1, sizeof *l->reserved);
          l->reserved[l->n_reserved++] = command[++i];
        }
      else
        die ("--archive layer: unexpected \"%s\" (see native/README.md)", command[i]);
    }
  if (l->opaque_xattr == NULL)
    die ("--archive layer needs --opaque-xattr NAME");
}

void
validate_layer_command (char **command)
{
  if (command == NULL || command[0] == NULL || strcmp (command[0], "layer") != 0)
    die ("--confine with --archive takes the operation \"layer\"");
  Layer l = { 0 };
  parse_layer_command (command, &l);
  free (l.reserved);
}

int
extract_layer (const Options *opts)
{
  set_die_status (1);
  Layer l = { .n_slots = 1024 };
  l.slots = xcalloc (l.n_slots, sizeof *l.slots);
  size_t top = node_index (&l, "", 0);
  l.nodes[top].linked = true; /* the root of the tree */
  parse_layer_command (opts->command, &l);
  /* Root of the namespace with what extraction needs: ownership, modes with setuid/setgid, writing into
     directories of other owners, file capabilities (security.capability). Nothing else: no mount. */
  Options own = *opts;
  own.caps = (UINT64_C (1) << CAP_CHOWN) | (UINT64_C (1) << CAP_DAC_OVERRIDE) | (UINT64_C (1) << CAP_DAC_READ_SEARCH)
             | (UINT64_C (1) << CAP_FOWNER) | (UINT64_C (1) << CAP_FSETID) | (UINT64_C (1) << CAP_SETFCAP);
  prepare_process (&own, -1);
  umask (0);
  (void) fcntl (STDIN_FILENO, F_SETPIPE_SZ, PIPE_SIZE); /* not a pipe, or a smaller limit: it still works */
  layer_input_open (l.gunzip);
  struct stat root;
  if (stat (".", &root) < 0)
    die_with_error ("stat the layer's directory");
  l.own_uid = geteuid ();
  l.own_gid = getegid ();
  l.gid_inherited = (root.st_mode & S_ISGID) != 0;
  TarEntry e = { 0 };
  while (tar_read_header (STDIN_FILENO, &e))
    extract_entry (&l, &e);
  tar_entry_clear (&e);
  /* As tar-stream, which devbox used before: a layer is one archive, and its padding zeros. Go's archive/tar
     stops at the marker; a layer with more after it is broken or hiding something from one of them. */
  if (!tar_read_trailer (STDIN_FILENO))
    die ("not a tar archive (bytes other than zeros after its end-of-archive marker)");
  finish (&l);
  report (&l);
  return 0;
}
