/* pause: the infra process of a swift-pods pod. It holds the pod's namespaces and does nothing
 * else: every signal blocked, SIGTERM and SIGINT (exit 0) and SIGCHLD (reap its children: it is
 * PID 1 of a shared PID namespace) read from a signalfd. Freestanding — no libc, raw system
 * calls, x86-64 and arm64 — so that it is a few hundred bytes that libpodspawn carries in
 * `Sources/CPodSpawn/pause_image.h` and executes from a memfd (podspawn_sandbox): no binary on
 * the host, and nothing of the owner's memory in the pause.
 *
 * podspawn_sandbox sets everything else up before the exec (namespaces, hostname, lo, cgroups,
 * oom_score_adj, session, stdio on /dev/null) and passes its report pipe as fd 3: closing it
 * says "ready" once the pause is named. Regenerate the image with scripts/make-pause.sh. */

#if defined(__x86_64__)
enum { NR_read = 0, NR_close = 3, NR_rt_sigprocmask = 14, NR_wait4 = 61, NR_prctl = 157, NR_exit_group = 231,
       NR_signalfd4 = 289 };
static long sys4(long n, long a, long b, long c, long d) {
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
enum { NR_read = 63, NR_close = 57, NR_rt_sigprocmask = 135, NR_wait4 = 260, NR_prctl = 167, NR_exit_group = 94,
       NR_signalfd4 = 74 };
static long sys4(long n, long a, long b, long c, long d) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}
#else
#error "the pause is written for x86-64 and arm64"
#endif

enum { SIG_SETMASK = 2, SIGINT = 2, SIGTERM = 15, SIGCHLD = 17, WNOHANG = 1, PR_SET_NAME = 15,
       SFD_CLOEXEC = 02000000, REPORT_FD = 3, EINTR = 4 };

__attribute__((noreturn)) static void exit_group(long code) {
    for (;;) sys4(NR_exit_group, code, 0, 0, 0);
}

#if defined(__x86_64__)
#define ENTRY __attribute__((noreturn, used, force_align_arg_pointer))  /* rsp is 16-aligned at entry, not 8 */
#else
#define ENTRY __attribute__((noreturn, used))
#endif

ENTRY void _start(void) {
    unsigned long all = ~0UL;
    sys4(NR_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, sizeof all);
    unsigned long wanted = 1UL << (SIGINT - 1) | 1UL << (SIGTERM - 1) | 1UL << (SIGCHLD - 1);
    long fd = sys4(NR_signalfd4, -1, (long)&wanted, sizeof wanted, SFD_CLOEXEC);
    static const char name[] = "pause";
    sys4(NR_prctl, PR_SET_NAME, (long)name, 0, 0);
    if (fd < 0) exit_group(127);  /* the report pipe still open: the owner sees a failed start */
    if (fd != REPORT_FD) sys4(NR_close, REPORT_FD, 0, 0, 0);  /* fd 3 is ours when no pipe was passed */
    for (;;) {
        unsigned int info[32];  /* struct signalfd_siginfo: 128 bytes, ssi_signo first */
        long n = sys4(NR_read, fd, (long)info, sizeof info, 0);
        if (n == -EINTR) continue;
        if (n != (long)sizeof info) exit_group(126);  /* never spin on a broken descriptor */
        if (info[0] != SIGCHLD) exit_group(0);
        while (sys4(NR_wait4, -1, 0, WNOHANG, 0) > 0) {}
    }
}
