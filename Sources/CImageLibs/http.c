// HTTP for registry pulls: libcurl's easy interface, loaded by dlopen at the first request (a
// podsh that never pulls pays nothing for it). Each request has an easy handle of its own, so
// requests may run on several threads at once; they share one connection pool (and DNS and TLS
// session caches) through a share handle, so a pull's requests to one registry reuse their
// connections instead of connecting (and shaking hands) for each.
#define _GNU_SOURCE
#include "podimage.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    CURLcode (*curl_global_init)(long);
    CURL *(*curl_easy_init)(void);
    CURLcode (*curl_easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*curl_easy_perform)(CURL *);
    CURLcode (*curl_easy_getinfo)(CURL *, CURLINFO, ...);
    void (*curl_easy_cleanup)(CURL *);
    const char *(*curl_easy_strerror)(CURLcode);
    struct curl_slist *(*curl_slist_append)(struct curl_slist *, const char *);
    void (*curl_slist_free_all)(struct curl_slist *);
    CURLSH *(*curl_share_init)(void);
    CURLSHcode (*curl_share_setopt)(CURLSH *, CURLSHoption, ...);
} api;

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *context) {
    (void)handle;
    (void)access;
    (void)context;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *context) {
    (void)handle;
    (void)context;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) pthread_mutex_unlock(&share_locks[data]);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded = -1;

