// The tables of libarchive's and libcrypto's functions, filled by podimage_load.
#ifndef PODIMAGE_LOADER_H
#define PODIMAGE_LOADER_H

#include "podimage.h"

#include <archive.h>
#include <archive_entry.h>

struct podimage_archive_api {
    struct archive *(*archive_read_new)(void);
    int (*archive_read_support_filter_all)(struct archive *);
    int (*archive_read_support_format_raw)(struct archive *);
    int (*archive_read_support_format_tar)(struct archive *);
    int (*archive_read_open)(struct archive *, void *, archive_open_callback *, archive_read_callback *,
                             archive_close_callback *);
    int (*archive_read_next_header)(struct archive *, struct archive_entry **);
    la_ssize_t (*archive_read_data)(struct archive *, void *, size_t);
    int (*archive_read_data_block)(struct archive *, const void **, size_t *, la_int64_t *);
    int (*archive_read_free)(struct archive *);
    const char *(*archive_error_string)(struct archive *);
    int (*archive_filter_code)(struct archive *, int);
    const char *(*archive_entry_pathname)(struct archive_entry *);
    __LA_MODE_T (*archive_entry_filetype)(struct archive_entry *);
    __LA_MODE_T (*archive_entry_perm)(struct archive_entry *);
    la_int64_t (*archive_entry_uid)(struct archive_entry *);
    la_int64_t (*archive_entry_gid)(struct archive_entry *);
    la_int64_t (*archive_entry_size)(struct archive_entry *);
    const char *(*archive_entry_symlink)(struct archive_entry *);
    const char *(*archive_entry_hardlink)(struct archive_entry *);
    time_t (*archive_entry_mtime)(struct archive_entry *);
    long (*archive_entry_mtime_nsec)(struct archive_entry *);
    dev_t (*archive_entry_rdevmajor)(struct archive_entry *);
    dev_t (*archive_entry_rdevminor)(struct archive_entry *);
    int (*archive_entry_xattr_reset)(struct archive_entry *);
    int (*archive_entry_xattr_next)(struct archive_entry *, const char **, const void **, size_t *);
};

struct podimage_crypto_api {
    void *(*EVP_MD_CTX_new)(void);
    void (*EVP_MD_CTX_free)(void *);
    const void *(*EVP_sha256)(void);
    int (*EVP_DigestInit_ex)(void *, const void *, void *);
    int (*EVP_DigestUpdate)(void *, const void *, size_t);
    int (*EVP_DigestFinal_ex)(void *, unsigned char *, unsigned int *);
};

extern struct podimage_archive_api podimage_archive;
extern struct podimage_crypto_api podimage_crypto;

#endif
