// Layer extraction (podimage.h). Two libarchive readers in a row: the outer one decompresses
// the blob (any filter, the raw format) while the bytes read from the file are hashed into the
// blob digest; the inner one reads the tar stream the outer one yields, hashed into the diff id.
// Every path is walked one component at a time below the layer directory with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no entry can reach outside it.
#define _GNU_SOURCE
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

int podimage_open_beneath(int dir_fd, const char *path, int flags, mode_t mode) {
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
}

struct podimage_follow {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    long long size;
    int finished, aborted;
};

podimage_follow *podimage_follow_new(void) {
    podimage_follow *follow = calloc(1, sizeof *follow);
    if (!follow) return NULL;
    pthread_mutex_init(&follow->lock, NULL);
    pthread_cond_init(&follow->changed, NULL);
    return follow;
}

void podimage_follow_free(podimage_follow *follow) {
    if (!follow) return;
    pthread_cond_destroy(&follow->changed);
    pthread_mutex_destroy(&follow->lock);
    free(follow);
}

static void follow_update(podimage_follow *follow, long long size, int finished, int aborted) {
    pthread_mutex_lock(&follow->lock);
    if (size > follow->size) follow->size = size;
    if (finished) follow->finished = 1;
    if (aborted) follow->aborted = 1;
    pthread_cond_broadcast(&follow->changed);
    pthread_mutex_unlock(&follow->lock);
}

void podimage_follow_advance(podimage_follow *follow, long long size) { follow_update(follow, size, 0, 0); }
void podimage_follow_finish(podimage_follow *follow) { follow_update(follow, 0, 1, 0); }
void podimage_follow_abort(podimage_follow *follow) { follow_update(follow, 0, 0, 1); }

int podimage_follow_aborted(podimage_follow *follow) {
    pthread_mutex_lock(&follow->lock);
    int aborted = follow->aborted;
    pthread_mutex_unlock(&follow->lock);
    return aborted;
}

/// Waits until the file holds more than `offset` bytes: 1, 0 at the end (finished), -1 aborted.
static int follow_wait(podimage_follow *follow, long long offset) {
    pthread_mutex_lock(&follow->lock);
    while (follow->size <= offset && !follow->finished && !follow->aborted) pthread_cond_wait(&follow->changed, &follow->lock);
    int answer = follow->aborted ? -1 : follow->size > offset ? 1 : 0;
    pthread_mutex_unlock(&follow->lock);
    return answer;
}

struct source {
    int fd;
    podimage_follow *follow;
    podimage_sha256 *blob_hash;
    uint64_t blob_bytes;
    char buffer[CHUNK];
    int failed_errno;
};

static la_ssize_t read_blob(struct archive *a, void *data, const void **out) {
    (void)a;
    struct source *source = data;
    ssize_t n;
    for (;;) {
        if (source->follow && podimage_follow_aborted(source->follow)) {
            source->failed_errno = ECANCELED;
            return -1;
        }
        do n = read(source->fd, source->buffer, sizeof source->buffer);
        while (n < 0 && errno == EINTR);
        if (n != 0 || !source->follow) break;
        // At the end of what is written so far: wait for more, or the end.
        int more = follow_wait(source->follow, (long long)source->blob_bytes);
        if (more < 0) {
            source->failed_errno = ECANCELED;
            return -1;
        }
        if (more == 0) break;  // finished, and all of it read
    }
    if (n < 0) {
        source->failed_errno = errno;
        return -1;
    }
    if (n > 0) {
        podimage_sha256_update(source->blob_hash, source->buffer, (size_t)n);
        source->blob_bytes += (uint64_t)n;
    }
    *out = source->buffer;
    return n;
}

struct stream {
    struct archive *outer;
    podimage_sha256 *diff_hash;
    uint64_t diff_bytes;
    char buffer[CHUNK];
    int failed;
};