#define LOOKUP(name)                                                                                                   \
    do {                                                                                                               \
        *(void **)&api.name = dlsym(handle, #name);                                                                    \
        if (!api.name) {                                                                                               \
            snprintf(load_error, sizeof load_error, "%s: symbol %s not found", library, #name);                        \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

static void load_once(void) {
    const char *library = "libcurl.so.4";
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(load_error, sizeof load_error, "cannot load %s (Debian: libcurl4): %s", library, dlerror());
        return;
    }
    LOOKUP(curl_global_init);
    LOOKUP(curl_easy_init);
    LOOKUP(curl_easy_setopt);
    LOOKUP(curl_easy_perform);
    LOOKUP(curl_easy_getinfo);
    LOOKUP(curl_easy_cleanup);
    LOOKUP(curl_easy_strerror);
    LOOKUP(curl_slist_append);
    LOOKUP(curl_slist_free_all);
    LOOKUP(curl_share_init);
    LOOKUP(curl_share_setopt);
    // Once, before any handle, as curl requires of threaded programs.
    CURLcode code = api.curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init: %s", api.curl_easy_strerror(code));
        return;
    }
    // The shared caches (none when the share cannot be made: every request then connects anew).
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) pthread_mutex_init(&share_locks[i], NULL);
    share = api.curl_share_init();
    if (share) {
        api.curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
        api.curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        api.curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        api.curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        // libcurl 7.57 and later (an older one refuses this and still shares the rest).
        api.curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
    loaded = 0;
}

/// A growing buffer, at most `limit` bytes.
struct buffer {
    char *bytes;
    size_t size, capacity, limit;
    int over;
};

static int append(struct buffer *buffer, const char *bytes, size_t count) {
    if (buffer->size + count > buffer->limit) {
        buffer->over = 1;
        return -1;
    }
    if (buffer->size + count + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->size + count + 1) capacity *= 2;
        char *grown = realloc(buffer->bytes, capacity);
        if (!grown) return -1;
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->size, bytes, count);
    buffer->size += count;
    buffer->bytes[buffer->size] = 0;
    return 0;
}

struct transfer {
    const podimage_http_request *request;
    CURL *curl;
    struct buffer body, headers;
    long long written;
    int restarted;
    int started;  /* the first body byte has been seen */
    int to_fd;
    int write_errno;
};

static size_t on_header(char *bytes, size_t size, size_t count, void *context) {
    struct transfer *t = context;
    size_t n = size * count;
    // A new status line (a redirect's, a 100's, then the last): only the last response's lines count.
    if (n >= 5 && memcmp(bytes, "HTTP/", 5) == 0) {
        t->headers.size = 0;
        if (t->headers.bytes) t->headers.bytes[0] = 0;
    }
    if (append(&t->headers, bytes, n) != 0) return 0;
    return n;
}

static size_t on_body(char *bytes, size_t size, size_t count, void *context) {
    struct transfer *t = context;
    size_t n = size * count;
    if (!t->started) {
        t->started = 1;
        long status = 0;
        api.curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
        t->to_fd = t->request->body_fd >= 0 && (status == 200 || status == 206);
        if (t->request->body_fd >= 0 && !(status == 200 || status == 206)) {
            t->body.limit = 64 * 1024;  // an error's body, for its words
        }
        if (t->to_fd && status == 200 && t->request->range_from > 0) {
            // The server sent everything: start the file over (what followed it is void).
            if (t->request->follow) podimage_follow_abort(t->request->follow);
            if (ftruncate(t->request->body_fd, 0) != 0 || lseek(t->request->body_fd, 0, SEEK_SET) < 0) {
                t->write_errno = errno;
                return 0;
            }
            t->restarted = 1;
        }
    }
    if (!t->to_fd) {
        if (append(&t->body, bytes, n) != 0) {
            // An error body past its 64 KiB is cut, not a failure.
            if (t->body.over && t->body.limit == 64 * 1024) return n;
            return 0;
        }
        return n;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(t->request->body_fd, bytes + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            t->write_errno = w < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)w;
    }
    t->written += (long long)n;
    if (t->request->follow) podimage_follow_advance(t->request->follow, (t->restarted ? 0 : t->request->range_from) + t->written);
    return n;
}

static int on_progress(void *context, curl_off_t total, curl_off_t now, curl_off_t up_total, curl_off_t up_now) {
    (void)up_total;
    (void)up_now;
    struct transfer *t = context;
    if (t->request->cancel && *t->request->cancel) return 1;
    if (t->request->progress) t->request->progress(t->request->progress_context, (long long)now, (long long)total);
    return 0;
}

int podimage_http(const podimage_http_request *request, podimage_http_response *response, char *error,
                  size_t error_size) {
    memset(response, 0, sizeof *response);
    pthread_once(&once, load_once);
    if (loaded != 0) {
        snprintf(error, error_size, "%s", load_error);
        return -1;
    }
    struct transfer t;
    memset(&t, 0, sizeof t);
    t.request = request;
    t.body.limit = request->body_fd >= 0 ? 64 * 1024 : request->memory_limit;
    t.headers.limit = 256 * 1024;
    t.write_errno = 0;
    CURL *curl = api.curl_easy_init();
    if (!curl) {
        snprintf(error, error_size, "curl_easy_init failed");
        return -1;
    }
    t.curl = curl;
    char curl_error[CURL_ERROR_SIZE];
    curl_error[0] = 0;
    struct curl_slist *headers = NULL;
    for (int i = 0; i < request->header_count; i++) headers = api.curl_slist_append(headers, request->headers[i]);
    char range[64];
    api.curl_easy_setopt(curl, CURLOPT_URL, request->url);
    if (share) api.curl_easy_setopt(curl, CURLOPT_SHARE, share);
    api.curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    api.curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    api.curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    api.curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    api.curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    api.curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    api.curl_easy_setopt(curl, CURLOPT_USERAGENT, "swift-pods");
    api.curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request->connect_timeout_seconds > 0 ? request->connect_timeout_seconds : 30L);
    api.curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    api.curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request->stall_seconds > 0 ? request->stall_seconds : 60L);
    api.curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    api.curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    api.curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    api.curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    api.curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    api.curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    api.curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    api.curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    if (request->method && strcmp(request->method, "HEAD") == 0) api.curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (request->range_from > 0) {
        snprintf(range, sizeof range, "%lld-", request->range_from);
        api.curl_easy_setopt(curl, CURLOPT_RANGE, range);
    }
    CURLcode code = api.curl_easy_perform(curl);
    long status = 0;
    api.curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    int result = 0;
    if (code != CURLE_OK) {
        result = -1;
        if (t.write_errno)
            snprintf(error, error_size, "writing the body: %s", strerror(t.write_errno));
        else if (t.body.over && t.body.limit == request->memory_limit)
            snprintf(error, error_size, "the body is larger than %zu bytes", request->memory_limit);
        else if (code == CURLE_ABORTED_BY_CALLBACK)
            snprintf(error, error_size, "cancelled");
        else
            snprintf(error, error_size, "%s", curl_error[0] ? curl_error : api.curl_easy_strerror(code));
    }
    api.curl_slist_free_all(headers);
    api.curl_easy_cleanup(curl);
    response->status = status;
    response->body = t.body.bytes;
    response->body_size = t.body.size;
    response->headers = t.headers.bytes;
    response->headers_size = t.headers.size;
    response->written = t.written;
    response->restarted = t.restarted;
    if (result != 0) {
        podimage_http_free(response);
        response->status = status;
    }
    return result;
}

void podimage_http_free(podimage_http_response *response) {
    free(response->body);
    free(response->headers);
    response->body = NULL;
    response->headers = NULL;
    response->body_size = response->headers_size = 0;
}
