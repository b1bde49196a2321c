/* The log shim of a container run: its setup in the owner's memory, then the logger program
 * (Tools/infra/logger.c, embedded in infra_images.h) from a memfd. */
#include "podspawn_common.h"
#include "infra_images.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct logger_args {
    int report;
    int pipe;
    int log;
    int dir;
    const int *procs;
    const char *const *procs_files;
    int procs_count;
    int image;
    char *const *argv;
};

/* The logger's setup, in the owner's memory (CLONE_VM | CLONE_VFORK); then the exec of the
 * logger program with the report pipe as fd 3, the container's pipe as 4, the log as 5 and its
 * directory as 6. */
static int logger_main(void *p) {
    struct logger_args *a = p;
    int fd = a->report;
    podspawn_reset_signals(fd, "pod-logger");
    podspawn_join_cgroups(fd, a->procs, a->procs_files, a->procs_count);
    podspawn_stdio_to(fd, -1, -1, -1);
    if (chdir("/") < 0) podspawn_fail(fd, "chdir", "/");
    /* Each descriptor is first copied above where they go (close-on-exec), then put in place. */
    enum { ABOVE = 7 };
    int moved[5];
    const int from[5] = {a->report, a->pipe, a->log, a->dir, a->image};
    for (int i = 0; i < 5; i++)
        if ((moved[i] = fcntl(from[i], F_DUPFD_CLOEXEC, ABOVE)) < 0) podspawn_fail(fd, "fcntl", "pod-logger descriptors");
    fd = moved[0];
    for (int i = 0; i < 4; i++)
        if (dup2(moved[i], 3 + i) < 0) podspawn_fail(fd, "dup2", "pod-logger descriptors");
    if (syscall(SYS_close_range, (unsigned)ABOVE, ~0U, CLOSE_RANGE_CLOEXEC) < 0) podspawn_fail(fd, "close_range", NULL);
    char *const envp[] = {NULL};
    syscall(SYS_execveat, moved[4], "", a->argv, envp, AT_EMPTY_PATH);
    podspawn_fail(fd, "execveat", "pod-logger (memfd)");
}

pid_t podspawn_logger(const char *dir, const char *name, long limit, const char *const *cgroup_procs,
                      int cgroup_count, int *write_end, podspawn_error *error) {
    *write_end = -1;
    if (limit < 1 || !name || !*name || strchr(name, '/') || strlen(name) > 200) {
        podspawn_set_error(error, "logger", "log name or limit", EINVAL);
        return -1;
    }
#ifdef PODSPAWN_NO_INFRA_IMAGES
    podspawn_set_error(error, "execveat", "pod-logger (no image for this architecture: scripts/make-infra.sh builds x86-64 and arm64)", ENOEXEC);
    return -1;
#endif
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    char *argv[] = {"pod-logger", limit_text, (char *)name, NULL};
    int procs[PODSPAWN_MAX_CGROUPS];
    if (podspawn_open_procs(cgroup_procs, cgroup_count, procs, error) < 0) return -1;
    int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        podspawn_set_error(error, "open", dir, errno);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
    int log = openat(dir_fd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (log < 0) {
        podspawn_set_error(error, "open", name, errno);
        close(dir_fd);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) < 0) {
        podspawn_set_error(error, "pipe2", "log pipe", errno);
        close(log);
        close(dir_fd);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
    int report[2];
    if (podspawn_report_pipe(report) < 0) {
        podspawn_set_error(error, "pipe2", "report pipe", errno);
        close(ends[0]);
        close(ends[1]);
        close(log);
        close(dir_fd);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
    int image = podspawn_infra_memfd("pod-logger", logger_image, sizeof logger_image);
    if (image < 0) {
        int code = errno;
        close(report[0]);
        close(report[1]);
        close(ends[0]);
        close(ends[1]);
        close(log);
        close(dir_fd);
        podspawn_close_all(procs, cgroup_count);
        podspawn_infra_memfd_error(error, "pod-logger", code);
        return -1;
    }
    struct logger_args args = {report[1], ends[0], log, dir_fd, procs, cgroup_procs, cgroup_count, image, argv};
    pid_t pid = podspawn_clone_in_memory(logger_main, &args, 0, NULL);
    int clone_errno = errno;
    close(image);
    close(report[1]);
    close(ends[0]);
    close(log);
    close(dir_fd);
    podspawn_close_all(procs, cgroup_count);
    if (pid < 0) {
        close(report[0]);
        close(ends[1]);
        podspawn_set_error(error, "clone", "pod-logger", clone_errno);
        return -1;
    }
    pid = podspawn_await_ready(report[0], pid, error);
    if (pid < 0) close(ends[1]);
    else *write_end = ends[1];
    return pid;
}
