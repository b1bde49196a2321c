/* A container's process (or an exec in a running container): joins the sandbox's namespaces,
 * enters its own root, drops capabilities and execs. Everything in the children is
 * async-signal-safe: they share the caller's memory until their exec. */
#include "podspawn_common.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
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

/* mkdir -p (the root's own directories stay 0755). */
static void make_dirs(int fd, char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) podspawn_fail(fd, "mkdir", path);
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) podspawn_fail(fd, "mkdir", path);
}

static void make_file(int fd, const char *path) {
    int made = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (made < 0) podspawn_fail(fd, "open", path);
    close(made);
}

static void mount_at(int fd, const char *source, const char *target, const char *type, unsigned long flags,
                     const char *options, const char *what) {
    if (mount(source, target, type, flags, options) < 0) podspawn_fail(fd, "mount", what);
}

/* The overlay at root->merged. mount(2) takes its options in one page, which holds some 60
 * lower directories of the store's length; more go one by one through the new mount API
 * (fsconfig's lowerdir+, Linux 6.8 and later). Nothing is allocated: the paths are copied into
 * a buffer on the stack. */
static void mount_overlay(int fd, const podspawn_root *root, const char *options, const char *what, int privileged) {
    /* nodev: a device node an image carries (any major and minor its author chose) never opens. */
    if (strlen(options) < 4000) {
        mount_at(fd, "overlay", root->merged, "overlay", privileged ? 0 : MS_NODEV, options, what);
        return;
    }
    int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0) podspawn_fail(fd, "fsopen", "overlay (more lower directories than mount options hold)");
    char path[4096];
    for (const char *p = root->lower; *p; ) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= sizeof path) {
            errno = ENAMETOOLONG;
            podspawn_fail(fd, "fsconfig", "lowerdir+ (a path too long)");
        }
        memcpy(path, p, len);
        path[len] = 0;
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0) podspawn_fail(fd, "fsconfig", path);
        if (!end) break;
        p = end + 1;
    }
    if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", root->upper, 0) < 0) podspawn_fail(fd, "fsconfig", root->upper);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", root->work, 0) < 0) podspawn_fail(fd, "fsconfig", root->work);
    if (fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0) podspawn_fail(fd, "fsconfig", "volatile");
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) podspawn_fail(fd, "fsconfig", what);
    int mnt = fsmount(fs, FSMOUNT_CLOEXEC, privileged ? 0 : MOUNT_ATTR_NODEV);
    if (mnt < 0) podspawn_fail(fd, "fsmount", what);
    if (move_mount(mnt, "", AT_FDCWD, root->merged, MOVE_MOUNT_F_EMPTY_PATH) < 0) podspawn_fail(fd, "move_mount", what);
    close(mnt);
    close(fs);
}

/* What Docker, containerd and Podman hide and freeze in /proc and /sys (moby's lists): files and
 * directories that tell about the host's hardware and kernel, or change them. */
static const char *const masked_paths[] = {
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
static const char *const read_only_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

/* A masked path reads as nothing: a directory gets an empty read-only tmpfs, a file /dev/null. */
static void mask_path(int fd, const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return;
        podspawn_fail(fd, "lstat", path);
    }
    if (S_ISDIR(st.st_mode))
        mount_at(fd, "tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555", path);
    else
        mount_at(fd, "/dev/null", path, NULL, MS_BIND, NULL, path);
}

/* A read-only path: bound onto itself, then that bind made read-only. */
static void freeze_path(int fd, const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) return;
        podspawn_fail(fd, "lstat", path);
    }
    mount_at(fd, path, path, NULL, MS_BIND | MS_REC, NULL, path);
    mount_at(fd, NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, path);
}

/* The container's root: the overlay, pivot_root, /proc, /sys, /dev, /tmp and the volumes; then,
 * unless `unmasked`, the masked and read-only paths. */
/* Each lower directory of `lower` (colon-separated) over-mounted, in this private mount
 * namespace, by an idmapped clone of itself mapped by the user namespace `userns`: the overlay
 * then shows the image's root-owned files as owned by that namespace's root. */
