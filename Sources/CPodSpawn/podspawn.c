#define _GNU_SOURCE
#include "podspawn.h"
#include "infra_images.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <linux/openat2.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int set_oom_score_adj(int value);

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
    "close_range", "unshare mount", "unshare pid", "make / private", "mount overlay",
    "mount proc", "mount /dev", "mount /dev/shm", "bind device", "mount /tmp", "mkdir",
    "bind volume", "read-only volume", "pivot_root", "detach old root", "path too long",
    "overlay options", "join cgroup", "no_new_privs", "drop capability", "capset", "setns mnt",
    "mknod", "symlink", "open volume", "create file", "setsid", "listen", "exec pause", "exec forwarder",
};

static void fill_error(podspawn_error *error, const record *r) {
    if (!error) return;
    error->pid = 0;
    error->step = "spawn";
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (strcmp(steps[i], r->step) == 0) error->step = steps[i];
    error->error = r->error;
}

static void set_error(podspawn_error *error, const char *step, int code) {
    if (!error) return;
    error->pid = 0;
    error->step = step;
    error->error = code;
}

/* Default dispositions first, then nothing blocked: a signal that arrives in between finds
 * no handler of the caller's (podspawn_exec's middle shares the caller's memory and starts
 * with every signal blocked, as posix_spawn's child does). */
static void reset_signals(int fd) {
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo == SIGKILL || signo == SIGSTOP) continue;
        signal(signo, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) fail(fd, "sigprocmask");
}

static void stdio_to(int fd, int in, int out, int err) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) fail(fd, "open /dev/null");
    if (dup2(in < 0 ? null : in, 0) < 0) fail(fd, "dup2");
    if (dup2(out < 0 ? null : out, 1) < 0) fail(fd, "dup2");
    if (dup2(err < 0 ? null : err, 2) < 0) fail(fd, "dup2");
}

int podspawn_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

/* A report pipe whose ends sit at 100 or above, away from the low numbers that other code in
 * the process opens and closes (a stray close of a reused number would cut the report). */
