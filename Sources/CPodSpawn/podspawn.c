#define _GNU_SOURCE
#include "podspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* What a child writes to the report pipe: a pid (kind 'P') or a failure (kind 'E'). */
typedef struct record {
    int kind;
    int error;
    pid_t pid;
    char step[32];
} record;

static void write_record(int fd, int kind, const char *step, int error, pid_t pid) {
    record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.error = error;
    r.pid = pid;
    if (step) {
        size_t n = strlen(step);
        if (n >= sizeof r.step) n = sizeof r.step - 1;
        memcpy(r.step, step, n);
    }
    ssize_t ignored = write(fd, &r, sizeof r);
    (void)ignored;
}

/* In a child: report `step` with errno and leave. */
static void fail(int fd, const char *step) {
    write_record(fd, 'E', step, errno, 0);
    _exit(127);
}

/* Reads one record; 0 at EOF, 1 for a record, -1 on a short or failed read. */
static int read_record(int fd, record *r) {
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fd, (char *)r + got, sizeof *r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return got == 0 && n == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

/* The static steps a failure can name (records carry copies; the caller gets these). */
static const char *const steps[] = {
    "sigprocmask", "sethostname", "socket", "SIOCGIFFLAGS", "SIOCSIFFLAGS", "open /dev/null",
    "dup2", "setns ipc", "setns uts", "setns net", "setns pid", "clone", "chdir", "exec",
    "close_range",
};

static void fill_error(podspawn_error *error, const record *r) {
    if (!error) return;
    error->step = "spawn";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (strcmp(steps[i], r->step) == 0) error->step = steps[i];
    error->error = r->error;
}

static void set_error(podspawn_error *error, const char *step, int code) {
    if (!error) return;
    error->step = step;
    error->error = code;
}

static void reset_signals(int fd) {
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) fail(fd, "sigprocmask");
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo == SIGKILL || signo == SIGSTOP) continue;
        signal(signo, SIG_DFL);
    }
}

static void stdio_to(int fd, int out, int err) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) fail(fd, "open /dev/null");
    if (dup2(null, 0) < 0) fail(fd, "dup2");
    if (dup2(out < 0 ? null : out, 1) < 0) fail(fd, "dup2");
    if (dup2(err < 0 ? null : err, 2) < 0) fail(fd, "dup2");
}

/* ---- the pause ---- */

struct sandbox_args {
    const char *hostname;
    int report;
};

static void pause_exit(int signo) {
    (void)signo;
    _exit(0);
}

static void pause_reap(int signo) {
    (void)signo;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {}  /* its own children: the pause is their reaper */
    errno = saved;
}

static int sandbox_main(void *p) {
    struct sandbox_args *a = p;
    int fd = a->report;
    reset_signals(fd);
    if (sethostname(a->hostname, strlen(a->hostname)) < 0) fail(fd, "sethostname");
    /* A new network namespace has lo down: connect to 127.0.0.1 would be unreachable. */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail(fd, "socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail(fd, "SIOCGIFFLAGS");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail(fd, "SIOCSIFFLAGS");
    close(s);
    prctl(PR_SET_NAME, "pause", 0, 0, 0);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = pause_exit;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = pause_reap;
    action.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    sigaction(SIGCHLD, &action, NULL);
    stdio_to(fd, -1, -1);
    if (chdir("/") < 0) fail(fd, "chdir");
    /* Every other descriptor goes, the report pipe last: its EOF tells the parent we are ready. */
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) fail(fd, "close_range");
    for (;;) pause();
}

