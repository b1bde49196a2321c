/* Raw Linux system calls for the freestanding infra programs (pause.c, forwarder.c, logger.c): no libc,
 * x86-64 and arm64. Each program starts in `_start`, which hands the initial stack pointer
 * (argc, argv...) to `infra_main`. */
#ifndef INFRA_SYS_H
#define INFRA_SYS_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long long uint64_t;
typedef unsigned int uint32_t;
typedef unsigned short uint16_t;

/* The system calls the programs make: name, x86-64 number, arm64 number. */
#define INFRA_SYSCALLS(X) \
    X(read, 0, 63) X(close, 3, 57) X(mmap, 9, 222) X(rt_sigprocmask, 14, 135) X(socket, 41, 198) \
    X(connect, 42, 203) X(accept4, 288, 242) X(sendto, 44, 206) X(recvfrom, 45, 207) \
    X(shutdown, 48, 210) X(setsockopt, 54, 208) X(getsockopt, 55, 209) X(wait4, 61, 260) \
    X(prctl, 157, 167) X(exit_group, 231, 94) X(epoll_ctl, 233, 21) X(epoll_pwait, 281, 22) \
    X(signalfd4, 289, 74) X(epoll_create1, 291, 20) X(write, 1, 64) X(lseek, 8, 62) X(openat, 257, 56) \
    X(renameat2, 316, 276) X(ftruncate, 77, 46)
#if defined(__x86_64__)
#define INFRA_NR(name, x86_64, arm64) NR_##name = x86_64,
#elif defined(__aarch64__)
#define INFRA_NR(name, x86_64, arm64) NR_##name = arm64,
#endif
enum { INFRA_SYSCALLS(INFRA_NR) };

#if defined(__x86_64__)
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