static la_ssize_t read_tar(struct archive *a, void *data, const void **out) {
    (void)a;
    struct stream *stream = data;
    la_ssize_t n = podimage_archive.archive_read_data(stream->outer, stream->buffer, sizeof stream->buffer);
    if (n < 0) {
        stream->failed = 1;
        return -1;
    }
    if (n > 0) {
        podimage_sha256_update(stream->diff_hash, stream->buffer, (size_t)n);
        stream->diff_bytes += (uint64_t)n;
    }
    *out = stream->buffer;
    return n;
}

/// libarchive's reason for its last failure (it may have none: a callback below it failed).
static const char *archive_reason(struct archive *a) {
    const char *reason = podimage_archive.archive_error_string(a);
    return reason ? reason : "the stream below it failed";
}

struct job {
    int layer_fd;
    char *error;
    size_t error_size;
    const char *entry;
};

static int refuse(struct job *job, const char *format, ...) {
    char reason[512];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    snprintf(job->error, job->error_size, "layer entry \"%.300s\": %s", job->entry ? job->entry : "", reason);
    return -1;
}

/// `path` as components: a leading "./" dropped, "." and empty components skipped; absolute
/// paths and ".." refused. Fills `out` (NUL-separated, `count` components).
static int split_path(struct job *job, const char *path, char *out, size_t out_size, int *count, const char *what) {
    *count = 0;
    if (path[0] == '/') return refuse(job, "%s is an absolute path", what);
    size_t length = strlen(path);
    if (length >= out_size) return refuse(job, "%s is longer than %zu bytes", what, out_size - 1);
    size_t o = 0;
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return refuse(job, "%s has a \"..\" component", what);
        if (n > 255) return refuse(job, "%s has a component longer than 255 bytes", what);
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            memcpy(out + o, p, n);
            o += n;
            out[o++] = 0;
            (*count)++;
        }
        p += n;
        if (*p == '/') p++;
    }
    return 0;
}

/// Opens (making it when missing, as tar does) each directory of `components[0..<count]` below
/// the layer, refusing a symlink or a non-directory on the way. A directory fd, or -1.
static int open_parent(struct job *job, const char *components, int count) {
    int fd = dup(job->layer_fd);
    if (fd < 0) return refuse(job, "dup: %s", strerror(errno));
    const char *c = components;
    for (int i = 0; i < count; i++, c += strlen(c) + 1) {
        int next = podimage_open_beneath(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(fd, c, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                close(fd);
                return refuse(job, "mkdir %s: %s", c, strerror(e));
            }
            next = podimage_open_beneath(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        }
        if (next < 0) {
            int e = errno;
            struct stat st;
            if (e == ENOTDIR && fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) e = ELOOP;
            close(fd);
            if (e == ELOOP) return refuse(job, "its parent \"%s\" is a symlink", c);
            if (e == ENOTDIR) return refuse(job, "its parent \"%s\" is not a directory", c);
            return refuse(job, "open %s: %s", c, strerror(e));
        }
        close(fd);
        fd = next;
    }
    return fd;
}

/// Makes room for a new entry `name` in `dir`: removes a non-directory there. A directory is
/// kept only for a directory entry (`keep_dir`). 1 when a directory is kept, 0, or -1.
static int clear_name(struct job *job, int dir, const char *name, int keep_dir) {
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : refuse(job, "stat: %s", strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) return 1;
        if (unlinkat(dir, name, AT_REMOVEDIR) == 0) return 0;
        return refuse(job, "it replaces a directory that is not empty");
    }
    if (unlinkat(dir, name, 0) != 0) return refuse(job, "unlink: %s", strerror(errno));
    return 0;
}

/// The entry's xattrs, trusted.* refused (they would forge overlay metadata).
static int check_xattrs(struct job *job, struct archive_entry *entry) {
    const char *name;
    const void *value;
    size_t size;
    podimage_archive.archive_entry_xattr_reset(entry);
    while (podimage_archive.archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
        if (strncmp(name, "trusted.", 8) == 0) return refuse(job, "it sets the xattr %s (trusted.* is refused)", name);
    }
    return 0;
}

static void apply_xattrs(struct archive_entry *entry, int fd) {
    const char *name;
    const void *value;
    size_t size;
    podimage_archive.archive_entry_xattr_reset(entry);
    while (podimage_archive.archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
        (void)fsetxattr(fd, name, value, size, 0);
    }
}