static int report_pipe(int fds[2]) {
    int low[2];
    if (pipe2(low, O_CLOEXEC) < 0) return -1;
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

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* A memfd made with `flags` holding `length` bytes of `data`, at offset 0; -1 with errno. */
static int memfd_holding(const char *name, unsigned flags, const void *data, size_t length) {
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

int podspawn_memfd(const char *name, const char *data, size_t length) {
    return memfd_holding(name, MFD_CLOEXEC, data, length);
}

/* A memfd holding an infra program (infra_images.h), close-on-exec. MFD_EXEC says it is meant
 * to be executed (Linux 6.3+, where vm.memfd_noexec = 1 would otherwise seal it against exec);
 * older kernels refuse the flag and get a plain memfd. -1 with errno. */
static int infra_memfd(const char *name, const unsigned char *image, size_t size) {
    int fd = memfd_holding(name, MFD_CLOEXEC | MFD_EXEC, image, size);
    if (fd < 0 && errno == EINVAL) fd = memfd_holding(name, MFD_CLOEXEC, image, size);
    return fd;
}

/* What a memfd that cannot be made says (EACCES: the host refuses executable memfds). */
static const char *infra_memfd_step(const char *what, int code) {
    if (code != EACCES) return what;
    return strcmp(what, "pause image") == 0 ? "pause image (exec from a memfd refused: vm.memfd_noexec = 2)"
                                            : "forwarder image (exec from a memfd refused: vm.memfd_noexec = 2)";
}

/* Waits for a child that reports readiness by closing `report` (EOF): its pid, or -1 with
 * `error` filled after the child that failed is killed and reaped. Closes `report`. */
static pid_t await_ready(int report, pid_t pid, podspawn_error *error) {
    record r;
    int got = read_record(report, &r);
    close(report);
    if (got == 0) return pid;
    if (got > 0) fill_error(error, &r); else set_error(error, "report", EPROTO);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return -1;
}

/* ---- the pause ---- */

struct sandbox_args {
    const char *hostname;
    int namespaces;
    int report;
    const int *procs;
    int procs_count;
    int image;  /* a memfd holding the pause program (infra_images.h) */
};

/* The pause's setup, in the owner's memory (CLONE_VM | CLONE_VFORK) and in the new namespaces;
 * then the exec of the pause program (Tools/infra/pause.c) from a memfd: a process of a few
 * pages, named `pause` as comm and command line, with none of the owner's memory. */
static int sandbox_main(void *p) {
    struct sandbox_args *a = p;
    int fd = a->report;
    reset_signals(fd);
    /* kubelet's -998 for the sandbox: the last the OOM killer picks (lowering needs
     * CAP_SYS_RESOURCE; without it the pause stays at 0 and the containers are raised to >= 1). */
    set_oom_score_adj(-998);
    /* Into its cgroup before anyone learns its pid: a crash of the owner at any instant leaves
     * it where `gc` finds it. */
    for (int i = 0; i < a->procs_count; i++)
        if (write(a->procs[i], "0", 1) != 1) fail(fd, "join cgroup");
    if ((a->namespaces & PODSPAWN_NS_UTS) && sethostname(a->hostname, strlen(a->hostname)) < 0)
        fail(fd, "sethostname");
    if (a->namespaces & PODSPAWN_NS_NET) {
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
    }
    /* A session of its own: a Ctrl-C at the owner's terminal (podsh's prompt) must not reach
     * the pod, as it does not reach a container runtime's containers. */
    if (setsid() < 0) fail(fd, "setsid");
    stdio_to(fd, -1, -1, -1);
    if (chdir("/") < 0) fail(fd, "chdir");
    /* The report pipe is the pause's fd 3, kept across the exec: the pause closes it once it
     * has named itself, and that EOF tells the owner it is ready. Everything else is closed by
     * the exec. */
    int image = a->image;
    if (image == 3 && (image = fcntl(3, F_DUPFD_CLOEXEC, 4)) < 0) fail(fd, "exec pause");
    if (fd == 3) {
        if (fcntl(3, F_SETFD, 0) < 0) fail(fd, "exec pause");
    } else if (dup2(fd, 3) < 0) {
        fail(fd, "exec pause");
    }
    if (syscall(SYS_close_range, 4U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(fd, "close_range");
    char *const argv[] = {"pause", NULL};
    char *const envp[] = {NULL};
    syscall(SYS_execveat, image, "", argv, envp, AT_EMPTY_PATH);
    fail(fd, "exec pause");
    return 127;
}

/* Runs `fn(arg)` in a child that shares the caller's memory until it execs or exits
 * (CLONE_VM | CLONE_VFORK, as posix_spawn does: no page tables copied, whatever the caller's
 * size; the calling thread waits meanwhile), with `flags` added (new namespaces), on a stack of
 * its own. With `second_stack`, the mapping holds a second stack whose top is stored there
 * before the clone, for a child of the child. Every signal is blocked in the caller across the
 * clone, so no handler of the caller's runs in the child before it resets them. Returns the
 * child's pid, or -1 with errno. */
static pid_t clone_in_memory(int (*fn)(void *), void *arg, int flags, char **second_stack) {
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

/* Opens `count` cgroup.procs files for writing; -1 with `error` filled (none left open). */
static int open_procs(const char *const *files, int count, int *fds, podspawn_error *error) {
    if (count < 0 || count > PODSPAWN_MAX_CGROUPS) {
        set_error(error, "join cgroup", E2BIG);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        fds[i] = open(files[i], O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            set_error(error, "join cgroup", errno);
            for (int j = 0; j < i; j++) close(fds[j]);
            return -1;
        }
    }
    return 0;
}

static void close_all(const int *fds, int count) {
    for (int i = 0; i < count; i++) close(fds[i]);
}

pid_t podspawn_sandbox(const char *hostname, int namespaces, const char *const *cgroup_procs, int cgroup_count,
                       podspawn_error *error) {
    int procs[PODSPAWN_MAX_CGROUPS];
    if (open_procs(cgroup_procs, cgroup_count, procs, error) < 0) return -1;
    int report[2];
    if (report_pipe(report) < 0) {
        set_error(error, "pipe", errno);
        close_all(procs, cgroup_count);
        return -1;
    }
#ifdef PODSPAWN_NO_INFRA_IMAGES
    close(report[0]);
    close(report[1]);
    close_all(procs, cgroup_count);
    set_error(error, "pause image (none for this architecture: scripts/make-infra.sh builds x86-64 and arm64)", ENOEXEC);
    return -1;
#endif
    int image = infra_memfd("pause", pause_image, sizeof pause_image);
    if (image < 0) {
        int code = errno;
        close(report[0]);
        close(report[1]);
        close_all(procs, cgroup_count);
        set_error(error, infra_memfd_step("pause image", code), code);
        return -1;
    }
    struct sandbox_args args = {hostname ? hostname : "", namespaces, report[1], procs, cgroup_count, image};
    int flags = 0;
    if (namespaces & PODSPAWN_NS_NET) flags |= CLONE_NEWNET;
    if (namespaces & PODSPAWN_NS_IPC) flags |= CLONE_NEWIPC;
    if (namespaces & PODSPAWN_NS_UTS) flags |= CLONE_NEWUTS;
    if (namespaces & PODSPAWN_NS_PID) flags |= CLONE_NEWPID;
    pid_t pid = clone_in_memory(sandbox_main, &args, flags, NULL);
    int clone_errno = errno;
    close(image);
    close(report[1]);
    close_all(procs, cgroup_count);
    if (pid < 0) {
        close(report[0]);
        set_error(error, "clone", clone_errno);
        return -1;
    }
    return await_ready(report[0], pid, error);
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

/* ---- a container's root (runs in the child: only async-signal-safe calls) ---- */

/* mkdir -p (the root's own directories stay 0755). */
static void make_dirs(int fd, char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) fail(fd, "mkdir");
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) fail(fd, "mkdir");
}

static void make_file(int fd, const char *path) {
    int made = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (made < 0) fail(fd, "create file");
    close(made);
}

static void enter_root(int fd, const podspawn_root *root, const char *overlay_options) {
    char path[4096];
    /* Volumes are cloned as detached mount trees while this process is still in the caller's
     * mount namespace (a bind from another namespace is EINVAL), and moved into place once the
     * new root is entered: the sources are descriptors the caller opened, so no path is resolved
     * again, and the targets resolve inside the new root. */
    int trees[PODSPAWN_MAX_MOUNTS];
    if (root->mount_count > PODSPAWN_MAX_MOUNTS) {
        errno = E2BIG;
        fail(fd, "bind volume");
    }
    for (int i = 0; i < root->mount_count; i++) {
        trees[i] = (int)syscall(SYS_open_tree, root->mounts[i].source_fd, "",
                                OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (trees[i] < 0) fail(fd, "open volume");
    }
    if (unshare(CLONE_NEWNS) < 0) fail(fd, "unshare mount");
    /* Private first: / is shared on systemd hosts, and our mounts must not leak out. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail(fd, "make / private");
    if (mount("overlay", root->merged, "overlay", 0, overlay_options) < 0) fail(fd, "mount overlay");
    if (chdir(root->merged) < 0) fail(fd, "chdir");
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail(fd, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0) fail(fd, "detach old root");
    if (chdir("/") < 0) fail(fd, "chdir");
    /* Everything below is made inside the new root, so an image's symlinks resolve inside it. */
    memcpy(path, "/proc", 6);
    make_dirs(fd, path);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail(fd, "mount proc");
    memcpy(path, "/dev", 5);
    make_dirs(fd, path);
    if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k") < 0) fail(fd, "mount /dev");
    static const struct { const char *name; unsigned major, minor; } devices[] = {
        {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        if (mknod(devices[i].name, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) < 0) fail(fd, "mknod");
        if (chmod(devices[i].name, 0666) < 0) fail(fd, "mknod");  /* past the umask */
    }
    if (mkdir("/dev/shm", 01777) < 0) fail(fd, "mkdir");
    if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
        fail(fd, "mount /dev/shm");
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) < 0) fail(fd, "symlink");
    memcpy(path, "/tmp", 5);
    make_dirs(fd, path);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) fail(fd, "mount /tmp");
    for (int i = 0; i < root->mount_count; i++) {
        const podspawn_mount *m = &root->mounts[i];
        size_t n = strlen(m->target);
        if (n + 1 > sizeof path) {
            errno = ENAMETOOLONG;
            fail(fd, "path too long");
        }
        memcpy(path, m->target, n + 1);
        if (m->is_file) {
            /* A file volume (subPath of a file, a configMap key): its parent, then the file. */
            char *slash = strrchr(path, '/');
            if (slash && slash != path) {
                *slash = '\0';
                make_dirs(fd, path);
                *slash = '/';
            }
            make_file(fd, path);
        } else {
            make_dirs(fd, path);
        }
        if (syscall(SYS_move_mount, trees[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            fail(fd, "bind volume");
        close(trees[i]);
        if (m->read_only && mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
            fail(fd, "read-only volume");
    }
}

const unsigned long long podspawn_default_capabilities =
    (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID) |
    (1ULL << CAP_KILL) | (1ULL << CAP_SETGID) | (1ULL << CAP_SETUID) | (1ULL << CAP_SETPCAP) |
    (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_NET_RAW) | (1ULL << CAP_SYS_CHROOT) |
    (1ULL << CAP_MKNOD) | (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_SETFCAP);

/* Keeps only `keep` in the bounding, permitted, effective and inheritable sets. */
static void limit_capabilities(int fd, unsigned long long keep) {
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;  /* past the kernel's last capability */
            fail(fd, "drop capability");
        }
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) < 0) fail(fd, "capset");
    for (int i = 0; i < 2; i++) {
        unsigned int mask = (unsigned int)(keep >> (32 * i));
        data[i].effective &= mask;
        data[i].permitted &= mask;
        data[i].inheritable &= mask;
    }
    if (syscall(SYS_capset, &header, data) < 0) fail(fd, "capset");
}

/* Writes `value` to /proc/self/oom_score_adj; 0 on success. */
static int set_oom_score_adj(int value) {
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

/* Moves the calling process into each cgroup ("0" means the writer), through `cgroup.procs`
 * descriptors opened before any namespace was joined (a container's mount namespace has no
 * /sys/fs/cgroup). */
static void join_cgroups(int fd, const int *procs, int count) {
    for (int i = 0; i < count; i++)
        if (write(procs[i], "0", 1) != 1) fail(fd, "join cgroup");
}

struct middle_args {
    int report;
    const int *ns;
    const int *types;
    const char *const *setns_steps;
    int new_pid;
    const int *procs;
    int procs_count;
    const podspawn_process *process;
    const podspawn_root *root;
    const char *overlay_options;
    char *workdir;
    char *const *argv;
    char *const *envp;
    char *child_stack;  /* the top of the container process's stack */
};

/* The container's process: a direct child of the caller (CLONE_PARENT), sharing the caller's
 * memory like the middle (CLONE_VM | CLONE_VFORK, on a stack of its own) until its exec gives
 * it memory of its own: a fork would copy the caller's page tables only for exec to throw them
 * away, which costs in proportion to the caller's size. Only async-signal-safe calls; nothing
 * the caller reads is written (errno aside: the caller is suspended and sets its own). */
static int container_main(void *p) {
    struct middle_args *a = p;
    int fd = a->report;
    const podspawn_process *process = a->process;
    char *workdir = a->workdir;
    if (setsid() < 0) fail(fd, "setsid");  /* out of the owner's terminal's process group */
    if (process->oom_score_adj_set && set_oom_score_adj(process->oom_score_adj) < 0) set_oom_score_adj(1);
    join_cgroups(fd, a->procs, a->procs_count);
    stdio_to(fd, process->in_fd, process->out_fd, process->err_fd);
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(fd, "close_range");
    if (a->root) enter_root(fd, a->root, a->overlay_options);
    if (a->root && workdir[0] == '/' && workdir[1]) make_dirs(fd, workdir);
    if (chdir(workdir) < 0) fail(fd, "chdir");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(fd, "no_new_privs");
    if (!process->privileged) limit_capabilities(fd, podspawn_default_capabilities);
    exec_path(a->argv, a->envp);
    fail(fd, "exec");
    return 127;
}

/* The middle process (sharing the caller's memory until it exits): joins the namespaces, then
 * starts the container's process, which must be a child made after the joins for the PID
 * namespace to apply. Only async-signal-safe calls. */
static int middle_main(void *p) {
    struct middle_args *a = p;
    int fd = a->report;
    reset_signals(fd);
    for (int i = 0; i < 5; i++)
        if (a->ns[i] >= 0 && setns(a->ns[i], a->types[i]) < 0) fail(fd, a->setns_steps[i]);
    if (a->new_pid && unshare(CLONE_NEWPID) < 0) fail(fd, "unshare pid");
    /* A sibling (a direct child of the caller) so that the caller reaps it per pid; this
     * process waits until it has exec'd or failed (CLONE_VFORK). */
    pid_t child = clone(container_main, a->child_stack, CLONE_PARENT | CLONE_VM | CLONE_VFORK | SIGCHLD, a);
    if (child < 0) fail(fd, "clone");
    write_record(fd, 'P', NULL, 0, child);
    _exit(0);
}

pid_t podspawn_exec(pid_t target, int join, int new_pid, const podspawn_root *root,
                    const podspawn_process *process, podspawn_error *error) {
    char *const *argv = process->argv;
    char *const *envp = process->envp;
    if (!argv || !argv[0]) {
        set_error(error, "exec", EINVAL);
        return -1;
    }
    /* Built before the fork: the child may not allocate. */
    char overlay_options[8192];
    if (root) {
        int n = snprintf(overlay_options, sizeof overlay_options, "lowerdir=%s,upperdir=%s,workdir=%s,volatile",
                         root->lower, root->upper, root->work);
        if (n < 0 || (size_t)n >= sizeof overlay_options) {
            set_error(error, "overlay options", ENAMETOOLONG);
            return -1;
        }
    }
    char workdir[4096];
    const char *wd = process->workdir ? process->workdir : "/";
    if (strlen(wd) + 1 > sizeof workdir) {
        set_error(error, "path too long", ENAMETOOLONG);
        return -1;
    }
    memcpy(workdir, wd, strlen(wd) + 1);
    /* setns order: user first, mount last (FACTS.md); every namespace opened before the first. */
    static const char *const kinds[] = {"ipc", "uts", "net", "pid", "mnt"};
    static const char *const setns_steps[] = {"setns ipc", "setns uts", "setns net", "setns pid", "setns mnt"};
    static const int bits[] = {PODSPAWN_NS_IPC, PODSPAWN_NS_UTS, PODSPAWN_NS_NET, PODSPAWN_NS_PID, PODSPAWN_NS_MNT};
    static const int types[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS};
    int ns[5] = {-1, -1, -1, -1, -1};
    for (int i = 0; i < 5; i++) {
        if (!(join & bits[i])) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, kinds[i]);
        ns[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (ns[i] < 0) {
            set_error(error, "open namespace", errno);
            for (int j = 0; j < i; j++) if (ns[j] >= 0) close(ns[j]);
            return -1;
        }
    }
    int procs[PODSPAWN_MAX_CGROUPS];
    int procs_count = process->cgroup_count;
    if (procs_count < 0 || procs_count > PODSPAWN_MAX_CGROUPS) {
        for (int i = 0; i < 5; i++) if (ns[i] >= 0) close(ns[i]);
        set_error(error, "join cgroup", E2BIG);
        return -1;
    }
    for (int i = 0; i < procs_count; i++) {
        procs[i] = open(process->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
        if (procs[i] < 0) {
            set_error(error, "join cgroup", errno);
            for (int j = 0; j < i; j++) close(procs[j]);
            for (int j = 0; j < 5; j++) if (ns[j] >= 0) close(ns[j]);
            return -1;
        }
    }
    int report[2];
    if (report_pipe(report) < 0) {
        set_error(error, "pipe", errno);
        for (int i = 0; i < 5; i++) if (ns[i] >= 0) close(ns[i]);
        for (int i = 0; i < procs_count; i++) close(procs[i]);
        return -1;
    }
    /* The middle and the container's process share the caller's memory (clone_in_memory), each
     * on a stack of its own. */
    struct middle_args args = {report[1], ns, types, setns_steps, new_pid, procs, procs_count, process, root,
                               overlay_options, workdir, argv, envp, NULL};
    pid_t middle = clone_in_memory(middle_main, &args, 0, &args.child_stack);
    int fork_errno = errno;
    close(report[1]);
    for (int i = 0; i < 5; i++) if (ns[i] >= 0) close(ns[i]);
    for (int i = 0; i < procs_count; i++) close(procs[i]);
    if (middle < 0) {
        close(report[0]);
        set_error(error, "fork", fork_errno);
        return -1;
    }
    while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {}
    /* The container process's failure record, if any, comes before the middle's pid record (the
     * middle waits for its child): read every record until EOF, whatever their order, so a
     * child that failed is still reaped. */
    pid_t child = -1;
    record failure_record;
    int failed = 0, broken = 0;
    for (;;) {
        record r;
        int got = read_record(report[0], &r);
        if (got == 0) break;
        if (got < 0) { broken = 1; break; }
        if (r.kind == 'P') child = r.pid;
        else if (!failed) { failure_record = r; failed = 1; }
    }
    close(report[0]);
    if (!failed && !broken && child > 0) return child;  /* EOF after the pid: exec closed the pipe */
    if (failed) fill_error(error, &failure_record); else set_error(error, "report", EPROTO);
    if (child > 0) {
        if (!failed) kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
        if (error) error->pid = child;
    }
    return -1;
}

int podspawn_o_path(void) {
    return O_PATH;
}

int podspawn_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

extern char **environ;

char **podspawn_environ(void) {
    return environ;
}

/* ---- the port forwarder ---- */

#include <netinet/in.h>
#include <arpa/inet.h>

struct forwarder_args {
    int report;
    int net;
    const int *procs;
    int procs_count;
    const podspawn_forward *forwards;
    int count;
    int image;
    char *const *argv;
};

/* The forwarder's setup, in the owner's memory (CLONE_VM | CLONE_VFORK); then the exec of the
 * forwarder program (Tools/infra/forwarder.c) with the report pipe as fd 3 and the listeners as
 * fds 4, 5, ... */
static int forwarder_main(void *p) {
    struct forwarder_args *a = p;
    int fd = a->report;
    reset_signals(fd);
    for (int i = 0; i < a->procs_count; i++)
        if (write(a->procs[i], "0", 1) != 1) fail(fd, "join cgroup");
    if (setsid() < 0) fail(fd, "setsid");
    stdio_to(fd, -1, -1, -1);
    if (chdir("/") < 0) fail(fd, "chdir");
    /* The listeners were made in the host's network namespace; connections are made here. */
    if (setns(a->net, CLONE_NEWNET) < 0) fail(fd, "setns net");
    /* Every descriptor the exec keeps is first copied above where they go (close-on-exec), then
     * put in place. */
    int above = 4 + a->count;
    int listeners[PODSPAWN_MAX_FORWARDS];
    for (int i = 0; i < a->count; i++) {
        int flags = fcntl(a->forwards[i].listen_fd, F_GETFL);
        if (flags < 0 || fcntl(a->forwards[i].listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) fail(fd, "listen");
        if ((listeners[i] = fcntl(a->forwards[i].listen_fd, F_DUPFD_CLOEXEC, above)) < 0) fail(fd, "listen");
    }
    int image = fcntl(a->image, F_DUPFD_CLOEXEC, above);
    int report = fcntl(fd, F_DUPFD_CLOEXEC, above);
    if (image < 0 || report < 0) fail(fd, "exec forwarder");
    fd = report;  /* the original may be one of the places the listeners go */
    if (dup2(report, 3) < 0) fail(fd, "exec forwarder");
    for (int i = 0; i < a->count; i++)
        if (dup2(listeners[i], 4 + i) < 0) fail(fd, "exec forwarder");
    if (syscall(SYS_close_range, (unsigned)above, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(fd, "close_range");
    char *const envp[] = {NULL};
    syscall(SYS_execveat, image, "", a->argv, envp, AT_EMPTY_PATH);
    fail(fd, "exec forwarder");
    return 127;
}

pid_t podspawn_forwarder(pid_t sandbox, const podspawn_forward *forwards, int count, const char *const *cgroup_procs,
                         int cgroup_count, podspawn_error *error) {
    if (count <= 0 || count > PODSPAWN_MAX_FORWARDS) {
        set_error(error, "forwarder", EINVAL);
        return -1;
    }
#ifdef PODSPAWN_NO_INFRA_IMAGES
    set_error(error, "forwarder image (none for this architecture: scripts/make-infra.sh builds x86-64 and arm64)", ENOEXEC);
    return -1;
#endif
    /* argv: the program's name, then the container port of each listener. */
    char ports[PODSPAWN_MAX_FORWARDS][8];
    char *argv[PODSPAWN_MAX_FORWARDS + 2];
    argv[0] = "pod-forwarder";
    for (int i = 0; i < count; i++) {
        if (forwards[i].target_port < 1 || forwards[i].target_port > 65535) {
            set_error(error, "forwarder", EINVAL);
            return -1;
        }
        snprintf(ports[i], sizeof ports[i], "%d", forwards[i].target_port);
        argv[i + 1] = ports[i];
    }
    argv[count + 1] = NULL;
    int procs[PODSPAWN_MAX_CGROUPS];
    if (open_procs(cgroup_procs, cgroup_count, procs, error) < 0) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)sandbox);
    int net = open(path, O_RDONLY | O_CLOEXEC);
    if (net < 0) {
        set_error(error, "open namespace", errno);
        close_all(procs, cgroup_count);
        return -1;
    }
    int report[2];
    if (report_pipe(report) < 0) {
        set_error(error, "pipe", errno);
        close(net);
        close_all(procs, cgroup_count);
        return -1;
    }
    int image = infra_memfd("pod-forwarder", forwarder_image, sizeof forwarder_image);
    if (image < 0) {
        int code = errno;
        close(report[0]);
        close(report[1]);
        close(net);
        close_all(procs, cgroup_count);
        set_error(error, infra_memfd_step("forwarder image", code), code);
        return -1;
    }
    struct forwarder_args args = {report[1], net, procs, cgroup_count, forwards, count, image, argv};
    pid_t pid = clone_in_memory(forwarder_main, &args, 0, NULL);
    int clone_errno = errno;
    close(image);
    close(report[1]);
    close(net);
    close_all(procs, cgroup_count);
    if (pid < 0) {
        close(report[0]);
        set_error(error, "clone", clone_errno);
        return -1;
    }
    return await_ready(report[0], pid, error);
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
