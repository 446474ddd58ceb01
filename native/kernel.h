/*
 * Kernel interfaces newer than the headers of some build machines (the helper is compiled at install time).
 * System call numbers from 424 on are the same on every architecture.
 */
#ifndef DEVBOX_KERNEL_H
#define DEVBOX_KERNEL_H

#include <sys/syscall.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
/* mount_setattr(2), Linux 5.12; only where <linux/mount.h> lacks it. */
#if defined(FSOPEN_CLOEXEC) && !defined(MOUNT_ATTR_RDONLY)
#define MOUNT_ATTR_RDONLY 0x00000001
struct mount_attr
{
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
#endif

#endif
