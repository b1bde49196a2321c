#ifndef PODSPAWN_H
#define PODSPAWN_H

#include <sys/types.h>

/* The Linux backend's process work that must not run Swift: everything between fork and exec
 * (a Swift process is multithreaded: Swift code in a forked child crashes or hangs; only
 * async-signal-safe C runs in the child).
 * Failures come back through a close-on-exec pipe as the failing step and errno. */

/* pipe2(fds, O_CLOEXEC): a pipe no concurrently spawned program can inherit (a plain pipe()
 * and a later FD_CLOEXEC leave a window in which another thread's spawn takes the write end,
 * and the reader never sees EOF). */
int podspawn_pipe(int fds[2]);

/* Spawns a host program (`path`, looked up in the caller's PATH when it has no '/'; `argv`)
 * with stdin, stdout and stderr from `in_fd`, `out_fd`, `err_fd` (-1: /dev/null), no other
 * descriptor inherited (whoever else in the process
 * opened them without O_CLOEXEC), default signal dispositions and an empty signal mask.
 * Returns 0 and the pid, or an errno. */
int podspawn_host(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
                  pid_t *pid);

/* Where a spawn failed: the system call (static: "mount", "setns", "execve"...), what it was
 * called on (`target`: "overlay, /run/.../merged", "/proc/4711/ns/net", a volume's path; empty
 * when there is nothing to name) and errno; `pid` is the child that failed (already reaped)
 * when one was made, else 0. */
enum { PODSPAWN_TARGET_MAX = 160 };
typedef struct podspawn_error {
    const char *step;
    int error;
    pid_t pid;
    char target[PODSPAWN_TARGET_MAX];
} podspawn_error;

/* Namespace kinds, as bits. */
enum {
    PODSPAWN_NS_IPC = 1,
    PODSPAWN_NS_UTS = 2,
    PODSPAWN_NS_NET = 4,
    PODSPAWN_NS_PID = 8,
    PODSPAWN_NS_MNT = 16,
    /* A user namespace (`hostUsers: false`): the pause is cloned into a new one (podspawn_sandbox;
     * the caller writes its uid and gid maps), and a container joins it last, after its mounts
     * (podspawn_process.userns_fd). Not in the table below: it is never joined by the middle. */
    PODSPAWN_NS_USER = 32,
};

/* The namespaces a pod's processes join, in the order they are joined (user first and mount
 * last would be the rule; pods have no user namespace yet): the kind's bit, its CLONE_ flag,
 * and its name in /proc/PID/ns. The one table of them; the Swift side reads it too. */
typedef struct podspawn_namespace {
    int bit;
    int clone_flag;
    const char *name;
} podspawn_namespace;
enum { PODSPAWN_NAMESPACE_COUNT = 5 };
extern const podspawn_namespace podspawn_namespaces[PODSPAWN_NAMESPACE_COUNT];

/* Makes a pod sandbox: a pause process in the new namespaces `namespaces` (IPC, UTS, NET, PID
 * bits; the host's for the others), with `hostname` set when UTS is new and `lo` up when NET
 * is new. With a new PID namespace the pause is its PID 1. The pause is named `pause` (its
 * comm and its command line), exits 0 on SIGTERM/SIGINT and reaps its children. It joins the
 * `cgroup_procs` files (opened here, written by the child before it reports ready). The setup
 * runs in the caller's memory (CLONE_VM | CLONE_VFORK), then the pause program (a freestanding
 * ~1 KB ELF embedded from Tools/infra/pause.c) is executed from a memfd: the pause holds none of
 * the caller's memory, and no binary is needed on the host. Returns its pid (in the caller's PID
 * namespace) or -1 with `error` filled. */
pid_t podspawn_sandbox(const char *hostname, int namespaces, const char *const *cgroup_procs, int cgroup_count,
                       podspawn_error *error);

/* A bind mount into a container's root: `source_fd` a descriptor (O_PATH) the caller opened on
 * the directory or file, `target` a path inside the new root (made when missing: a file when
 * `is_file`). At most PODSPAWN_MAX_MOUNTS per root. */
enum { PODSPAWN_MAX_MOUNTS = 128, PODSPAWN_MAX_CGROUPS = 16 };
typedef struct podspawn_mount {
    int source_fd;
    const char *target;
    int read_only;
    int is_file;
} podspawn_mount;

/* A container's root file system: an overlay of `upper` (with `work`, on the same file system)
 * on `lower` (an image directory, or "/" for the host image), mounted `volatile` (the layer is
 * discarded when the run ends: no sync of the upper file system at unmount; a layer is never
 * mounted twice), at `merged` in the
 * container's own mount namespace; then pivot_root into it, and inside it a fresh /proc (of the
 * PID namespace the process is in), a minimal /dev (null, zero, full, random, urandom, tty made
 * with mknod; shm; fd links), a tmpfs /tmp, and the bind mounts. */