static void idmap_lowers(int fd, const char *lower, int userns) {
    char path[4096];
    const char *p = lower;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n + 1 > sizeof path) {
            errno = ENAMETOOLONG;
            podspawn_fail(fd, "path", "a lower directory");
        }
        memcpy(path, p, n);
        path[n] = '\0';
        int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC);
        if (tree < 0) podspawn_fail(fd, "open_tree", path);
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)userns};
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
            podspawn_fail(fd, "mount_setattr", "MOUNT_ATTR_IDMAP, a lower directory");
        if (syscall(SYS_move_mount, tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0) podspawn_fail(fd, "move_mount", path);
        close(tree);
        p += n;
        if (*p == ':') p++;
    }
}

static void enter_root(int fd, const podspawn_root *root, const char *overlay_options, const char *overlay_target,
                       int privileged, int unmasked, int userns) {
    char path[4096];
    /* Volumes are cloned as detached mount trees while this process is still in the caller's
     * mount namespace (a bind from another namespace is EINVAL), and moved into place once the
     * new root is entered: the sources are descriptors the caller opened, so no path is resolved
     * again, and the targets resolve inside the new root. */
    int trees[PODSPAWN_MAX_MOUNTS];
    if (root->mount_count > PODSPAWN_MAX_MOUNTS) {
        errno = E2BIG;
        podspawn_fail(fd, "open_tree", "volumes (too many)");
    }
    for (int i = 0; i < root->mount_count; i++) {
        trees[i] = (int)syscall(SYS_open_tree, root->mounts[i].source_fd, "",
                                OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (trees[i] < 0) podspawn_fail(fd, "open_tree", root->mounts[i].target);
    }
    if (unshare(CLONE_NEWNS) < 0) podspawn_fail(fd, "unshare", "CLONE_NEWNS");
    /* Private first: / is shared on systemd hosts, and our mounts must not leak out. */
    mount_at(fd, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "/, MS_REC | MS_PRIVATE");
    if (userns >= 0) idmap_lowers(fd, root->lower, userns);
    mount_overlay(fd, root, overlay_options, overlay_target, privileged);
    if (chdir(root->merged) < 0) podspawn_fail(fd, "chdir", root->merged);
    if (syscall(SYS_pivot_root, ".", ".") < 0) podspawn_fail(fd, "pivot_root", root->merged);
    if (umount2(".", MNT_DETACH) < 0) podspawn_fail(fd, "umount2", "the old root");
    if (chdir("/") < 0) podspawn_fail(fd, "chdir", "/");
    /* Everything below is made inside the new root, so an image's symlinks resolve inside it. */
    memcpy(path, "/proc", 6);
    make_dirs(fd, path);
    mount_at(fd, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "proc, /proc");
    /* sysfs of the pod's network namespace; read-only unless privileged (as Docker does). */
    memcpy(path, "/sys", 5);
    make_dirs(fd, path);
    /* The pod's containers share one sysfs superblock (one per network namespace): it is made
     * read-write, and each container's mount of it is made read-only, so that a privileged
     * container of the pod still gets it writable. */
    mount_at(fd, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "sysfs, /sys");
    if (!privileged)
        mount_at(fd, NULL, "/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "sysfs, /sys (read-only)");
    memcpy(path, "/dev", 5);
    make_dirs(fd, path);
    mount_at(fd, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k", "tmpfs, /dev");
    static const struct { const char *name; unsigned major, minor; } devices[] = {
        {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        if (mknod(devices[i].name, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) < 0)
            podspawn_fail(fd, "mknod", devices[i].name);
        if (chmod(devices[i].name, 0666) < 0) podspawn_fail(fd, "chmod", devices[i].name);  /* past the umask */
    }
    /* A devpts of its own (newinstance): the container's ptys, not the host's. */
    if (mkdir("/dev/pts", 0755) < 0) podspawn_fail(fd, "mkdir", "/dev/pts");
    mount_at(fd, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts, /dev/pts");
    if (symlink("pts/ptmx", "/dev/ptmx") < 0) podspawn_fail(fd, "symlink", "/dev/ptmx");
    if (mkdir("/dev/mqueue", 0755) < 0) podspawn_fail(fd, "mkdir", "/dev/mqueue");
    mount_at(fd, "mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mqueue, /dev/mqueue");
    if (mkdir("/dev/shm", 01777) < 0) podspawn_fail(fd, "mkdir", "/dev/shm");
    mount_at(fd, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "tmpfs, /dev/shm");
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) < 0) podspawn_fail(fd, "symlink", links[i][1]);
    memcpy(path, "/tmp", 5);
    make_dirs(fd, path);
    mount_at(fd, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", "tmpfs, /tmp");
    for (int i = 0; i < root->mount_count; i++) {
        const podspawn_mount *m = &root->mounts[i];
        size_t n = strlen(m->target);
        if (n + 1 > sizeof path) {
            errno = ENAMETOOLONG;
            podspawn_fail(fd, "path", m->target);
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
            podspawn_fail(fd, "move_mount", m->target);
        close(trees[i]);
        if (m->read_only) mount_at(fd, NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL, m->target);
    }
    /* Last, so that no volume mounted below /proc or /sys uncovers them. */
    if (!unmasked) {
        for (size_t i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) mask_path(fd, masked_paths[i]);
        for (size_t i = 0; i < sizeof read_only_paths / sizeof read_only_paths[0]; i++) freeze_path(fd, read_only_paths[i]);
    }
}

/* readOnlyRootFilesystem: the root mount alone (the mounts on it keep their own flags), once
 * the working directory is made, as runc does. */
static void freeze_root(int fd) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &attr, sizeof attr) < 0)
        podspawn_fail(fd, "mount_setattr", "/ (readOnlyRootFilesystem)");
}

const unsigned long long podspawn_default_capabilities =
    (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID) |
    (1ULL << CAP_KILL) | (1ULL << CAP_SETGID) | (1ULL << CAP_SETUID) | (1ULL << CAP_SETPCAP) |
    (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_NET_RAW) | (1ULL << CAP_SYS_CHROOT) |
    (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_SETFCAP);

/* Keeps only `keep` in the bounding, permitted, effective and inheritable sets. */
static void limit_capabilities(int fd, unsigned long long keep) {
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;  /* past the kernel's last capability */
            podspawn_fail(fd, "prctl", "PR_CAPBSET_DROP");
        }
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) < 0) podspawn_fail(fd, "capget", NULL);
    for (int i = 0; i < 2; i++) {
        unsigned int mask = (unsigned int)(keep >> (32 * i));
        data[i].effective &= mask;
        data[i].permitted &= mask;
        data[i].inheritable &= mask;
    }
    if (syscall(SYS_capset, &header, data) < 0) podspawn_fail(fd, "capset", NULL);
}

