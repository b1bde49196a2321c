/* Raw Linux system calls for the freestanding infra programs (pause.c, forwarder.c): no libc,
 * x86-64 and arm64. Each program starts in `_start`, which hands the initial stack pointer
 * (argc, argv...) to `infra_main`. */
#ifndef INFRA_SYS_H
#define INFRA_SYS_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long long uint64_t;
typedef unsigned int uint32_t;
typedef unsigned short uint16_t;

#if defined(__x86_64__)
enum { NR_read = 0, NR_close = 3, NR_mmap = 9, NR_rt_sigprocmask = 14, NR_socket = 41, NR_connect = 42,
       NR_accept4 = 288, NR_sendto = 44, NR_recvfrom = 45, NR_shutdown = 48, NR_setsockopt = 54,
       NR_getsockopt = 55, NR_wait4 = 61, NR_prctl = 157, NR_exit_group = 231, NR_epoll_ctl = 233,
       NR_epoll_pwait = 281, NR_signalfd4 = 289, NR_epoll_create1 = 291 };
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
/* The kernel's struct epoll_event is packed on x86-64. */
struct epoll_event { uint32_t events; uint64_t data; } __attribute__((packed));
__asm__(".text\n.globl _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call infra_main\n hlt\n");
#elif defined(__aarch64__)
enum { NR_read = 63, NR_close = 57, NR_mmap = 222, NR_rt_sigprocmask = 135, NR_socket = 198, NR_connect = 203,
       NR_accept4 = 242, NR_sendto = 206, NR_recvfrom = 207, NR_shutdown = 210, NR_setsockopt = 208,
       NR_getsockopt = 209, NR_wait4 = 260, NR_prctl = 167, NR_exit_group = 94, NR_epoll_ctl = 21,
       NR_epoll_pwait = 22, NR_signalfd4 = 74, NR_epoll_create1 = 20 };
static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
struct epoll_event { uint32_t events; uint64_t data; };
__asm__(".text\n.globl _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n bl infra_main\n");
#else
#error "the infra programs are written for x86-64 and arm64"
#endif

#define sys(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

enum { SIG_SETMASK = 2, SIGINT = 2, SIGTERM = 15, SIGCHLD = 17, WNOHANG = 1, PR_SET_NAME = 15,
       SFD_CLOEXEC = 02000000, REPORT_FD = 3, EINTR = 4, EAGAIN = 11, EINPROGRESS = 115 };

__attribute__((noreturn)) static inline void exit_group(long code) {
    for (;;) sys(NR_exit_group, code, 0, 0, 0);
}

/* Names the process (comm; its command line is its argv) and says "ready" to the owner by
 * closing the report pipe it was given as fd 3 — unless fd 3 is `own`, a descriptor of its own
 * (no pipe was passed). */
static inline void ready(const char *name, long own) {
    sys(NR_prctl, PR_SET_NAME, name, 0, 0);
    if (own != REPORT_FD) sys(NR_close, REPORT_FD, 0, 0, 0);
}

#endif