static void set_times(int dir, const char *name, struct archive_entry *entry) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = podimage_archive.archive_entry_mtime(entry);
    times[0].tv_nsec = times[1].tv_nsec = podimage_archive.archive_entry_mtime_nsec(entry);
    (void)utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW);
}

static int write_file(struct job *job, struct archive *tar, struct archive_entry *entry, int dir, const char *name,
                      uint64_t *written) {
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return refuse(job, "create: %s", strerror(errno));
    const void *block;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = podimage_archive.archive_read_data_block(tar, &block, &size, &offset)) == ARCHIVE_OK) {
        const char *p = block;
        while (size > 0) {
            ssize_t n = pwrite(fd, p, size, offset);
            if (n < 0) {
                if (errno == EINTR) continue;
                int e = errno;
                close(fd);
                return refuse(job, "write: %s", strerror(e));
            }
            p += n;
            size -= (size_t)n;
            offset += n;
            *written += (uint64_t)n;
        }
    }
    if (r != ARCHIVE_EOF) {
        close(fd);
        return refuse(job, "reading its data: %s", archive_reason(tar));
    }
    // Sparse files end in a hole.
    la_int64_t length = podimage_archive.archive_entry_size(entry);
    if (length > 0 && ftruncate(fd, length) != 0) {
        int e = errno;
        close(fd);
        return refuse(job, "truncate: %s", strerror(e));
    }
    if (fchown(fd, (uid_t)podimage_archive.archive_entry_uid(entry), (gid_t)podimage_archive.archive_entry_gid(entry)) != 0 ||
        fchmod(fd, podimage_archive.archive_entry_perm(entry) & 07777) != 0) {
        int e = errno;
        close(fd);
        return refuse(job, "chown/chmod: %s", strerror(e));
    }
    apply_xattrs(entry, fd);
    close(fd);
    set_times(dir, name, entry);
    return 0;
}