/* The process's seccomp filter, if it has one (this thread only: the caller is not filtered). */
static void load_seccomp(int fd, const podspawn_process *process) {
    if (!process->seccomp_filter) return;
    struct sock_fprog program = {(unsigned short)process->seccomp_length, (struct sock_filter *)process->seccomp_filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) podspawn_fail(fd, "seccomp", "SECCOMP_SET_MODE_FILTER");
}

struct middle_args {
    int report;
    const int *ns;
    char (*ns_paths)[64];  /* /proc/PID/ns/KIND of each namespace joined, for failure records */
    int new_pid;
    const int *procs;
    int procs_count;
    const podspawn_process *process;
    const podspawn_root *root;
    const char *overlay_options;
    const char *overlay_target;
    char *workdir;
    char *const *argv;
    char *const *envp;
    char *child_stack;  /* the top of the container process's stack */
};

/* The container's process: a direct child of the caller (CLONE_PARENT), sharing the caller's
 * memory like the middle (CLONE_VM | CLONE_VFORK, on a stack of its own) until its exec gives
 * it memory of its own: a fork would copy the caller's page tables only for exec to throw them
 * away, which costs in proportion to the caller's size. Nothing the caller reads is written
 * (errno aside: the caller is suspended and sets its own). */
static int container_main(void *p) {
    struct middle_args *a = p;
    int fd = a->report;
    const podspawn_process *process = a->process;
    char *workdir = a->workdir;
    if (setsid() < 0) podspawn_fail(fd, "setsid", a->argv[0]);  /* out of the owner's terminal's process group */
    if (process->oom_score_adj_set && podspawn_set_oom_score_adj(process->oom_score_adj) < 0) podspawn_set_oom_score_adj(1);
    podspawn_join_cgroups(fd, a->procs, process->cgroup_procs, a->procs_count);
    podspawn_stdio_to(fd, process->in_fd, process->out_fd, process->err_fd);
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) podspawn_fail(fd, "close_range", NULL);
    if (a->root) enter_root(fd, a->root, a->overlay_options, a->overlay_target, process->privileged,
                            process->privileged || process->unmasked, process->userns_fd);
    if (a->root && workdir[0] == '/' && workdir[1]) {
        struct stat st;
        int missing = stat(workdir, &st) < 0;
        make_dirs(fd, workdir);
        /* Made by us as the host's root: the pod's root owns it, as runc makes it in the container. */
        if (missing && process->userns_fd >= 0 && chown(workdir, process->id_base, process->id_base) < 0)
            podspawn_fail(fd, "chown", workdir);
    }
    if (a->root && a->root->read_only) freeze_root(fd);
    /* Last of the namespaces, once the mounts are made with the host's privileges. */
    if (process->userns_fd >= 0 && setns(process->userns_fd, CLONE_NEWUSER) < 0) podspawn_fail(fd, "setns", "the pod's user namespace");
    if (chdir(workdir) < 0) podspawn_fail(fd, "chdir", workdir);
    if (process->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) podspawn_fail(fd, "prctl", "PR_SET_NO_NEW_PRIVS");
    /* Without no_new_privs a filter can only be loaded with CAP_SYS_ADMIN: before the drop. */
    if (!process->no_new_privs) load_seccomp(fd, process);
    limit_capabilities(fd, process->capabilities);
    if (process->set_user) {
        if (setgroups((size_t)process->group_count, process->groups) < 0) podspawn_fail(fd, "setgroups", NULL);
        if (setresgid(process->gid, process->gid, process->gid) < 0) podspawn_fail(fd, "setresgid", NULL);
        if (setresuid(process->uid, process->uid, process->uid) < 0) podspawn_fail(fd, "setresuid", NULL);
    }
    if (process->no_new_privs) load_seccomp(fd, process);
    exec_path(a->argv, a->envp);
    podspawn_fail(fd, "execve", a->argv[0]);
}

