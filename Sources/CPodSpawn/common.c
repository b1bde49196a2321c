/* What the programs share: report records, errors, the clone that shares the caller's memory,
 * cgroup descriptors, memfds for the infra programs, the namespace table. */
#include "podspawn_common.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

const podspawn_namespace podspawn_namespaces[PODSPAWN_NAMESPACE_COUNT] = {
    {PODSPAWN_NS_IPC, CLONE_NEWIPC, "ipc"},
    {PODSPAWN_NS_UTS, CLONE_NEWUTS, "uts"},
    {PODSPAWN_NS_NET, CLONE_NEWNET, "net"},
    {PODSPAWN_NS_PID, CLONE_NEWPID, "pid"},
    {PODSPAWN_NS_MNT, CLONE_NEWNS, "mnt"},
};

/* strncpy that always terminates (async-signal-safe: no locale, no allocation). */
static void copy_text(char *to, size_t size, const char *from) {
    size_t n = 0;
    if (from) {
        while (from[n] && n + 1 < size) n++;
        memcpy(to, from, n);
    }
    to[n] = '\0';
}

void podspawn_write_record(int fd, int kind, const char *step, const char *target, int error, pid_t pid) {
    podspawn_record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.error = error;
    r.pid = pid;
    copy_text(r.step, sizeof r.step, step);
    copy_text(r.target, sizeof r.target, target);
    ssize_t ignored = write(fd, &r, sizeof r);
    (void)ignored;
}

void podspawn_fail(int fd, const char *step, const char *target) {
    podspawn_write_record(fd, 'E', step, target, errno, 0);
    _exit(127);
}

int podspawn_read_record(int fd, podspawn_record *r) {
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fd, (char *)r + got, sizeof *r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return got == 0 && n == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

/* The calls a child's failure can name (records carry copies; the caller gets these). */
static const char *const steps[] = {
    "sigprocmask", "sethostname", "socket", "ioctl", "open", "dup2", "setns", "clone", "chdir", "execve",
    "close_range", "unshare", "mount", "pivot_root", "umount2", "mkdir", "move_mount", "open_tree",
    "write", "prctl", "capget", "capset", "mknod", "chmod", "symlink", "setsid", "fcntl", "execveat",
    "path",
};

void podspawn_fill_error(podspawn_error *error, const podspawn_record *r) {
    if (!error) return;
    error->pid = 0;
    error->step = "spawn";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (strcmp(steps[i], r->step) == 0) error->step = steps[i];
    error->error = r->error;
    copy_text(error->target, sizeof error->target, r->target);
}

void podspawn_set_error(podspawn_error *error, const char *step, const char *target, int code) {
    if (!error) return;
    error->pid = 0;
    error->step = step;
    error->error = code;
    copy_text(error->target, sizeof error->target, target);
}

int podspawn_report_pipe(int fds[2]) {
    int low[2];
    if (pipe2(low, O_CLOEXEC) < 0) return -1;
    /* Away from the low numbers other code in the process opens and closes (a stray close of a
     * reused number would cut the report). */
    fds[0] = fcntl(low[0], F_DUPFD_CLOEXEC, 100);
    fds[1] = fcntl(low[1], F_DUPFD_CLOEXEC, 100);
    close(low[0]);
    close(low[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int saved = errno;
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        errno = saved;
        return -1;
    }
    return 0;
}

/* A session of its own first, while every signal is still blocked: a Ctrl-C at the owner's
 * terminal (podsh's prompt) must not reach the pod, and one typed while this child was still in
 * the terminal's process group is pending here — setting the terminal's signals to SIG_IGN
 * discards it. Then default dispositions, then nothing blocked: a signal that arrives in between
 * finds no handler of the caller's (a child that shares the caller's memory starts with every
 * signal blocked, as posix_spawn's child does). */
void podspawn_reset_signals(int fd, const char *who) {
    if (setsid() < 0) podspawn_fail(fd, "setsid", who);
    static const int terminal[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP};
    for (size_t i = 0; i < sizeof terminal / sizeof terminal[0]; i++) signal(terminal[i], SIG_IGN);
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo == SIGKILL || signo == SIGSTOP) continue;
        signal(signo, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) podspawn_fail(fd, "sigprocmask", NULL);
}

void podspawn_stdio_to(int fd, int in, int out, int err) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) podspawn_fail(fd, "open", "/dev/null");
    if (dup2(in < 0 ? null : in, 0) < 0) podspawn_fail(fd, "dup2", "stdin");
    if (dup2(out < 0 ? null : out, 1) < 0) podspawn_fail(fd, "dup2", "stdout");
    if (dup2(err < 0 ? null : err, 2) < 0) podspawn_fail(fd, "dup2", "stderr");
}

