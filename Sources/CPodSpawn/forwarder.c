/* The port forwarder of published host ports: its setup in the owner's memory, then the
 * forwarder program (Tools/infra/forwarder.c, embedded in infra_images.h) from a memfd. */
#include "podspawn_common.h"
#include "infra_images.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct forwarder_args {
    int report;
    int net;
    const char *net_path;
    const int *procs;
    const char *const *procs_files;
    int procs_count;
    const podspawn_forward *forwards;
    int count;
    int image;
    char *const *argv;
};

/* The forwarder's setup, in the owner's memory (CLONE_VM | CLONE_VFORK); then the exec of the
 * forwarder program with the report pipe as fd 3 and the listeners as fds 4, 5, ... */
static int forwarder_main(void *p) {
    struct forwarder_args *a = p;
    int fd = a->report;
    podspawn_reset_signals(fd, "pod-forwarder");
    podspawn_join_cgroups(fd, a->procs, a->procs_files, a->procs_count);
    podspawn_stdio_to(fd, -1, -1, -1);
    if (chdir("/") < 0) podspawn_fail(fd, "chdir", "/");
    /* The listeners were made in the host's network namespace; connections are made here. */
    if (setns(a->net, CLONE_NEWNET) < 0) podspawn_fail(fd, "setns", a->net_path);
    /* Every descriptor the exec keeps is first copied above where they go (close-on-exec), then
     * put in place. */
    int above = 4 + a->count;
    int listeners[PODSPAWN_MAX_FORWARDS];
    for (int i = 0; i < a->count; i++) {
        int flags = fcntl(a->forwards[i].listen_fd, F_GETFL);
        if (flags < 0 || fcntl(a->forwards[i].listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) podspawn_fail(fd, "fcntl", "listener");
        if ((listeners[i] = fcntl(a->forwards[i].listen_fd, F_DUPFD_CLOEXEC, above)) < 0) podspawn_fail(fd, "fcntl", "listener");
    }
    int image = fcntl(a->image, F_DUPFD_CLOEXEC, above);
    int report = fcntl(fd, F_DUPFD_CLOEXEC, above);
    if (image < 0 || report < 0) podspawn_fail(fd, "fcntl", "forwarder image");
    fd = report;  /* the original may be one of the places the listeners go */
    if (dup2(report, 3) < 0) podspawn_fail(fd, "dup2", "report pipe");
    for (int i = 0; i < a->count; i++)
        if (dup2(listeners[i], 4 + i) < 0) podspawn_fail(fd, "dup2", "listener");
    if (syscall(SYS_close_range, (unsigned)above, ~0U, CLOSE_RANGE_CLOEXEC) < 0) podspawn_fail(fd, "close_range", NULL);
    char *const envp[] = {NULL};
    syscall(SYS_execveat, image, "", a->argv, envp, AT_EMPTY_PATH);
    podspawn_fail(fd, "execveat", "pod-forwarder (memfd)");
}

pid_t podspawn_forwarder(pid_t sandbox, const podspawn_forward *forwards, int count, const char *const *cgroup_procs,
                         int cgroup_count, podspawn_error *error) {
    if (count <= 0 || count > PODSPAWN_MAX_FORWARDS) {
        podspawn_set_error(error, "forwarder", "listeners (1 to 64)", EINVAL);
        return -1;
    }
#ifdef PODSPAWN_NO_INFRA_IMAGES
    podspawn_set_error(error, "execveat", "pod-forwarder (no image for this architecture: scripts/make-infra.sh builds x86-64 and arm64)", ENOEXEC);
    return -1;
#endif
    /* argv: the program's name, then the container port of each listener. */
    char ports[PODSPAWN_MAX_FORWARDS][8];
    char *argv[PODSPAWN_MAX_FORWARDS + 2];
    argv[0] = "pod-forwarder";
    for (int i = 0; i < count; i++) {
        if (forwards[i].target_port < 1 || forwards[i].target_port > 65535) {
            podspawn_set_error(error, "forwarder", "container port (1 to 65535)", EINVAL);
            return -1;
        }
        snprintf(ports[i], sizeof ports[i], "%d", forwards[i].target_port);
        argv[i + 1] = ports[i];
    }
    argv[count + 1] = NULL;
    int procs[PODSPAWN_MAX_CGROUPS];
    if (podspawn_open_procs(cgroup_procs, cgroup_count, procs, error) < 0) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)sandbox);
    int net = open(path, O_RDONLY | O_CLOEXEC);
    if (net < 0) {
        podspawn_set_error(error, "open", path, errno);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
    int report[2];
    if (podspawn_report_pipe(report) < 0) {
        podspawn_set_error(error, "pipe2", "report pipe", errno);
        close(net);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
    int image = podspawn_infra_memfd("pod-forwarder", forwarder_image, sizeof forwarder_image);
    if (image < 0) {
        int code = errno;
        close(report[0]);
        close(report[1]);
        close(net);
        podspawn_close_all(procs, cgroup_count);
        podspawn_infra_memfd_error(error, "pod-forwarder", code);
        return -1;
    }
    struct forwarder_args args = {report[1], net, path, procs, cgroup_procs, cgroup_count, forwards, count, image, argv};
    pid_t pid = podspawn_clone_in_memory(forwarder_main, &args, 0, NULL);
    int clone_errno = errno;
    close(image);
    close(report[1]);
    close(net);
    podspawn_close_all(procs, cgroup_count);
    if (pid < 0) {
        close(report[0]);
        podspawn_set_error(error, "clone", "pod-forwarder", clone_errno);
        return -1;
    }
    return podspawn_await_ready(report[0], pid, error);
}

int podspawn_listen_tcp(int port, int *error) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { *error = errno; return -1; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at;
    memset(&at, 0, sizeof at);
    at.sin_family = AF_INET;
    at.sin_port = htons((uint16_t)port);
    at.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&at, sizeof at) < 0 || listen(fd, 1024) < 0) {
        *error = errno;
        close(fd);
        return -1;
    }
    return fd;
}