/* The middle process (sharing the caller's memory until it exits): joins the namespaces, then
 * starts the container's process, which must be a child made after the joins for the PID
 * namespace to apply. */
static int middle_main(void *p) {
    struct middle_args *a = p;
    int fd = a->report;
    podspawn_reset_signals(fd, a->argv[0]);
    for (int i = 0; i < PODSPAWN_NAMESPACE_COUNT; i++)
        if (a->ns[i] >= 0 && setns(a->ns[i], podspawn_namespaces[i].clone_flag) < 0) podspawn_fail(fd, "setns", a->ns_paths[i]);
    if (a->new_pid && unshare(CLONE_NEWPID) < 0) podspawn_fail(fd, "unshare", "CLONE_NEWPID");
    /* A sibling (a direct child of the caller) so that the caller reaps it per pid; this
     * process waits until it has exec'd or failed (CLONE_VFORK). */
    /* Joining a user namespace takes a process alone in its memory: then a copy of the middle
     * (whose report of the exec is the report pipe's EOF) rather than a sharer of it. */
    int sharing = a->process->userns_fd >= 0 ? 0 : CLONE_VM | CLONE_VFORK;
    pid_t child = clone(container_main, a->child_stack, CLONE_PARENT | sharing | SIGCHLD, a);
    if (child < 0) podspawn_fail(fd, "clone", a->argv[0]);
    podspawn_write_record(fd, 'P', NULL, NULL, 0, child);
    _exit(0);
}

static void close_namespaces(const int *ns) {
    for (int i = 0; i < PODSPAWN_NAMESPACE_COUNT; i++) if (ns[i] >= 0) close(ns[i]);
}

