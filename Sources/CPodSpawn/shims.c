/* Thin shims over calls Swift cannot make, or cannot make safely: posix_spawn of a host program,
 * pidfd_open, openat2, memfds, renameat2, environ, O_PATH, a close-on-exec pipe. */
#include "podspawn_common.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

int podspawn_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int podspawn_host(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
                  pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    if (in_fd >= 0) posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
    else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0) posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    else posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    else posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int status = strchr(path, '/') ? posix_spawn(pid, path, &actions, &attributes, argv, envp)
                                   : posix_spawnp(pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return status;
}

int podspawn_pidfd(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);  /* pidfds are always close-on-exec */
}

int podspawn_open_beneath(int dirfd, const char *path, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int podspawn_memfd(const char *name, const char *data, size_t length) {
    return podspawn_memfd_holding(name, MFD_CLOEXEC, data, length);
}

int podspawn_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int podspawn_o_path(void) {
    return O_PATH;
}

extern char **environ;

char **podspawn_environ(void) {
    return environ;
}

int podspawn_has_file_capabilities(const char *path) {
    return getxattr(path, "security.capability", NULL, 0) > 0;
}
