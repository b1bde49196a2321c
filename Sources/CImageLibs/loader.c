// libarchive and libcrypto by dlopen at first use (see podimage.h). Their symbols are looked up
// once into the tables below; every call goes through them.
#define _GNU_SOURCE
#include "loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct podimage_archive_api podimage_archive;
struct podimage_crypto_api podimage_crypto;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded = -1;

#define LOOKUP(handle, table, name)                                                                                    \
    do {                                                                                                               \
        *(void **)&table.name = dlsym(handle, #name);                                                                  \
        if (!table.name) {                                                                                             \
            snprintf(load_error, sizeof load_error, "%s: symbol %s not found", library, #name);                        \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

static void load_once(void) {
    const char *library = "libarchive.so.13";
    void *archive = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!archive) {
        snprintf(load_error, sizeof load_error, "cannot load %s (Debian: libarchive13): %s", library, dlerror());
        return;
    }
    LOOKUP(archive, podimage_archive, archive_read_new);
    LOOKUP(archive, podimage_archive, archive_read_support_filter_all);
    LOOKUP(archive, podimage_archive, archive_read_support_format_raw);
    LOOKUP(archive, podimage_archive, archive_read_support_format_tar);
    LOOKUP(archive, podimage_archive, archive_read_open);
    LOOKUP(archive, podimage_archive, archive_read_next_header);
    LOOKUP(archive, podimage_archive, archive_read_data);
    LOOKUP(archive, podimage_archive, archive_read_data_block);
    LOOKUP(archive, podimage_archive, archive_read_free);
    LOOKUP(archive, podimage_archive, archive_error_string);
    LOOKUP(archive, podimage_archive, archive_filter_code);
    LOOKUP(archive, podimage_archive, archive_entry_pathname);
    LOOKUP(archive, podimage_archive, archive_entry_filetype);
    LOOKUP(archive, podimage_archive, archive_entry_perm);
    LOOKUP(archive, podimage_archive, archive_entry_uid);
    LOOKUP(archive, podimage_archive, archive_entry_gid);
    LOOKUP(archive, podimage_archive, archive_entry_size);
    LOOKUP(archive, podimage_archive, archive_entry_symlink);
    LOOKUP(archive, podimage_archive, archive_entry_hardlink);
    LOOKUP(archive, podimage_archive, archive_entry_mtime);
    LOOKUP(archive, podimage_archive, archive_entry_mtime_nsec);
    LOOKUP(archive, podimage_archive, archive_entry_rdevmajor);
    LOOKUP(archive, podimage_archive, archive_entry_rdevminor);
    LOOKUP(archive, podimage_archive, archive_entry_xattr_reset);
    LOOKUP(archive, podimage_archive, archive_entry_xattr_next);

    library = "libcrypto.so.3";
    void *crypto = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!crypto) {
        snprintf(load_error, sizeof load_error, "cannot load %s (Debian: libssl3): %s", library, dlerror());
        return;
    }
    LOOKUP(crypto, podimage_crypto, EVP_MD_CTX_new);
    LOOKUP(crypto, podimage_crypto, EVP_MD_CTX_free);
    LOOKUP(crypto, podimage_crypto, EVP_sha256);
    LOOKUP(crypto, podimage_crypto, EVP_DigestInit_ex);
    LOOKUP(crypto, podimage_crypto, EVP_DigestUpdate);
    LOOKUP(crypto, podimage_crypto, EVP_DigestFinal_ex);
    loaded = 0;
}

int podimage_load(char *error, size_t error_size) {
    pthread_once(&once, load_once);
    if (loaded != 0 && error && error_size) snprintf(error, error_size, "%s", load_error);
    return loaded;
}

struct podimage_sha256 {
    void *context;
};

podimage_sha256 *podimage_sha256_new(void) {
    if (podimage_load(NULL, 0) != 0) return NULL;
    void *context = podimage_crypto.EVP_MD_CTX_new();
    if (!context) return NULL;
    if (podimage_crypto.EVP_DigestInit_ex(context, podimage_crypto.EVP_sha256(), NULL) != 1) {
        podimage_crypto.EVP_MD_CTX_free(context);
        return NULL;
    }
    struct podimage_sha256 *box = malloc(sizeof *box);
    if (!box) {
        podimage_crypto.EVP_MD_CTX_free(context);
        return NULL;
    }
    box->context = context;
    return box;
}

int podimage_sha256_update(podimage_sha256 *box, const void *bytes, size_t count) {
    return podimage_crypto.EVP_DigestUpdate(box->context, bytes, count) == 1 ? 0 : -1;
}

int podimage_sha256_finish(podimage_sha256 *box, char hex[65]) {
    unsigned char digest[32];
    unsigned int length = 0;
    int ok = podimage_crypto.EVP_DigestFinal_ex(box->context, digest, &length) == 1 && length == 32;
    podimage_crypto.EVP_MD_CTX_free(box->context);
    free(box);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = 0;
    return ok ? 0 : -1;
}