pid_t podspawn_exec(pid_t target, int join, int new_pid, const podspawn_root *root,
                    const podspawn_process *process, podspawn_error *error) {
    char *const *argv = process->argv;
    char *const *envp = process->envp;
    if (!argv || !argv[0]) {
        podspawn_set_error(error, "execve", "(no program)", EINVAL);
        return -1;
    }
    /* Built before the clone: the children may not allocate or format. */
    char overlay_options[32768];  /* up to a few hundred lower directories (mount_overlay) */
    char overlay_target[PODSPAWN_TARGET_MAX];
    if (root) {
        int n = snprintf(overlay_options, sizeof overlay_options, "lowerdir=%s,upperdir=%s,workdir=%s,volatile",
                         root->lower, root->upper, root->work);
        if (n < 0 || (size_t)n >= sizeof overlay_options) {
            podspawn_set_error(error, "mount", "overlay options (too long)", ENAMETOOLONG);
            return -1;
        }
        snprintf(overlay_target, sizeof overlay_target, "overlay, %s", root->merged);
    }
    char workdir[4096];
    const char *wd = process->workdir ? process->workdir : "/";
    if (strlen(wd) + 1 > sizeof workdir) {
        podspawn_set_error(error, "path", wd, ENAMETOOLONG);
        return -1;
    }
    memcpy(workdir, wd, strlen(wd) + 1);
    /* Every namespace opened before the first is joined, in the table's order. */
    int ns[PODSPAWN_NAMESPACE_COUNT];
    char ns_paths[PODSPAWN_NAMESPACE_COUNT][64];
    for (int i = 0; i < PODSPAWN_NAMESPACE_COUNT; i++) {
        ns[i] = -1;
        snprintf(ns_paths[i], sizeof ns_paths[i], "/proc/%d/ns/%s", (int)target, podspawn_namespaces[i].name);
    }
    for (int i = 0; i < PODSPAWN_NAMESPACE_COUNT; i++) {
        if (!(join & podspawn_namespaces[i].bit)) continue;
        ns[i] = open(ns_paths[i], O_RDONLY | O_CLOEXEC);
        if (ns[i] < 0) {
            podspawn_set_error(error, "open", ns_paths[i], errno);
            close_namespaces(ns);
            return -1;
        }
    }
    int procs[PODSPAWN_MAX_CGROUPS];
    int procs_count = process->cgroup_count;
    if (podspawn_open_procs(process->cgroup_procs, procs_count, procs, error) < 0) {
        close_namespaces(ns);
        return -1;
    }
    int report[2];
    if (podspawn_report_pipe(report) < 0) {
        podspawn_set_error(error, "pipe2", "report pipe", errno);
        close_namespaces(ns);
        podspawn_close_all(procs, procs_count);
        return -1;
    }
    /* The middle and the container's process share the caller's memory, each on a stack of its
     * own. */
    struct middle_args args = {report[1], ns, ns_paths, new_pid, procs, procs_count, process, root,
                               overlay_options, overlay_target, workdir, argv, envp, NULL};
    pid_t middle = podspawn_clone_in_memory(middle_main, &args, 0, &args.child_stack);
    int fork_errno = errno;
    close(report[1]);
    close_namespaces(ns);
    podspawn_close_all(procs, procs_count);
    if (middle < 0) {
        close(report[0]);
        podspawn_set_error(error, "clone", argv[0], fork_errno);
        return -1;
    }
    while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {}
    /* The container process's failure record, if any, comes before the middle's pid record (the
     * middle waits for its child): read every record until EOF, whatever their order, so a
     * child that failed is still reaped. */
    pid_t child = -1;
    podspawn_record failure_record;
    int failed = 0, broken = 0;
    for (;;) {
        podspawn_record r;
        int got = podspawn_read_record(report[0], &r);
        if (got == 0) break;
        if (got < 0) { broken = 1; break; }
        if (r.kind == 'P') child = r.pid;
        else if (!failed) { failure_record = r; failed = 1; }
    }
    close(report[0]);
    if (!failed && !broken && child > 0) return child;  /* EOF after the pid: exec closed the pipe */
    if (failed) podspawn_fill_error(error, &failure_record); else podspawn_set_error(error, "read", "report pipe", EPROTO);
    if (child > 0) {
        if (!failed) kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
        if (error) error->pid = child;
    }
    return -1;
}
