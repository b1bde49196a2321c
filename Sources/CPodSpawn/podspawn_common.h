#ifndef PODSPAWN_COMMON_H
#define PODSPAWN_COMMON_H

/* What the programs of this library share (not part of podspawn.h): the report records a
 * child writes before it execs, the clone that shares the caller's memory, cgroup descriptors.
 * Everything here that runs in a child is async-signal-safe. */

#define _GNU_SOURCE
#include "podspawn.h"

#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define PODSPAWN_HIDDEN __attribute__((visibility("hidden")))

/* What a child writes to the report pipe: a pid (kind 'P') or a failure (kind 'E') naming the
 * call that failed and what it was called on. */
typedef struct podspawn_record {
    int kind;
    int error;
    pid_t pid;
    char step[32];
    char target[PODSPAWN_TARGET_MAX];
} podspawn_record;

/* Writes a record (a pid, or a failure of `step` on `target` with `error`). */
PODSPAWN_HIDDEN void podspawn_write_record(int fd, int kind, const char *step, const char *target, int error, pid_t pid);
/* In a child: report `step` on `target` (may be NULL) with errno, and leave with 127. */
PODSPAWN_HIDDEN void podspawn_fail(int fd, const char *step, const char *target) __attribute__((noreturn));
/* Reads one record; 0 at EOF, 1 for a record, -1 on a short or failed read. */
PODSPAWN_HIDDEN int podspawn_read_record(int fd, podspawn_record *r);
/* Fills `error` from a child's failure record. */
PODSPAWN_HIDDEN void podspawn_fill_error(podspawn_error *error, const podspawn_record *r);
/* Fills `error` with a failure in the caller (`step` is static; `target` is copied). */
PODSPAWN_HIDDEN void podspawn_set_error(podspawn_error *error, const char *step, const char *target, int code);

/* A pipe whose ends sit at 100 or above, close-on-exec; -1 with errno. */
PODSPAWN_HIDDEN int podspawn_report_pipe(int fds[2]);
/* In a child: a session of its own (`who` names the child in a failure), pending terminal
 * signals discarded, default dispositions for every signal, then none blocked. */
PODSPAWN_HIDDEN void podspawn_reset_signals(int fd, const char *who);
/* In a child: stdin, stdout, stderr from these descriptors (-1: /dev/null). */
PODSPAWN_HIDDEN void podspawn_stdio_to(int fd, int in, int out, int err);

/* Runs `fn(arg)` in a child that shares the caller's memory until it execs or exits
 * (CLONE_VM | CLONE_VFORK), with `flags` added, on a stack of its own (and a second one for a
 * child of the child when `second_stack` is given); every signal blocked across the clone. */
PODSPAWN_HIDDEN pid_t podspawn_clone_in_memory(int (*fn)(void *), void *arg, int flags, char **second_stack);
/* Waits for a child that reports readiness by closing `report` (EOF): its pid, or -1 with
 * `error` filled after the child is killed and reaped. Closes `report`. */
PODSPAWN_HIDDEN pid_t podspawn_await_ready(int report, pid_t pid, podspawn_error *error);

/* Opens `count` cgroup.procs files for writing; -1 with `error` filled (none left open). */
PODSPAWN_HIDDEN int podspawn_open_procs(const char *const *files, int count, int *fds, podspawn_error *error);
PODSPAWN_HIDDEN void podspawn_close_all(const int *fds, int count);
/* In a child: moves the caller into each cgroup ("0" is the writer) through descriptors opened
 * before any namespace was joined; `files` names them for the failure record. */
PODSPAWN_HIDDEN void podspawn_join_cgroups(int fd, const int *procs, const char *const *files, int count);
/* Writes `value` to /proc/self/oom_score_adj; 0 on success. Async-signal-safe. */
PODSPAWN_HIDDEN int podspawn_set_oom_score_adj(int value);

/* A memfd made with `flags` holding `length` bytes of `data`, at offset 0; -1 with errno. */
PODSPAWN_HIDDEN int podspawn_memfd_holding(const char *name, unsigned flags, const void *data, size_t length);
/* A memfd holding an infra program, close-on-exec and meant to be executed; -1 with errno. */
PODSPAWN_HIDDEN int podspawn_infra_memfd(const char *name, const unsigned char *image, size_t size);
/* Fills `error` for an infra program's memfd that could not be made (EACCES: the host refuses
 * executable memfds, vm.memfd_noexec = 2; the Swift side says so). */
PODSPAWN_HIDDEN void podspawn_infra_memfd_error(podspawn_error *error, const char *program, int code);

#endif