pid_t podspawn_clone_in_memory(int (*fn)(void *), void *arg, int flags, char **second_stack) {
    size_t stack_size = 256 * 1024, stacks = second_stack ? 2 : 1;
    char *stack = mmap(NULL, stacks * stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        errno = ENOMEM;
        return -1;
    }
    if (second_stack) *second_stack = stack + stack_size;  /* the lower one; the child's is above */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = clone(fn, stack + stacks * stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD | flags, arg);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, stacks * stack_size);  /* the child has exec'd or exited */
    errno = saved;
    return pid;
}

pid_t podspawn_await_ready(int report, pid_t pid, podspawn_error *error) {
    podspawn_record r;
    int got = podspawn_read_record(report, &r);
    close(report);
    if (got == 0) return pid;
    if (got > 0) podspawn_fill_error(error, &r); else podspawn_set_error(error, "read", "report pipe", EPROTO);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return -1;
}

int podspawn_open_procs(const char *const *files, int count, int *fds, podspawn_error *error) {
    if (count < 0 || count > PODSPAWN_MAX_CGROUPS) {
        podspawn_set_error(error, "open", "cgroup.procs (too many hierarchies)", E2BIG);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        fds[i] = open(files[i], O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            podspawn_set_error(error, "open", files[i], errno);
            for (int j = 0; j < i; j++) close(fds[j]);
            return -1;
        }
    }
    return 0;
}

void podspawn_close_all(const int *fds, int count) {
    for (int i = 0; i < count; i++) close(fds[i]);
}

void podspawn_join_cgroups(int fd, const int *procs, const char *const *files, int count) {
    for (int i = 0; i < count; i++)
        if (write(procs[i], "0", 1) != 1) podspawn_fail(fd, "write", files ? files[i] : "cgroup.procs");
}

int podspawn_set_oom_score_adj(int value) {
    char text[16];
    int n = 0;
    unsigned magnitude = value < 0 ? (unsigned)(-value) : (unsigned)value;
    char digits[12];
    int d = 0;
    do { digits[d++] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude && d < 11);
    if (value < 0) text[n++] = '-';
    while (d) text[n++] = digits[--d];
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t written = write(fd, text, (size_t)n);
    close(fd);
    return written == n ? 0 : -1;
}

int podspawn_memfd_holding(const char *name, unsigned flags, const void *data, size_t length) {
    int fd = memfd_create(name, flags);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, (const char *)data + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* MFD_EXEC says the memfd is meant to be executed (Linux 6.3+, where vm.memfd_noexec = 1 would
 * otherwise seal it against exec); older kernels refuse the flag and get a plain memfd. */
int podspawn_infra_memfd(const char *name, const unsigned char *image, size_t size) {
    int fd = podspawn_memfd_holding(name, MFD_CLOEXEC | MFD_EXEC, image, size);
    if (fd < 0 && errno == EINVAL) fd = podspawn_memfd_holding(name, MFD_CLOEXEC, image, size);
    return fd;
}

void podspawn_infra_memfd_error(podspawn_error *error, const char *program, int code) {
    podspawn_set_error(error, "memfd_create", program, code);
}