static int extract_entry(struct job *job, struct archive *tar, struct archive_entry *entry,
                         struct podimage_layer_result *result) {
    char components[4096];
    int count;
    if (split_path(job, job->entry, components, sizeof components, &count, "its path") != 0) return -1;
    if (count == 0) return 0;  // "./": the layer's root itself.
    if (check_xattrs(job, entry) != 0) return -1;
    const char *name = components;
    for (int i = 0; i < count - 1; i++) name += strlen(name) + 1;
    int dir = open_parent(job, components, count - 1);
    if (dir < 0) return -1;
    int status = 0;
    uid_t uid = (uid_t)podimage_archive.archive_entry_uid(entry);
    gid_t gid = (gid_t)podimage_archive.archive_entry_gid(entry);
    mode_t perm = podimage_archive.archive_entry_perm(entry) & 07777;
    const char *hardlink = podimage_archive.archive_entry_hardlink(entry);
    mode_t type = podimage_archive.archive_entry_filetype(entry);

    if (strncmp(name, ".wh.", 4) == 0) {
        if (strcmp(name, ".wh..wh..opq") == 0) {
            // The directory hides what lower layers have in it.
            if (fsetxattr(dir, "trusted.overlay.opaque", "y", 1, 0) != 0) status = refuse(job, "opaque: %s", strerror(errno));
        } else if (name[4] == 0 || strcmp(name + 4, ".") == 0 || strcmp(name + 4, "..") == 0) {
            status = refuse(job, "a whiteout that names nothing");
        } else if (clear_name(job, dir, name + 4, 0) < 0) {
            status = -1;
        } else if (mknodat(dir, name + 4, S_IFCHR | 0, makedev(0, 0)) != 0) {
            status = refuse(job, "whiteout: %s", strerror(errno));
        }
        close(dir);
        return status;
    }

    if (hardlink) {
        char target[4096];
        int target_count;
        if (split_path(job, hardlink, target, sizeof target, &target_count, "its hardlink target") != 0) {
            close(dir);
            return -1;
        }
        char joined[4096];
        size_t o = 0;
        const char *t = target;
        for (int i = 0; i < target_count; i++, t += strlen(t) + 1) o += (size_t)snprintf(joined + o, sizeof joined - o, "%s%s", i ? "/" : "", t);
        if (target_count == 0) {
            close(dir);
            return refuse(job, "its hardlink target is the layer's root");
        }
        int source = podimage_open_beneath(job->layer_fd, joined, O_PATH | O_NOFOLLOW, 0);
        if (source < 0) {
            int e = errno;
            close(dir);
            if (e == ENOENT) return refuse(job, "its hardlink target \"%s\" is not in the layer", hardlink);
            if (e == ELOOP) return refuse(job, "its hardlink target \"%s\" goes through a symlink", hardlink);
            return refuse(job, "its hardlink target \"%s\": %s", hardlink, strerror(e));
        }
        struct stat st;
        if (fstat(source, &st) != 0 || S_ISDIR(st.st_mode)) {
            close(source);
            close(dir);
            return refuse(job, "its hardlink target \"%s\" is a directory", hardlink);
        }
        if (clear_name(job, dir, name, 0) < 0) status = -1;
        else if (linkat(source, "", dir, name, AT_EMPTY_PATH) != 0) status = refuse(job, "link: %s", strerror(errno));
        close(source);
        close(dir);
        return status;
    }

    switch (type) {
    case AE_IFREG:
        if (clear_name(job, dir, name, 0) < 0) status = -1;
        else status = write_file(job, tar, entry, dir, name, &result->file_bytes);
        break;
    case AE_IFDIR: {
        int kept = clear_name(job, dir, name, 1);
        if (kept < 0) {
            status = -1;
            break;
        }
        if (!kept && mkdirat(dir, name, 0700) != 0) {
            status = refuse(job, "mkdir: %s", strerror(errno));
            break;
        }
        int fd = podimage_open_beneath(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd < 0) {
            status = refuse(job, "open: %s", strerror(errno));
            break;
        }
        if (fchown(fd, uid, gid) != 0 || fchmod(fd, perm) != 0) status = refuse(job, "chown/chmod: %s", strerror(errno));
        apply_xattrs(entry, fd);
        close(fd);
        break;
    }
    case AE_IFLNK: {
        const char *target = podimage_archive.archive_entry_symlink(entry);
        // A symlink may point anywhere: it is resolved in the container's root, and this
        // extraction never follows one.
        if (!target) status = refuse(job, "a symlink without a target");
        else if (clear_name(job, dir, name, 0) < 0) status = -1;
        else if (symlinkat(target, dir, name) != 0) status = refuse(job, "symlink: %s", strerror(errno));
        else if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) status = refuse(job, "chown: %s", strerror(errno));
        else set_times(dir, name, entry);
        break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
        dev_t device = type == AE_IFIFO ? 0
                                         : makedev(podimage_archive.archive_entry_rdevmajor(entry),
                                                   podimage_archive.archive_entry_rdevminor(entry));
        if (clear_name(job, dir, name, 0) < 0) status = -1;
        else if (mknodat(dir, name, type | (perm & 0777), device) != 0) status = refuse(job, "mknod: %s", strerror(errno));
        else if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 || fchmodat(dir, name, perm, 0) != 0)
            status = refuse(job, "chown/chmod: %s", strerror(errno));
        else set_times(dir, name, entry);
        break;
    }
    default:
        status = refuse(job, "an entry of an unsupported type (socket or unknown, mode %o)", (unsigned)type);
    }
    close(dir);
    return status;
}

