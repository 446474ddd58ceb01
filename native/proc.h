/* proc.c: what /proc says of a process; libc only, shared by the helper and the launcher. */
#ifndef DEVBOX_PROC_H
#define DEVBOX_PROC_H

#include <stddef.h>
#include <sys/types.h>

void process_start_time (pid_t pid, char *buf, size_t len);

#endif