pid_t podspawn_sandbox(const char *hostname, int new_pid, podspawn_error *error) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        set_error(error, "pipe", errno);
        return -1;
    }
    size_t stack_size = 64 * 1024;
    char *stack = malloc(stack_size);
    if (!stack) {
        close(report[0]);
        close(report[1]);
        set_error(error, "malloc", ENOMEM);
        return -1;
    }
    struct sandbox_args args = {hostname ? hostname : "", report[1]};
    int flags = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (new_pid ? CLONE_NEWPID : 0) | SIGCHLD;
    pid_t pid = clone(sandbox_main, stack + stack_size, flags, &args);
    int clone_errno = errno;
    free(stack);  /* the child has its own copy of the memory */
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        set_error(error, "clone", clone_errno);
        return -1;
    }
    record r;
    int got = read_record(report[0], &r);
    close(report[0]);
    if (got == 0) return pid;
    if (got > 0) fill_error(error, &r); else set_error(error, "report", EPROTO);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return -1;
}

/* ---- containers ---- */

static const char *env_path(char *const envp[]) {
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0) return envp[i] + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* execve on each PATH candidate (execvp is not async-signal-safe); returns with errno set. */
static void exec_path(char *const argv[], char *const envp[]) {
    const char *file = argv[0];
    if (strchr(file, '/')) {
        execve(file, argv, envp);
        return;
    }
    const char *path = env_path(envp);
    size_t file_len = strlen(file);
    int saw_eacces = 0;
    char buffer[4096];
    for (const char *p = path;; ) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) { buffer[0] = '.'; len = 1; } else if (len < sizeof buffer) memcpy(buffer, p, len);
        if (len + 1 + file_len < sizeof buffer) {
            buffer[len] = '/';
            memcpy(buffer + len + 1, file, file_len + 1);
            execve(buffer, argv, envp);
            if (errno == EACCES) saw_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR) return;
        }
        if (!end) break;
        p = end + 1;
    }
    errno = saw_eacces ? EACCES : ENOENT;
}

pid_t podspawn_exec(pid_t sandbox, int join_pid, char *const argv[], char *const envp[],
                    const char *workdir, int out_fd, int err_fd, podspawn_error *error) {
    static const char *const kinds[] = {"ipc", "uts", "net", "pid"};
    static const char *const setns_steps[] = {"setns ipc", "setns uts", "setns net", "setns pid"};
    static const int types[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID};
    int count = join_pid ? 4 : 3;
    int ns[4] = {-1, -1, -1, -1};
    /* Every namespace is opened before the first setns (FACTS.md). */
    for (int i = 0; i < count; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)sandbox, kinds[i]);
        ns[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (ns[i] < 0) {
            set_error(error, "open namespace", errno);
            for (int j = 0; j < i; j++) close(ns[j]);
            return -1;
        }
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        set_error(error, "pipe", errno);
        for (int i = 0; i < count; i++) close(ns[i]);
        return -1;
    }
    pid_t middle = fork();
    if (middle == 0) {
        int fd = report[1];
        reset_signals(fd);
        for (int i = 0; i < count; i++)
            if (setns(ns[i], types[i]) < 0) fail(fd, setns_steps[i]);
        /* setns(pid) applies to children: fork again, as a sibling (a direct child of the
         * caller) so that the caller reaps it per pid. */
        pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (child < 0) fail(fd, "clone");
        if (child > 0) {
            write_record(fd, 'P', NULL, 0, child);
            _exit(0);
        }
        stdio_to(fd, out_fd, err_fd);
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(fd, "close_range");
        if (workdir && chdir(workdir) < 0) fail(fd, "chdir");
        exec_path(argv, envp);
        fail(fd, "exec");
    }
    int fork_errno = errno;
    close(report[1]);
    for (int i = 0; i < count; i++) close(ns[i]);
    if (middle < 0) {
        close(report[0]);
        set_error(error, "fork", fork_errno);
        return -1;
    }
    while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {}
    record r;
    int got = read_record(report[0], &r);
    if (got <= 0 || r.kind != 'P') {
        close(report[0]);
        if (got > 0) fill_error(error, &r); else set_error(error, "report", EPROTO);
        return -1;
    }
    pid_t child = r.pid;
    got = read_record(report[0], &r);
    close(report[0]);
    if (got == 0) return child;  /* EOF: exec closed the pipe */
    if (got > 0) fill_error(error, &r); else set_error(error, "report", EPROTO);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    return -1;
}