typedef struct podspawn_root {
    const char *lower;
    const char *upper;
    const char *work;
    const char *merged;
    const podspawn_mount *mounts;
    int mount_count;
    /* readOnlyRootFilesystem: the overlay is made read-only once every mount is in place (the
     * volumes and the /tmp, /dev and /proc mounts stay as they are). */
    int read_only;
} podspawn_root;

/* What runs: argv[0] without a '/' is looked up in envp's PATH (or the default
 * /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) with execve on each candidate,
 * inside the root. stdin, stdout and stderr come from `in_fd`, `out_fd`, `err_fd` (-1:
 * /dev/null). The process joins every `cgroup_procs` file (one per hierarchy, at most
 * PODSPAWN_MAX_CGROUPS; opened by the caller before any namespace is joined) before exec, keeps
 * only the capabilities of the mask `capabilities` (bounding, permitted, effective and
 * inheritable sets), and runs with no_new_privs when `no_new_privs`. `privileged` lifts the
 * root's nodev, read-only /sys and masked paths; `unmasked` only the masked and read-only /proc
 * paths (procMount: Unmasked). `workdir` (NULL: /) is made when missing if the process has a
 * root of its own. */
typedef struct podspawn_process {
    char *const *argv;
    char *const *envp;
    const char *workdir;
    int in_fd;
    int out_fd;
    int err_fd;
    const char *const *cgroup_procs;
    int cgroup_count;
    int privileged;
    /* /proc/self/oom_score_adj before exec (-1000..1000), as kubelet sets it by QoS; a value this
     * process may not set (lowering needs CAP_SYS_RESOURCE) falls back to 1, which still ranks
     * the container before the pause for the OOM killer. `oom_score_adj_set` 0: leave it. */
    int oom_score_adj;
    int oom_score_adj_set;
    /* With `set_user`, the process runs as `uid`:`gid` with the supplementary groups `groups`
     * (`group_count` of them, at most PODSPAWN_MAX_GROUPS), set after the capabilities are
     * limited and before exec (a non-root uid then has no effective capabilities, as in
     * runc). */
    int set_user;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int group_count;
    unsigned long long capabilities;
    int no_new_privs;
    int unmasked;
    /* A seccomp filter (`seccomp_length` instructions of struct sock_filter) loaded before exec:
     * after the capabilities are limited and the user set when `no_new_privs`, else before the
     * capabilities are limited (loading one needs CAP_SYS_ADMIN without no_new_privs, as runc
     * does it). NULL: none. */
    const void *seccomp_filter;
    unsigned seccomp_length;
    /* The pod's user namespace (an open /proc/PID/ns/user), or -1. With one, the image's lower
     * directories are idmapped onto it (host 0 appears as its 0) before the overlay is mounted,
     * the working directory is made (owned by `id_base`, the host ID of its root, when it was
     * missing), then the process joins it — as a process of its own (a fork of the middle, not
     * a sharer of the caller's memory: a user namespace is joined only by a process alone in its
     * memory) — and sets its user inside it. */
    int userns_fd;
    unsigned id_base;
} podspawn_process;

#define PODSPAWN_MAX_GROUPS 64

/* A seccomp rule: `action` (SECCOMP_RET_* with its data: libseccomp's SCMP_ACT_* values) for the
 * syscall `name` when every condition holds (libseccomp's scmp_compare ops: 1 NE, 2 LT, 3 LE,
 * 4 EQ, 5 GE, 6 GT, 7 MASKED_EQ with `value` the mask and `value_two` the datum). */
typedef struct podspawn_seccomp_arg {
    unsigned index;
    int op;
    unsigned long long value;
    unsigned long long value_two;
} podspawn_seccomp_arg;

typedef struct podspawn_seccomp_rule {
    const char *name;
    unsigned action;
    const podspawn_seccomp_arg *args;
    int arg_count;
} podspawn_seccomp_rule;

/* Compiles a filter (libseccomp by dlopen, binary-tree optimised) of `default_action`, the
 * architectures `arches` (AUDIT_ARCH_* values; the native one is always in), and `rules` into
 * classic BPF at `out` (struct sock_filter, 8 bytes an instruction). Names libseccomp does not
 * know are skipped, as runc skips them. Returns the byte count, or -1 with `error` filled. */
long podspawn_seccomp_compile(unsigned default_action, const unsigned *arches, int arch_count,
                              const podspawn_seccomp_rule *rules, int rule_count, unsigned char *out, unsigned long out_size,
                              char *error, unsigned long error_size);

