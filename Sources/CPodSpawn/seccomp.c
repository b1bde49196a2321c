/* Seccomp filters: compiled by libseccomp (Debian's libseccomp2, loaded by dlopen at the first
 * compile, so a podsh that starts no container never loads it) into classic BPF that the
 * container's process loads before exec. */
#define _GNU_SOURCE
#include "podspawn_common.h"

#include <dlfcn.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct {
    scmp_filter_ctx (*init)(uint32_t);
    void (*release)(scmp_filter_ctx);
    int (*arch_add)(scmp_filter_ctx, uint32_t);
    int (*arch_remove)(scmp_filter_ctx, uint32_t);
    uint32_t (*arch_native)(void);
    int (*attr_set)(scmp_filter_ctx, enum scmp_filter_attr, uint32_t);
    int (*rule_add_array)(scmp_filter_ctx, uint32_t, int, unsigned int, const struct scmp_arg_cmp *);
    int (*export_bpf)(const scmp_filter_ctx, int);
    int (*resolve_name)(const char *);
    int (*resolve_name_arch)(uint32_t, const char *);
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded;

#define LOOKUP(handle, field, symbol)                                                                                  \
    do {                                                                                                               \
        *(void **)&api.field = dlsym(handle, symbol);                                                                  \
        if (!api.field) {                                                                                              \
            snprintf(load_error, sizeof load_error, "libseccomp.so.2: symbol %s not found", symbol);                   \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

static void load_once(void) {
    void *handle = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(load_error, sizeof load_error, "cannot load libseccomp.so.2 (Debian: libseccomp2): %s", dlerror());
        return;
    }
    LOOKUP(handle, init, "seccomp_init");
    LOOKUP(handle, release, "seccomp_release");
    LOOKUP(handle, arch_add, "seccomp_arch_add");
    LOOKUP(handle, arch_remove, "seccomp_arch_remove");
    LOOKUP(handle, arch_native, "seccomp_arch_native");
    LOOKUP(handle, attr_set, "seccomp_attr_set");
    LOOKUP(handle, rule_add_array, "seccomp_rule_add_array");
    LOOKUP(handle, export_bpf, "seccomp_export_bpf");
    LOOKUP(handle, resolve_name, "seccomp_syscall_resolve_name");
    LOOKUP(handle, resolve_name_arch, "seccomp_syscall_resolve_name_arch");
    loaded = 1;
}

static int load(char *error, size_t error_size) {
    pthread_once(&once, load_once);
    if (loaded) return 0;
    snprintf(error, error_size, "%s", load_error);
    return -1;
}

int podspawn_seccomp_syscall(const char *name) {
    char error[256];
    if (load(error, sizeof error) < 0) return -1;
    int nr = api.resolve_name(name);
    return nr == __NR_SCMP_ERROR ? -1 : nr;
}

long podspawn_seccomp_compile(unsigned default_action, const unsigned *arches, int arch_count,
                              const podspawn_seccomp_rule *rules, int rule_count, unsigned char *out, unsigned long out_size,
                              char *error, unsigned long error_size) {
    if (load(error, error_size) < 0) return -1;
    scmp_filter_ctx ctx = api.init(default_action);
    if (!ctx) {
        snprintf(error, error_size, "seccomp_init: the default action %#x is not valid", default_action);
        return -1;
    }
    long result = -1;
    int fd = -1;
    int rc;
    /* No NO_NEW_PRIVS from libseccomp: the container's process decides (allowPrivilegeEscalation).
     * The binary tree of libseccomp 2.5 keeps a long allow list cheap. */
    if ((rc = api.attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 || (rc = api.attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0) {
        snprintf(error, error_size, "seccomp_attr_set: %s", strerror(-rc));
        goto done;
    }
    for (int i = 0; i < arch_count; i++) {
        rc = api.arch_add(ctx, arches[i]);
        if (rc < 0 && rc != -EEXIST) {
            snprintf(error, error_size, "seccomp_arch_add %#x: %s", arches[i], strerror(-rc));
            goto done;
        }
    }
    for (int i = 0; i < rule_count; i++) {
        const podspawn_seccomp_rule *rule = &rules[i];
        if (rule->action == default_action) continue; /* libseccomp refuses a rule that changes nothing */
        int nr = api.resolve_name(rule->name);
        if (nr == __NR_SCMP_ERROR) continue; /* a name libseccomp does not know: as runc, skipped */
        struct scmp_arg_cmp args[6];
        if (rule->arg_count > 6) {
            snprintf(error, error_size, "syscall %s: more than 6 argument conditions", rule->name);
            goto done;
        }
        for (int a = 0; a < rule->arg_count; a++) {
            args[a].arg = rule->args[a].index;
            args[a].op = (enum scmp_compare)rule->args[a].op;
            args[a].datum_a = rule->args[a].value;
            args[a].datum_b = rule->args[a].value_two;
        }
        rc = api.rule_add_array(ctx, rule->action, nr, (unsigned)rule->arg_count, args);
        /* -EDOM: the syscall does not exist on one of the filter's architectures. */
        if (rc < 0 && rc != -EDOM) {
            snprintf(error, error_size, "seccomp_rule_add %s: %s", rule->name, strerror(-rc));
            goto done;
        }
    }
    fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(error, error_size, "memfd_create: %s", strerror(errno));
        goto done;
    }
    if ((rc = api.export_bpf(ctx, fd)) < 0) {
        snprintf(error, error_size, "seccomp_export_bpf: %s", strerror(-rc));
        goto done;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0 || (size_t)size > out_size) {
        snprintf(error, error_size, "the filter is %lld bytes, more than %lu", (long long)size, out_size);
        goto done;
    }
    if (pread(fd, out, (size_t)size, 0) != size) {
        snprintf(error, error_size, "pread: %s", strerror(errno));
        goto done;
    }
    result = size;
done:
    if (fd >= 0) close(fd);
    api.release(ctx);
    return result;
}

int podspawn_seccomp_syscall_arch(unsigned arch, const char *name) {
    char error[256];
    if (load(error, sizeof error) < 0) return -1;
    int nr = api.resolve_name_arch(arch, name);
    return nr < 0 ? -1 : nr;
}

unsigned podspawn_seccomp_native_arch(void) {
    char error[256];
    return load(error, sizeof error) < 0 ? 0 : api.arch_native();
}
