/* The pod sandbox: the pause's setup in the new namespaces, then the pause program
 * (Tools/infra/pause.c, embedded in infra_images.h) executed from a memfd. */
#include "podspawn_common.h"
#include "infra_images.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sandbox_args {
    const char *hostname;
    int namespaces;
    int report;
    const int *procs;
    const char *const *procs_files;
    int procs_count;
    int image;  /* a memfd holding the pause program */
};

/* The pause's setup, in the owner's memory (CLONE_VM | CLONE_VFORK) and in the new namespaces;
 * then the exec of the pause program from a memfd: a process of a few pages, named `pause` as
 * comm and command line, with none of the owner's memory. */
static int sandbox_main(void *p) {
    struct sandbox_args *a = p;
    int fd = a->report;
    podspawn_reset_signals(fd, "pause");
    /* kubelet's -998 for the sandbox: the last the OOM killer picks (lowering needs
     * CAP_SYS_RESOURCE; without it the pause stays at 0 and the containers are raised to >= 1). */
    podspawn_set_oom_score_adj(-998);
    /* Into its cgroup before anyone learns its pid: a crash of the owner at any instant leaves
     * it where `gc` finds it. */
    podspawn_join_cgroups(fd, a->procs, a->procs_files, a->procs_count);
    if ((a->namespaces & PODSPAWN_NS_UTS) && sethostname(a->hostname, strlen(a->hostname)) < 0)
        podspawn_fail(fd, "sethostname", a->hostname);
    if (a->namespaces & PODSPAWN_NS_NET) {
        /* A new network namespace has lo down: connect to 127.0.0.1 would be unreachable. */
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) podspawn_fail(fd, "socket", "AF_INET, for lo");
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) podspawn_fail(fd, "ioctl", "lo, SIOCGIFFLAGS");
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) podspawn_fail(fd, "ioctl", "lo, SIOCSIFFLAGS");
        close(s);
    }
    podspawn_stdio_to(fd, -1, -1, -1);
    if (chdir("/") < 0) podspawn_fail(fd, "chdir", "/");
    /* The report pipe is the pause's fd 3, kept across the exec: the pause closes it once it
     * has named itself, and that EOF tells the owner it is ready. Everything else is closed by
     * the exec. */
    int image = a->image;
    if (image == 3 && (image = fcntl(3, F_DUPFD_CLOEXEC, 4)) < 0) podspawn_fail(fd, "fcntl", "pause image");
    if (fd == 3) {
        if (fcntl(3, F_SETFD, 0) < 0) podspawn_fail(fd, "fcntl", "report pipe");
    } else if (dup2(fd, 3) < 0) {
        podspawn_fail(fd, "dup2", "report pipe");
    }
    if (syscall(SYS_close_range, 4U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) podspawn_fail(fd, "close_range", NULL);
    char *const argv[] = {"pause", NULL};
    char *const envp[] = {NULL};
    syscall(SYS_execveat, image, "", argv, envp, AT_EMPTY_PATH);
    podspawn_fail(fd, "execveat", "pause (memfd)");
}

pid_t podspawn_sandbox(const char *hostname, int namespaces, const char *const *cgroup_procs, int cgroup_count,
                       podspawn_error *error) {
    int procs[PODSPAWN_MAX_CGROUPS];
    if (podspawn_open_procs(cgroup_procs, cgroup_count, procs, error) < 0) return -1;
    int report[2];
    if (podspawn_report_pipe(report) < 0) {
        podspawn_set_error(error, "pipe2", "report pipe", errno);
        podspawn_close_all(procs, cgroup_count);
        return -1;
    }
#ifdef PODSPAWN_NO_INFRA_IMAGES
    close(report[0]);
    close(report[1]);
    podspawn_close_all(procs, cgroup_count);
    podspawn_set_error(error, "execveat", "pause (no image for this architecture: scripts/make-infra.sh builds x86-64 and arm64)", ENOEXEC);
    return -1;
#endif
    int image = podspawn_infra_memfd("pause", pause_image, sizeof pause_image);
    if (image < 0) {
        int code = errno;
        close(report[0]);
        close(report[1]);
        podspawn_close_all(procs, cgroup_count);
        podspawn_infra_memfd_error(error, "pause", code);
        return -1;
    }
    struct sandbox_args args = {hostname ? hostname : "", namespaces, report[1], procs, cgroup_procs, cgroup_count, image};
    int flags = 0;
    for (int i = 0; i < PODSPAWN_NAMESPACE_COUNT; i++)
        if ((namespaces & podspawn_namespaces[i].bit) && podspawn_namespaces[i].bit != PODSPAWN_NS_MNT)
            flags |= podspawn_namespaces[i].clone_flag;
    /* The pod's other new namespaces are owned by its user namespace; the pause needs no ID in
     * it (the caller maps it once the pause runs, before any container is started). */
    if (namespaces & PODSPAWN_NS_USER) flags |= CLONE_NEWUSER;
    pid_t pid = podspawn_clone_in_memory(sandbox_main, &args, flags, NULL);
    int clone_errno = errno;
    close(image);
    close(report[1]);
    podspawn_close_all(procs, cgroup_count);
    if (pid < 0) {
        close(report[0]);
        podspawn_set_error(error, "clone", "pause, in new namespaces", clone_errno);
        return -1;
    }
    return podspawn_await_ready(report[0], pid, error);
}
