/* pod-logger: the log of one container run, as Docker's and CRI-O's shims keep it. The
 * container's stdout and stderr are the write end of one pipe; this program holds the read end
 * (fd 4) and appends what comes to the log file NAME (fd 5, opened O_APPEND by the owner) in the
 * log directory (fd 6). When the file reaches LIMIT bytes it is rotated as kubelet rotates at
 * containerLogMaxSize: renamed to NAME.1 (replacing the one before) and a new NAME begun, so a
 * run's log never holds more than twice LIMIT on disk, and a container cannot truncate or seek
 * its own log (its stdout is a pipe, not the file). argv: pod-logger LIMIT NAME.
 *
 * It ends when every writer has closed the pipe (the run's cgroup is gone), having written all
 * it read. A write that fails (the disk is full) drops that data rather than stop reading: a
 * container never blocks on its log. Freestanding (sys.h), executed from a memfd by
 * podspawn_logger after its setup (cgroups, session, stdio on /dev/null); fd 3 is the report
 * pipe, closed once ready. Regenerate the images with scripts/make-infra.sh. */
#include "sys.h"

enum { PIPE_FD = 4, LOG_FD = 5, DIR_FD = 6, BUFFER = 65536, NAME_MAX = 200, SEEK_END = 2, O_WRONLY = 01,
       O_CREAT = 0100, O_TRUNC = 01000, O_APPEND = 02000, O_CLOEXEC = 02000000 };

static char buffer[BUFFER];

/* NAME.1 beside NAME; the log starts again in a new NAME. Returns the descriptor to write to
 * (the old one emptied when the new cannot be made: the bound holds either way). */
static long rotate(long log, const char *name, const char *rotated) {
    if (sys6(NR_renameat2, DIR_FD, (long)name, DIR_FD, (long)rotated, 0, 0) == 0) {
        long fresh = sys6(NR_openat, DIR_FD, (long)name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640, 0, 0);
        if (fresh >= 0) {
            sys(NR_close, log, 0, 0, 0);
            return fresh;
        }
    }
    sys(NR_ftruncate, log, 0, 0, 0);
    return log;
}

__attribute__((noreturn, used)) void infra_main(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    if (argc != 3) exit_group(2);
    long limit = 0;
    for (const char *p = argv[1]; *p; p++) {
        if (*p < '0' || *p > '9' || limit > (1L << 40)) exit_group(2);
        limit = limit * 10 + (*p - '0');
    }
    if (limit < 1) exit_group(2);
    const char *name = argv[2];
    char rotated[NAME_MAX + 3];
    size_t length = 0;
    while (name[length]) {
        if (length == NAME_MAX || name[length] == '/') exit_group(2);
        rotated[length] = name[length];
        length++;
    }
    if (length == 0) exit_group(2);
    rotated[length] = '.';
    rotated[length + 1] = '1';
    rotated[length + 2] = 0;
    long log = LOG_FD;
    long size = sys(NR_lseek, log, 0, SEEK_END, 0);
    if (size < 0) exit_group(127);  /* the report pipe still open: the owner sees a failed start */
    ready("pod-logger", -1);
    for (;;) {
        long n = sys(NR_read, PIPE_FD, buffer, BUFFER, 0);
        if (n == -EINTR) continue;
        if (n <= 0) exit_group(n == 0 ? 0 : 1);
        long at = 0;
        while (at < n) {
            if (size >= limit) {
                log = rotate(log, name, rotated);
                size = 0;
            }
            long chunk = n - at < limit - size ? n - at : limit - size;
            long written = sys(NR_write, log, buffer + at, chunk, 0);
            if (written == -EINTR) continue;
            if (written <= 0) written = chunk;  /* ENOSPC and the like: dropped, the bound kept */
            else size += written;
            at += written;
        }
    }
}