int podimage_extract_layer(int archive_fd, podimage_follow *follow, int layer_fd, struct podimage_layer_result *result,
                           char *error, size_t error_size) {
    memset(result, 0, sizeof *result);
    struct job job = {.layer_fd = layer_fd, .error = error, .error_size = error_size, .entry = NULL};
    if (podimage_load(error, error_size) != 0) return -1;
    struct source *source = calloc(1, sizeof *source);
    struct stream *stream = calloc(1, sizeof *stream);
    struct archive *outer = NULL, *tar = NULL;
    int status = -1;
    if (!source || !stream) {
        snprintf(error, error_size, "out of memory");
        goto done;
    }
    source->fd = archive_fd;
    source->follow = follow;
    source->blob_hash = podimage_sha256_new();
    stream->diff_hash = podimage_sha256_new();
    if (!source->blob_hash || !stream->diff_hash) {
        snprintf(error, error_size, "sha256: libcrypto failed");
        goto done;
    }
    outer = podimage_archive.archive_read_new();
    tar = podimage_archive.archive_read_new();
    if (!outer || !tar) {
        snprintf(error, error_size, "out of memory");
        goto done;
    }
    podimage_archive.archive_read_support_filter_all(outer);
    podimage_archive.archive_read_support_format_raw(outer);
    if (podimage_archive.archive_read_open(outer, source, NULL, read_blob, NULL) != ARCHIVE_OK) {
        snprintf(error, error_size, "the layer is not an archive: %s",
                 source->failed_errno ? strerror(source->failed_errno) : archive_reason(outer));
        goto done;
    }
    struct archive_entry *raw;
    if (podimage_archive.archive_read_next_header(outer, &raw) != ARCHIVE_OK) {
        snprintf(error, error_size, "the layer is empty or unreadable: %s", archive_reason(outer));
        goto done;
    }
    stream->outer = outer;
    podimage_archive.archive_read_support_format_tar(tar);
    if (podimage_archive.archive_read_open(tar, stream, NULL, read_tar, NULL) != ARCHIVE_OK) {
        if (stream->failed)
            snprintf(error, error_size, "the layer's compressed stream is broken: %s", archive_reason(outer));
        else
            snprintf(error, error_size, "the layer is not a tar archive: %s", archive_reason(tar));
        goto done;
    }
    struct archive_entry *entry;
    int r;
    while ((r = podimage_archive.archive_read_next_header(tar, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        job.entry = podimage_archive.archive_entry_pathname(entry);
        if (!job.entry) {
            snprintf(error, error_size, "layer entry %llu has no path", (unsigned long long)result->entries + 1);
            goto done;
        }
        if (extract_entry(&job, tar, entry, result) != 0) goto done;
        result->entries++;
    }
    if (r != ARCHIVE_EOF) {
        snprintf(error, error_size, "the layer's tar stream is broken after %llu entries: %s",
                 (unsigned long long)result->entries,
                 stream->failed ? archive_reason(outer) : archive_reason(tar));
        goto done;
    }
    // The rest of the stream (the tar's end padding) and of the blob count in the digests.
    la_ssize_t n;
    while ((n = podimage_archive.archive_read_data(outer, stream->buffer, sizeof stream->buffer)) > 0) {
        podimage_sha256_update(stream->diff_hash, stream->buffer, (size_t)n);
        stream->diff_bytes += (uint64_t)n;
    }
    if (n < 0) {
        snprintf(error, error_size, "the layer's compressed stream is broken: %s", archive_reason(outer));
        goto done;
    }
    const void *ignored;
    while ((n = read_blob(outer, source, &ignored)) > 0) {}
    if (n < 0) {
        snprintf(error, error_size, "reading the layer: %s", strerror(source->failed_errno));
        goto done;
    }
    status = 0;
done:
    if (status != 0 && source && source->failed_errno == ECANCELED) {
        // The writer of a followed file gave up on it: that, not what the readers made of it.
        snprintf(error, error_size, "cancelled: the layer's bytes stopped coming");
    }
    if (tar) podimage_archive.archive_read_free(tar);
    if (outer) podimage_archive.archive_read_free(outer);
    if (source && source->blob_hash) {
        podimage_sha256_finish(source->blob_hash, result->blob_digest);
        result->blob_bytes = source->blob_bytes;
    }
    if (stream && stream->diff_hash) {
        podimage_sha256_finish(stream->diff_hash, result->diff_digest);
        result->diff_bytes = stream->diff_bytes;
    }
    free(source);
    free(stream);
    return status;
}