/* The native number of a syscall name (libseccomp's table), or -1 when it has none here (a
 * name of another architecture, or unknown, or libseccomp missing). */
int podspawn_seccomp_syscall(const char *name);

/* The number of a syscall name on the architecture `arch` (AUDIT_ARCH_*), or -1 when it has
 * none there. */
int podspawn_seccomp_syscall_arch(unsigned arch, const char *name);

/* The native architecture (AUDIT_ARCH_*), 0 when libseccomp cannot be loaded. */
unsigned podspawn_seccomp_native_arch(void);

/* Docker's default capability set without CAP_MKNOD (as Podman 4 drops it), as a mask
 * (CapBnd: 00000000a00425fb; Docker's is 00000000a80425fb). */
extern const unsigned long long podspawn_default_capabilities;

/* Starts `process` in the namespaces `join` (NS bits) of the process `target` — setns in the
 * order ipc, uts, net, pid, mnt, every namespace opened first — and, when `new_pid`, in a new
 * PID namespace of its own (as its PID 1); in its own root when `root` is not NULL (a new mount
 * namespace). The process is a direct child of the caller (CLONE_PARENT after the namespaces
 * are joined), to be reaped per pid; it shares the caller's memory until its exec (CLONE_VM |
 * CLONE_VFORK: no copy of a big caller's page tables). Returns once it has exec'd: its pid, or
 * -1 with `error` filled (nothing left running). */
pid_t podspawn_exec(pid_t target, int join, int new_pid, const podspawn_root *root,
                    const podspawn_process *process, podspawn_error *error);

/* A pidfd for a child (pidfd_open), close-on-exec; -1 with errno. */
int podspawn_pidfd(pid_t pid);

/* openat2(dirfd, path, flags | O_CLOEXEC) resolved beneath dirfd (RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS): symlinks may not lead out (EXDEV). -1 with errno. */
int podspawn_open_beneath(int dirfd, const char *path, int flags);

/* A memory file holding `length` bytes of `data`, positioned at 0 (stdin of an exec, or an
 * empty one to capture output). -1 with errno. */
int podspawn_memfd(const char *name, const char *data, size_t length);

/* A published host port: a listening TCP socket made in the host's network namespace, and the
 * port to connect to on 127.0.0.1 in the pod's. */
enum { PODSPAWN_MAX_FORWARDS = 64 };
typedef struct podspawn_forward {
    int listen_fd;
    int target_port;
} podspawn_forward;

/* A TCP socket listening on every host address at `port` (SO_REUSEADDR, backlog 1024),
 * close-on-exec; -1 with `*error` (EADDRINUSE: the port is taken). */
int podspawn_listen_tcp(int port, int *error);

/* The forwarder: the embedded program Tools/infra/forwarder.c executed from a memfd after a
 * setup in the caller's memory (named `pod-forwarder`, in a session of its own, in the
 * `cgroup_procs` cgroups) that keeps the listeners, lives in the network namespace of `sandbox`,
 * and relays every accepted connection to 127.0.0.1:target_port there (epoll, up to 1024
 * connections at once, half-closes passed on). SIGTERM ends it. Returns its pid once it is
 * ready, or -1 with `error`. */
pid_t podspawn_forwarder(pid_t sandbox, const podspawn_forward *forwards, int count, const char *const *cgroup_procs,
                         int cgroup_count, podspawn_error *error);

/* The log shim of a container run: the embedded program Tools/infra/logger.c executed from a
 * memfd after a setup in the caller's memory (named `pod-logger`, in a session of its own, in
 * the `cgroup_procs` cgroups, stdio on /dev/null). It reads a new pipe, whose write end (close-
 * on-exec: the container's stdout and stderr) is left in `*write_end`, and appends what comes
 * to `dir`/`name` (created 0640 if it is not there), rotating it to `name`.1 when it reaches
 * `limit` bytes; it ends once every writer has closed the pipe. Returns its pid once it is
 * ready, or -1 with `error` (and no pipe). */
pid_t podspawn_logger(const char *dir, const char *name, long limit, const char *const *cgroup_procs,
                      int cgroup_count, int *write_end, podspawn_error *error);

/* Swaps two paths atomically (renameat2 RENAME_EXCHANGE); -1 with errno. */
int podspawn_exchange(const char *a, const char *b);

/* The process's environment (Swift 6 cannot name `environ`). */
char **podspawn_environ(void);

/* Whether `path` carries file capabilities (a `security.capability` attribute): 1 or 0. */
int podspawn_has_file_capabilities(const char *path);

/* O_PATH (Swift does not see it: it needs _GNU_SOURCE). */
int podspawn_o_path(void);

#endif
