#ifndef PODSPAWN_H
#define PODSPAWN_H

#include <sys/types.h>

/* The Linux backend's process work that must not run Swift: everything between fork and exec
 * (FACTS.md: a Swift process is multithreaded; only async-signal-safe C runs in the child).
 * Failures come back through a close-on-exec pipe as the failing step and errno. */

/* Where a spawn failed: the step's name (static) and errno. */
typedef struct podspawn_error {
    const char *step;
    int error;
} podspawn_error;

/* Makes a pod sandbox: a pause process in new net, ipc and uts namespaces (and a new PID
 * namespace, whose PID 1 it is, when `new_pid` is set) with `hostname` set and `lo` up. The
 * pause is named `pause`, exits 0 on SIGTERM/SIGINT and reaps children. Returns its pid (in the
 * caller's PID namespace) or -1 with `error` filled. */
pid_t podspawn_sandbox(const char *hostname, int new_pid, podspawn_error *error);

/* Starts `argv` joined to the namespaces of `sandbox` (ipc, uts, net, and pid when `join_pid`),
 * in `workdir` (or unchanged when NULL), with `envp`, stdin from /dev/null, stdout and stderr to
 * `out_fd`/`err_fd`. argv[0] without a '/' is looked up in envp's PATH (or the default
 * /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) with execve on each candidate.
 * The process is a direct child of the caller (CLONE_PARENT after joining a PID namespace).
 * Returns its pid, or -1 with `error` filled (nothing left running). */
pid_t podspawn_exec(pid_t sandbox, int join_pid, char *const argv[], char *const envp[],
                    const char *workdir, int out_fd, int err_fd, podspawn_error *error);

#endif
