// The image store's C half: libarchive, libcrypto and libcurl, loaded at first use (dlopen), so a podsh
// that never touches an image pays nothing for them at start-up; and layer extraction, which
// must never write outside its layer directory whatever the archive says.
#ifndef PODIMAGE_H
#define PODIMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libarchive (libarchive.so.13) and libcrypto (libcrypto.so.3) once. 0, or -1 with the
/// loader's message in `error`.
int podimage_load(char *error, size_t error_size);

/// SHA-256, streaming: a context from podimage_sha256_new (NULL when libcrypto is missing),
/// bytes, then the digest's 64 lowercase hex digits and a NUL into `hex` (65 bytes); finish
/// frees the context.
typedef struct podimage_sha256 podimage_sha256;
podimage_sha256 *podimage_sha256_new(void);
int podimage_sha256_update(podimage_sha256 *context, const void *bytes, size_t count);
int podimage_sha256_finish(podimage_sha256 *context, char hex[65]);

/// What an extraction saw.
struct podimage_layer_result {
    /// sha256 of the bytes read from `archive_fd` (the blob, compressed or not) and of the tar
    /// stream they decompress to (the layer's diff id), 64 hex digits each.
    char blob_digest[65];
    char diff_digest[65];
    uint64_t blob_bytes;
    uint64_t diff_bytes;
    uint64_t entries;
    /// Bytes of file data written.
    uint64_t file_bytes;
};

/// A file that grows while it is read: a pull's HTTP transfer appends a layer blob to it and
/// says how far it got; the extraction reading it waits at its end for more, until the writer
/// finishes (the end is the end) or aborts (the reader fails with ECANCELED). Thread-safe.
typedef struct podimage_follow podimage_follow;
podimage_follow *podimage_follow_new(void);
void podimage_follow_free(podimage_follow *follow);
/// The file now holds `size` bytes.
void podimage_follow_advance(podimage_follow *follow, long long size);
/// No more bytes come.
void podimage_follow_finish(podimage_follow *follow);
/// What the file holds no longer counts (restarted, cancelled, failed): the reader stops.
void podimage_follow_abort(podimage_follow *follow);
/// 1 once podimage_follow_abort was called.
int podimage_follow_aborted(podimage_follow *follow);

/// Unpacks the tar layer read from `archive_fd` (plain, gzip, zstd, xz or bzip2: libarchive
/// tells) into the directory `layer_fd`, as an OCI layer: `.wh.NAME` becomes an overlay
/// whiteout (a 0/0 character device NAME), `.wh..wh..opq` makes its directory opaque
/// (trusted.overlay.opaque=y); owners, modes (setuid included), times, devices, fifos,
/// hardlinks and symlinks as the archive says. Nothing is ever written outside `layer_fd`: an
/// absolute path, a `..` component, a parent that is a symlink, a hardlink whose target is
/// outside or missing, and a trusted.* xattr are refused, naming the entry. 0, or -1 with the
/// reason in `error`; on failure the directory holds a partial layer the caller removes.
/// With `follow` (may be NULL), `archive_fd` is a file still being written: its end is waited at.
int podimage_extract_layer(int archive_fd, podimage_follow *follow, int layer_fd, struct podimage_layer_result *result, char *error,
                           size_t error_size);

/// Opens `path` below `dir_fd` without following any symlink or leaving the directory
/// (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS). -1 and errno.
int podimage_open_beneath(int dir_fd, const char *path, int flags, mode_t mode);

/// One HTTP request through libcurl (libcurl.so.4, loaded at first use): redirects followed
/// (five at most; an Authorization header is not sent on to another host), TLS verified against
/// the system's certificates, the proxy variables honoured, no signals used (safe on threads).
typedef struct podimage_http_request {
    const char *method;          /* "GET" (NULL) or "HEAD" */
    const char *url;
    const char *const *headers;  /* "Name: value" lines */
    int header_count;
    /* The body of a 200 or 206 goes to `body_fd` (appended) when it is >= 0, otherwise into
     * memory, at most `memory_limit` bytes (more fails the request). Other statuses keep up
     * to 64 KiB of their body in memory, for the error's words. */
    int body_fd;
    size_t memory_limit;
    /* > 0: asks for the bytes from this offset on (Range); a 200 instead of a 206 truncates
     * `body_fd` first, and `restarted` says so. */
    long long range_from;
    long connect_timeout_seconds;
    /* The transfer fails when it moves less than a byte a second for this long (0: 60). */
    long stall_seconds;
    /* Non-zero: the transfer stops at its next progress callback. */
    const volatile int *cancel;
    /* Called as bytes come (may be NULL): received so far and the total (0: unknown). */
    void (*progress)(void *context, long long received, long long total);
    void *progress_context;
    /* May be NULL: told of every byte written to `body_fd`, aborted when a 200 restarts it. */
    podimage_follow *follow;
} podimage_http_request;

typedef struct podimage_http_response {
    long status;
    /* malloc'd (free with podimage_http_free): the body kept in memory, NUL-terminated. */
    char *body;
    size_t body_size;
    /* Bytes written to body_fd. */
    long long written;
    int restarted;
    /* The header lines of the last response (after redirects), NUL-terminated. */
    char *headers;
    size_t headers_size;
} podimage_http_response;

/// 0 when a response came (whatever its status), or -1 with curl's reason in `error` (no
/// connection, TLS refused, a timeout, cancelled, a body over the limit, a write that failed).
int podimage_http(const podimage_http_request *request, podimage_http_response *response, char *error,
                  size_t error_size);
void podimage_http_free(podimage_http_response *response);

#ifdef __cplusplus
}
#endif

#endif
