/* pause: the infra process of a swift-pods pod. It holds the pod's namespaces and does nothing
 * else: every signal blocked, SIGTERM and SIGINT (exit 0) and SIGCHLD (reap its children: it is
 * PID 1 of a shared PID namespace) read from a signalfd. Freestanding (sys.h), a few hundred
 * bytes that libpodspawn carries in Sources/CPodSpawn/infra_images.h and executes from a memfd
 * (podspawn_sandbox): no binary on the host, and none of the owner's memory in the pause.
 *
 * podspawn_sandbox sets everything else up before the exec (namespaces, hostname, lo, cgroups,
 * oom_score_adj, session, stdio on /dev/null) and passes its report pipe as fd 3: closing it
 * says "ready" once the pause is named. Regenerate the images with scripts/make-infra.sh. */
#include "sys.h"

__attribute__((noreturn, used)) void infra_main(long *stack) {
    (void)stack;
    unsigned long all = ~0UL;
    sys(NR_rt_sigprocmask, SIG_SETMASK, &all, 0, sizeof all);
    unsigned long wanted = 1UL << (SIGINT - 1) | 1UL << (SIGTERM - 1) | 1UL << (SIGCHLD - 1);
    long fd = sys(NR_signalfd4, -1, &wanted, sizeof wanted, SFD_CLOEXEC);
    if (fd < 0) exit_group(127);  /* the report pipe still open: the owner sees a failed start */
    ready("pause", fd);
    for (;;) {
        unsigned int info[32];  /* struct signalfd_siginfo: 128 bytes, ssi_signo first */
        long n = sys(NR_read, fd, info, sizeof info, 0);
        if (n == -EINTR) continue;
        if (n != (long)sizeof info) exit_group(126);  /* never spin on a broken descriptor */
        if (info[0] != SIGCHLD) exit_group(0);
        while (sys(NR_wait4, -1, 0, WNOHANG, 0) > 0) {}
    }
}
